/**
 * One scan's walk over the disk under a folder (LocalTree.scan, local.ts): stats everything
 * first — a known file whose (size, mtime, mode, inode, ctime) did not change is not read again — and
 * hands changed files to the uploader, whose answers update the local tree.
 *
 * Must hold:
 * - a scan never reports a path it could not read as deleted: such paths are `skipped` and the
 *   pass keeps their previous version;
 * - excluded paths and names a tree cannot hold are never entries;
 * - a path that vanished takes its subtree with it.
 */
import type { Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import type { IndexEntry } from '../state/index.js';
import { foldKey } from '../plan/index.js';
import { parentOf } from '../plan/nodes.js';
import { fsProblem, listNames, readTarget, unsupportedKind } from '../snapshot/listing.js';
import { modeOf, mtimeOf, RACY_MS } from '../snapshot/context.js';
import type { LocalTree } from './local.js';
import type { FileUploader } from './upload.js';

export interface ScanResult {
  /** Paths whose entry was added, changed or removed. */
  changed: string[];
  /** Paths left as they were because they could not be read now, with the reason. */
  skipped: Map<string, string>;
  /**
   * Paths the executor could not write lately (a lock, permissions: folder.ts), skipped too. The
   * disk holds there what the local tree has, also where that is nothing: this device's head may
   * name what the executor never laid.
   */
  unwritten?: ReadonlySet<string>;
}

/** lstat calls in flight ahead of a dir's walk. */
const STAT_AHEAD = 64;

/** `{ racy: true }` when an mtime is too close to the time it was read at (Date.now() then) to vouch for the content. */
export function racyFlag(mtimeMs: number, readAtMs: number): { racy?: true } {
  return mtimeMs >= readAtMs - RACY_MS ? { racy: true } : {};
}

/**
 * Whether a file's entry vouches for its content as `st` shows it. The ctime counts too: an edit
 * of the same size whose mtime was set back (touch -r, rsync -t, cp -p, an archive extracted
 * over it) leaves size, mtime and inode as they were, but no process can set the ctime.
 */
export function sameStat(e: IndexEntry | undefined, st: Stats): boolean {
  return e !== undefined && e.type === 'file' && e.racy !== true && e.size === st.size && e.mtimeMs === mtimeOf(st) && e.mode === modeOf(st) && (e.ino === undefined || e.ino === st.ino) && (e.ctimeMs === undefined || e.ctimeMs === st.ctimeMs);
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]));
}

/** One scan's walk: stats everything first, hands changed files to the uploader. */
export class ScanWork {
  private readonly done = new Set<string>();
  /** dir → fold keys of the entries the tree knew in it when first asked (foldsOntoKnown). */
  private readonly folds = new Map<string, Set<string>>();

  constructor(
    private readonly tree: LocalTree,
    private readonly upload: FileUploader,
    private readonly result: ScanResult,
  ) {}

  private removed(rel: string): void {
    if (this.tree.get(rel) === undefined) return;
    this.tree.remove(rel);
    this.result.changed.push(rel);
  }

  /** Rescans one dirty path; its ancestors must be dirs we know, or the topmost unknown one is scanned. */
  async path(rel: string): Promise<void> {
    if (rel === '') return this.dir('', true);
    const anc = this.unknownAncestor(rel);
    // On a case-insensitive disk (NTFS, APFS) lstat finds an entry under any spelling of its name,
    // so after a rename that changed only case the old name still stats as the file. Only the
    // dir's listing tells which name is there: a new name that folds onto a known one lists it.
    const top = anc ?? rel;
    if (this.tree.get(top) === undefined && this.foldsOntoKnown(top)) return this.dir(parentOf(top), false);
    if (anc !== undefined) return this.entry(anc, true);
    return this.entry(rel, false, true);
  }

  /** Whether the dir of `rel` holds a known entry whose name differs from rel's only in case. */
  private foldsOntoKnown(rel: string): boolean {
    const parent = parentOf(rel);
    let folds = this.folds.get(parent);
    if (folds === undefined) {
      folds = new Set(this.tree.childrenOf(parent).map(foldKey));
      this.folds.set(parent, folds);
    }
    return folds.has(foldKey(rel));
  }

  private unknownAncestor(rel: string): string | undefined {
    let top: string | undefined;
    for (let p = parentOf(rel); p !== ''; p = parentOf(p)) if (this.tree.get(p)?.type !== 'dir') top = p;
    return top;
  }

  /**
   * `deep`: walk a dir's whole subtree (it is new or its ancestors changed). Otherwise a dir is
   * listed when it is `dirty` (the watcher named it) or its own stat changed, and its known
   * children are re-checked by stat, one level; a dir that was replaced (another inode, or not a
   * dir before) is walked in full, since nothing known about its children holds any more.
   */
  private async entry(rel: string, deep: boolean, dirty = false, stat?: Promise<Stats>): Promise<void> {
    if (this.done.has(rel)) return;
    this.done.add(rel);
    let st: Stats;
    try {
      st = await (stat ?? lstat(join(this.tree.root, rel)));
    } catch (err) {
      return this.failed(rel, err);
    }
    if (this.tree.isExcluded(rel, st.isDirectory())) return this.removed(rel);
    const why = unsupportedKind(st);
    if (why !== undefined) {
      this.removed(rel);
      this.result.skipped.set(rel, why);
      return;
    }
    const prev = this.tree.get(rel);
    if (st.isDirectory()) {
      const replaced = prev?.type !== 'dir' || (prev.ino !== undefined && prev.ino !== st.ino);
      const touched = replaced || prev.mtimeMs !== mtimeOf(st) || prev.ino === undefined || prev.racy === true;
      if (touched || prev.mode !== modeOf(st)) {
        if (prev !== undefined && prev.type !== 'dir') this.tree.remove(rel);
        // A dir stays racy (listed by every scan) until a listing comes well after its mtime.
        this.tree.set(rel, { type: 'dir', size: 0, mtimeMs: mtimeOf(st), mode: modeOf(st), ino: st.ino, ...racyFlag(mtimeOf(st), Date.now()) });
        if (replaced || prev.mode !== modeOf(st)) this.result.changed.push(rel);
      }
      if (deep || replaced) return this.dir(rel, true);
      if (dirty || touched) return this.dir(rel, false);
      return;
    }
    if (prev?.type === 'dir') this.tree.remove(rel);
    if (st.isSymbolicLink()) return this.symlink(rel, st, prev);
    if (sameStat(prev, st)) return;
    // Waits for a free slot (the walk must not queue the whole disk); throws a failed job's error.
    await this.upload.add(rel, st, (e) => {
      if (e === undefined) return this.removed(rel);
      if ('skipped' in e) {
        this.result.skipped.set(rel, e.skipped);
        return;
      }
      const old = this.tree.get(rel);
      const same = old !== undefined && sameList(old.chunks, e.chunks) && old.size === e.size && old.mtimeMs === e.mtimeMs && old.mode === e.mode && old.ino === e.ino;
      if (same && old.racy === e.racy && old.ctimeMs === e.ctimeMs) return;
      this.tree.set(rel, e);
      // A racy entry read again and found the same, or one whose ctime alone moved, is no change:
      // only a cache that now vouches.
      if (!same) this.result.changed.push(rel);
    });
  }

  /** A file-system error on `rel`: gone → removed, unreadable → skipped; anything else is thrown. */
  private failed(rel: string, err: unknown): void {
    const problem = fsProblem(err);
    if (problem === undefined) throw err;
    if ('vanished' in problem) return this.removed(rel);
    this.result.skipped.set(rel, problem.unreadable);
  }

  private async symlink(rel: string, st: Stats, prev: IndexEntry | undefined): Promise<void> {
    const t = await readTarget(join(this.tree.root, rel)).catch((err: unknown) => {
      const p = fsProblem(err);
      if (p === undefined) throw err;
      return 'vanished' in p ? undefined : { problem: p.unreadable };
    });
    if (t === undefined) return this.removed(rel);
    if ('problem' in t) {
      this.result.skipped.set(rel, t.problem);
      return;
    }
    if (prev?.type === 'symlink' && prev.target === t.target && prev.mtimeMs === mtimeOf(st)) return;
    this.tree.set(rel, { type: 'symlink', size: 0, mtimeMs: mtimeOf(st), mode: modeOf(st), target: t.target });
    this.result.changed.push(rel);
  }

  private async dir(rel: string, deep: boolean): Promise<void> {
    let names;
    try {
      names = await listNames(join(this.tree.root, rel));
    } catch (err) {
      return this.failed(rel, err);
    }
    const seen = new Set<string>();
    const children: string[] = [];
    for (const n of names) {
      const child = rel === '' ? n.name : `${rel}/${n.name}`;
      if (n.problem !== undefined) this.result.skipped.set(child, n.problem);
      else children.push(child);
    }
    // The children's lstats run STAT_AHEAD at a time ahead of the walk (one at a time, a big folder's
    // scan waits on the thread pool's round trip 100,000 times); they are handled in order.
    for (let i = 0; i < children.length; i += STAT_AHEAD) {
      const batch = children.slice(i, i + STAT_AHEAD);
      const stats = batch.map((c) => lstat(join(this.tree.root, c)));
      for (const st of stats) st.catch(() => undefined); // handled, in order, by entry()
      for (const [j, child] of batch.entries()) {
        seen.add(child);
        // A known file whose stat is unchanged is not read again; a known dir is listed only if its stat changed.
        await this.entry(child, deep, false, stats[j]);
      }
    }
    for (const child of this.tree.childrenOf(rel)) if (!seen.has(child) && !this.result.skipped.has(child)) this.removed(child);
  }

  async finish(): Promise<void> {
    await this.upload.idle();
  }
}
