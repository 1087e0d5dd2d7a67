/**
 * Merkle trees of the repository ⇄ the planner's flat trees, for the agent.
 *
 * - Reading: a snapshot's trees are fetched a level of the hierarchy at a time (coalesced ranged
 *   GETs) and kept by id until the next prune, so a new head that changed one file costs the
 *   requests for the trees on that file's path, not the whole layer's. Given the folder's
 *   TreeFiles, the trees it reads and writes are also kept on disk (tree-files.ts), so the first
 *   pass after a start fetches only the trees new in the bucket since; the index must still name
 *   each one (a kept file never stands in for a tree the bucket lacks), and each prune bounds them.
 * - Writing: a flat tree is written back deepest dir first; unchanged dirs encode to the ids they
 *   had and add nothing. Dirs are written with mtime 0: two devices that reach the same flat tree
 *   must reach the same root id, or they would write new snapshots at each other forever.
 * - A pass writes through its TreeCache (write): a dir whose entries are those of the tree it got
 *   in the cache's last write, and which the cache holds, keeps that id without being encoded and
 *   hashed again, so one edit in a layer of 5,000 dirs encodes the few trees on its path, not all.
 *   The result must be the same root id as writeFlatTree's.
 * - A written flat tree is kept by its root id until a prune finds it neither written nor read
 *   since the last one: the next pass reads this device's head, the tree it wrote, and flattening
 *   every tree of a big layer again would cost more than the rest of an edit's pass. What flat()
 *   gives for it must equal what flattening its trees would (see written()).
 */
import { blobId } from '../chunker/hash.js';
import { StrataError } from '../errors.js';
import { directories, flattenLoaded, type FlatTree, type Node } from '../plan/index.js';
import { decodeTree, encodeTree, keys, refIn, type Repository, type TreeRef } from '../repo/index.js';
import type { BlobId, Tree, TreeEntry } from '../repo/types.js';
import type { TreeFiles } from './tree-files.js';

/** content key → chunk ids, for every file content a pass has seen. */
export type ChunkMap = Map<string, readonly string[]>;

export class TreeCache {
  private trees = new Map<BlobId, Tree>();
  private used = new Set<BlobId>();
  /** Trees the writes since the last prune gave dirs: kept on disk with those used. */
  private wrote = new Set<BlobId>();
  /** dir → the id the last write gave it. */
  private written = new Map<string, BlobId>();
  /** root id → the flat tree written under it, with the chunk lists its files had then (see the header). */
  private flats = new Map<BlobId, { tree: FlatTree; chunks: ChunkMap }>();
  private flatsUsed = new Set<BlobId>();

  constructor(
    private readonly repo: Repository,
    private readonly files?: TreeFiles,
  ) {}

  /** Loads every tree under `root` (named by `ref`); the repository's index must already name them. */
  async loadAll(root: BlobId, ref: TreeRef = { path: '' }): Promise<void> {
    const refOf = (id: BlobId) => refIn(this.trees, [[root, ref]], id);
    // Each distinct tree once: trees from the bucket may share subtrees, and a few small ones
    // naming each other twice per level would make a list of every path's tree (2^levels ids)
    // before flatten could refuse the tree.
    const seen = new Set<BlobId>([root]);
    let level = [root];
    while (level.length > 0) {
      const missing = level.filter((id) => !this.trees.has(id));
      if (missing.length > 0) await this.load(missing, refOf);
      const next: BlobId[] = [];
      for (const id of level) {
        this.used.add(id);
        for (const e of this.trees.get(id)!.entries) {
          if (e.type !== 'dir' || seen.has(e.subtree)) continue;
          seen.add(e.subtree);
          next.push(e.subtree);
        }
      }
      level = next;
    }
  }

  /** Trees `ids` into memory: from the files where kept there, else from the bucket (then kept). */
  private async load(ids: readonly BlobId[], refOf: (id: BlobId) => TreeRef | undefined): Promise<void> {
    const packs = new Map(ids.map((id) => [id, this.repo.treeLocation(id, () => refOf(id)).pack]));
    const kept = (await this.files?.read(ids)) ?? new Map<BlobId, Uint8Array>();
    for (const [id, bytes] of kept) this.trees.set(id, decodeTree(bytes, keys.pack(packs.get(id)!), id));
    const fetch = ids.filter((id) => !kept.has(id));
    if (fetch.length === 0) return;
    const fetched: [BlobId, Uint8Array][] = [];
    const keep = (id: BlobId, tree: Tree, bytes: Uint8Array): void => {
      this.trees.set(id, tree);
      if (this.files) fetched.push([id, bytes.slice()]);
    };
    await this.repo.loadTrees(fetch, keep, { refOf });
    await this.files?.writeAll(fetched);
  }

  /** The flat tree under `root` (loadAll first); records each file's chunks in `chunks`. */
  flat(root: BlobId, chunks: ChunkMap): Map<string, Node> {
    const kept = this.flats.get(root);
    if (kept === undefined) return flattenLoaded(this.trees, root, chunks);
    this.flatsUsed.add(root);
    for (const node of kept.tree.values()) if (node.type === 'file' && !chunks.has(node.content)) chunks.set(node.content, kept.chunks.get(node.content)!);
    // A copy: the caller may change what it is given.
    return new Map(kept.tree);
  }

  /** writeFlatTree, reusing the ids of the dirs the last write gave the same entries (see the header). */
  async write(tree: FlatTree, chunks: ChunkMap): Promise<BlobId> {
    const last = this.written;
    const now = new Map<string, BlobId>();
    const kept = (dir: string, entries: readonly TreeEntry[]): BlobId | undefined => {
      const id = last.get(dir);
      const had = id === undefined ? undefined : this.trees.get(id);
      return had !== undefined && sameEntries(had.entries, entries) && this.repo.hasBlob(id!) ? id : undefined;
    };
    const add = async (id: BlobId, bytes: Uint8Array): Promise<void> => {
      await this.repo.addBlob('tree', id, bytes);
      await this.files?.write(id, bytes);
    };
    const wrote = (dir: string, id: BlobId): void => {
      now.set(dir, id);
      this.wrote.add(id);
    };
    const root = await writeDirs(this.repo, tree, chunks, add, kept, wrote);
    this.written = now;
    if (asFlattened(tree)) {
      this.flats.set(root, { tree: new Map(tree), chunks });
      this.flatsUsed.add(root);
    }
    return root;
  }

  /**
   * Drops from memory the trees and the written flat trees not used since the last prune, and from
   * the files all but those used or written since, and what their bound leaves room for
   * (tree-files.ts).
   */
  async prune(): Promise<void> {
    for (const id of this.trees.keys()) if (!this.used.has(id)) this.trees.delete(id);
    const inUse = new Set([...this.used, ...this.wrote]);
    this.used = new Set();
    this.wrote = new Set();
    for (const id of this.flats.keys()) if (!this.flatsUsed.has(id)) this.flats.delete(id);
    this.flatsUsed = new Set();
    await this.files?.trim(inUse);
  }
}

/**
 * Whether flattening the trees written for `tree` gives its nodes back as they are: a symlink
 * without an mtime is written with 0, and read back with it.
 */
function asFlattened(tree: FlatTree): boolean {
  for (const node of tree.values()) if (node.type === 'symlink' && node.mtimeMs === undefined) return false;
  return true;
}

function entryOf(name: string, node: Node, chunks: ChunkMap, subtree: (name: string) => BlobId): TreeEntry {
  switch (node.type) {
    case 'file': {
      const ids = chunks.get(node.content);
      if (ids === undefined) throw new StrataError('E_INTERNAL', `no chunk list for the content of ${name}`);
      return { name, type: 'file', mode: node.mode, mtimeMs: node.mtimeMs, size: node.size, chunks: [...ids] };
    }
    case 'symlink':
      return { name, type: 'symlink', mtimeMs: node.mtimeMs ?? 0, target: node.target };
    case 'dir':
      return { name, type: 'dir', mode: node.mode, mtimeMs: 0, subtree: subtree(name) };
    case 'whiteout':
      return { name, type: 'whiteout' };
    default:
      throw new StrataError('E_INTERNAL', `cannot write a node of kind ${(node as { type: string }).type}`);
  }
}

/**
 * Adds the trees of `tree` to the repository (not yet durable: flush after) and returns the root
 * id. Every file's content must be in `chunks`. `add` adds one tree (a preload's counts what it adds).
 */
export function writeFlatTree(repo: Repository, tree: FlatTree, chunks: ChunkMap, add = (id: BlobId, bytes: Uint8Array): Promise<unknown> => repo.addBlob('tree', id, bytes)): Promise<BlobId> {
  return writeDirs(repo, tree, chunks, add);
}

/** writeFlatTree, taking a dir's id from `kept` where it gives one instead of encoding the dir; `wrote` sees each dir's id. */
async function writeDirs(
  repo: Repository,
  tree: FlatTree,
  chunks: ChunkMap,
  add: (id: BlobId, bytes: Uint8Array) => Promise<unknown>,
  kept: (dir: string, entries: readonly TreeEntry[]) => BlobId | undefined = () => undefined,
  wrote: (dir: string, id: BlobId) => void = () => {},
): Promise<BlobId> {
  const ids = new Map<string, BlobId>();
  for (const [dir, list] of directories(tree)) {
    const entries = list.map(([name, node]) => entryOf(name, node, chunks, (n) => ids.get(dir === '' ? n : `${dir}/${n}`)!));
    let id = kept(dir, entries);
    if (id === undefined) {
      const bytes = encodeTree({ entries });
      id = blobId(bytes, repo.format.hash);
      await add(id, bytes);
    }
    ids.set(dir, id);
    wrote(dir, id);
  }
  return ids.get('')!;
}

/** Entries with the same fields and values, so that they encode to the same bytes. */
function sameEntries(a: readonly TreeEntry[], b: readonly TreeEntry[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameEntry(a[i]!, b[i]!)) return false;
  return true;
}

/** A field set to undefined is none: the encoding leaves it out. */
function sameEntry(a: TreeEntry, b: TreeEntry): boolean {
  const x = a as unknown as Record<string, unknown>;
  const y = b as unknown as Record<string, unknown>;
  const defined = (o: Record<string, unknown>) => Object.keys(o).filter((k) => o[k] !== undefined);
  const keys = defined(x);
  if (keys.length !== defined(y).length) return false;
  for (const k of keys) {
    const u = x[k];
    const v = y[k];
    if (Array.isArray(u)) {
      if (!Array.isArray(v) || u.length !== v.length || u.some((w, i) => w !== v[i])) return false;
    } else if (u !== v) return false;
  }
  return true;
}
