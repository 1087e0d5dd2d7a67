/**
 * The local tree: what the disk under one folder holds, as the last scan saw it, with each file's
 * chunk list. It is the stat cache too: a file whose (size, mtime, mode, inode, ctime) did not change is
 * not read again (the scan's walk is walk.ts). Kept in the folder's `statcache` journal
 * (sync/state), so a restart rescans without re-hashing.
 *
 * Must hold:
 * - an entry's chunks are durable in the repository before the entry is committed (the caller
 *   commits after repo.flush()), so a reused chunk list never names a chunk the bucket lacks;
 * - uncommitted changes are only a view ahead of the journal: reload() drops them, and the next
 *   full scan finds them again;
 * - what a scan may and may not report (unreadable paths, exclusions) is stated in walk.ts.
 */
import type { FileIndex, IndexEntry } from '../state/index.js';
import { contentKey, type Node } from '../plan/index.js';
import { parentOf } from '../plan/nodes.js';
import type { Excluder } from '../watch/index.js';
import type { FileUploader } from './upload.js';
import { ScanWork, type ScanResult } from './walk.js';

export { sameStat, type ScanResult } from './walk.js';

/** The planner's node for an index entry (a file's content key follows from its chunks). */
export function nodeOf(e: IndexEntry): Node {
  if (e.type === 'dir') return { type: 'dir', mode: e.mode };
  if (e.type === 'symlink') return { type: 'symlink', target: e.target ?? '', mtimeMs: e.mtimeMs };
  return { type: 'file', size: e.size, mtimeMs: e.mtimeMs, mode: e.mode, content: contentKey(e.chunks ?? []) };
}

export class LocalTree {
  /** path → entry; the live view, ahead of the journal until commit(). */
  private readonly entries = new Map<string, IndexEntry>();
  /** dir path → the paths of its children: a shallow rescan must not walk every entry. */
  private readonly kids = new Map<string, Set<string>>();
  /**
   * content key → the chunk list and how many entries hold it, kept as entries come and go: every
   * pass needs the chunk list of each content, and keying a many-chunk file hashes its list.
   */
  private readonly contents = new Map<string, { chunks: readonly string[]; refs: number }>();
  private readonly dirty = new Set<string>();

  constructor(
    readonly root: string,
    private readonly journal: FileIndex,
    private readonly exclude: Excluder,
  ) {
    this.load();
  }

  private load(): void {
    for (const [path, e] of this.journal.entries()) this.put(path, e);
  }

  private put(path: string, e: IndexEntry): void {
    const old = this.entries.get(path);
    if (old === undefined) {
      const parent = parentOf(path);
      let set = this.kids.get(parent);
      if (set === undefined) this.kids.set(parent, (set = new Set()));
      set.add(path);
    }
    this.entries.set(path, e);
    if (old?.chunks !== e.chunks) {
      this.uncount(old);
      this.count(e);
    }
  }

  private count(e: IndexEntry): void {
    if (e.type !== 'file' || e.chunks === undefined) return;
    const key = contentKey(e.chunks);
    const c = this.contents.get(key);
    if (c === undefined) this.contents.set(key, { chunks: e.chunks, refs: 1 });
    else c.refs++;
  }

  private uncount(e: IndexEntry | undefined): void {
    if (e?.type !== 'file' || e.chunks === undefined) return;
    const key = contentKey(e.chunks);
    const c = this.contents.get(key);
    if (c !== undefined && --c.refs === 0) this.contents.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  paths(): IterableIterator<string> {
    return this.entries.keys();
  }

  get(path: string): IndexEntry | undefined {
    return this.entries.get(path);
  }

  /** The local tree as the planner sees it. */
  flat(): Map<string, Node> {
    const out = new Map<string, Node>();
    for (const [path, e] of this.entries) out.set(path, nodeOf(e));
    return out;
  }

  /** The chunk list of every file content in the tree. */
  chunksByContent(into: Map<string, readonly string[]>): void {
    for (const [key, c] of this.contents) into.set(key, c.chunks);
  }

  set(path: string, e: IndexEntry): void {
    this.put(path, e);
    this.dirty.add(path);
  }

  /** Removes `path` and everything under it. */
  remove(path: string): void {
    const old = this.entries.get(path);
    if (old === undefined) return;
    this.entries.delete(path);
    this.uncount(old);
    this.dirty.add(path);
    this.kids.get(parentOf(path))?.delete(path);
    const under = this.kids.get(path);
    this.kids.delete(path);
    for (const child of under ?? []) this.remove(child);
  }

  /** Writes the changes since the last commit to the journal (after their chunks are durable). */
  async commit(): Promise<void> {
    if (this.dirty.size === 0) return;
    const tx = this.journal.transaction();
    for (const p of this.dirty) {
      const e = this.entries.get(p);
      if (e) tx.set(p, e);
      else tx.delete(p);
    }
    this.dirty.clear();
    await tx.commit();
  }

  /** Forgets changes not yet committed (a failed pass): the next scan finds them again. */
  async reload(): Promise<void> {
    this.entries.clear();
    this.kids.clear();
    this.contents.clear();
    this.dirty.clear();
    this.load();
  }

  /**
   * Rescans `paths` (layer-relative; '' = everything) and uploads changed files through `upload`.
   * A dir is rescanned one level deep: its known children by stat, new or replaced ones in full; a
   * path that vanished takes its subtree with it.
   */
  async scan(paths: readonly string[], upload: FileUploader): Promise<ScanResult> {
    const result: ScanResult = { changed: [], skipped: new Map() };
    const work = new ScanWork(this, upload, result);
    const sorted = [...new Set(paths)].sort();
    try {
      for (const p of sorted) await work.path(p);
      upload.walked();
    } finally {
      // No upload job outlives the scan, also when the walk failed (its error wins).
      await work.finish().catch(() => undefined);
    }
    await work.finish();
    return result;
  }

  /** The paths of the entries directly inside `dir`. */
  childrenOf(dir: string): string[] {
    return [...(this.kids.get(dir) ?? [])];
  }

  isExcluded(rel: string, isDir: boolean): boolean {
    return this.exclude(rel, isDir);
  }
}
