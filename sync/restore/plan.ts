/**
 * The plan: what a restore writes, read from the trees before anything touches the disk.
 *
 * Trees come from the bucket and are untrusted. loadTree has validated every name; the plan adds
 * what only a whole walk can see, and refuses before the first write:
 * - a symlink whose target escapes the layer root (E_BAD_SYMLINK, naming the tree and the path);
 * - a file whose chunks are unknown, not data, or do not add up to its size;
 * - a walk that explodes (a small DAG of shared subtrees can name billions of paths) or nests
 *   deeper than any real folder;
 * - a joined path that would land outside the target (defence in depth).
 */
import { StrataError } from '../errors.js';
import { checkEntryName, symlinkEscapes } from '../repo/names.js';
import type { Repository } from '../repo/repository.js';
import { keys, type BlobId, type DirEntry, type FileEntry, type SymlinkEntry, type Tree, type TreeEntry } from '../repo/types.js';
import { pathInside } from './fsutil.js';
import { loadTrees, type RangeCache } from './ranges.js';
import type { PlacedChunk, Plan } from './types.js';

export const MAX_PLAN_ENTRIES = 10_000_000;
export const MAX_DEPTH = 512;
const TREES_PER_LOAD = 2000;

interface Pending {
  tree: BlobId;
  rel: string;
  depth: number;
}

function treeKey(repo: Repository, id: BlobId): string | undefined {
  const loc = repo.blobLocation(id);
  return loc ? keys.pack(loc.pack) : undefined;
}

function join(rel: string, name: string): string {
  return rel === '' ? name : `${rel}/${name}`;
}

class Planner {
  readonly plan: Plan = { dirs: [], files: [], links: [], bytes: 0 };
  private entries = 0;

  constructor(
    private readonly repo: Repository,
    private readonly target: string,
  ) {}

  addDir(rel: string, entry: DirEntry | undefined, depth: number): void {
    this.plan.dirs.push({ rel, path: pathInside(this.target, rel), entry, depth });
  }

  /** Adds one entry of tree `treeId`; returns the subtree to walk for a directory. */
  add(treeId: BlobId, rel: string, entry: TreeEntry, depth: number): Pending | undefined {
    if (++this.entries > MAX_PLAN_ENTRIES) {
      throw new StrataError('E_BAD_TREE', `the tree names more than ${MAX_PLAN_ENTRIES} paths`, { key: treeKey(this.repo, treeId), path: rel });
    }
    if (entry.type === 'dir') {
      if (depth > MAX_DEPTH) throw new StrataError('E_BAD_TREE', `folders nest deeper than ${MAX_DEPTH} levels`, { key: treeKey(this.repo, treeId), path: rel });
      this.addDir(rel, entry, depth);
      return { tree: entry.subtree, rel, depth };
    }
    if (entry.type === 'file') this.addFile(treeId, rel, entry);
    else if (entry.type === 'symlink') this.addLink(treeId, rel, entry);
    // Whiteouts only matter when layers are stacked; a single-layer restore has nothing to hide.
    return undefined;
  }

  private addFile(treeId: BlobId, rel: string, entry: FileEntry): void {
    const key = treeKey(this.repo, treeId);
    const chunks: PlacedChunk[] = [];
    let offset = 0;
    for (const id of entry.chunks) {
      const loc = this.repo.blobLocation(id);
      if (!loc) throw new StrataError('E_BLOB_NOT_FOUND', `file's chunk ${id} is in no index`, { key, path: rel });
      if (loc.type !== 'data') throw new StrataError('E_BAD_TREE', `file's chunk ${id} is a ${loc.type} blob`, { key, path: rel });
      chunks.push({ id, offset, length: loc.length });
      offset += loc.length;
    }
    if (offset !== entry.size) {
      throw new StrataError('E_BAD_TREE', `file's chunks add up to ${offset} bytes, its entry says ${entry.size}`, { key, path: rel });
    }
    this.plan.files.push({ rel, path: pathInside(this.target, rel), entry, chunks });
    this.plan.bytes += entry.size;
  }

  private addLink(treeId: BlobId, rel: string, entry: SymlinkEntry): void {
    if (symlinkEscapes(rel, entry.target)) {
      throw new StrataError('E_BAD_SYMLINK', `symlink to ${JSON.stringify(entry.target)} points outside the layer root (tree ${treeId})`, {
        key: treeKey(this.repo, treeId),
        path: rel,
      });
    }
    this.plan.links.push({ rel, path: pathInside(this.target, rel), entry });
  }
}

async function walk(repo: Repository, cache: RangeCache, planner: Planner, start: Pending, signal?: AbortSignal): Promise<void> {
  let level: Pending[] = [start];
  while (level.length > 0) {
    signal?.throwIfAborted();
    const trees = new Map<BlobId, Tree>();
    const ids = [...new Set(level.map((p) => p.tree))];
    for (let i = 0; i < ids.length; i += TREES_PER_LOAD) {
      await loadTrees(repo, cache, ids.slice(i, i + TREES_PER_LOAD), (id, tree) => void trees.set(id, tree));
    }
    const next: Pending[] = [];
    for (const p of level) {
      for (const entry of (trees.get(p.tree) as Tree).entries) {
        const sub = planner.add(p.tree, join(p.rel, entry.name), entry, p.depth + 1);
        if (sub) next.push(sub);
      }
    }
    level = next;
  }
}

/** Finds `only` below the root; its ancestors are planned as folders whose metadata is left alone. */
async function descend(repo: Repository, planner: Planner, root: BlobId, only: string): Promise<{ tree: BlobId; entry: TreeEntry; rel: string }> {
  const parts = only.split('/').filter((p) => p !== '');
  if (parts.length === 0) throw new StrataError('E_BAD_PATH', 'the path to restore is empty', { path: only });
  parts.forEach((p) => checkEntryName(p, { path: only }));
  let tree = root;
  let rel = '';
  for (let i = 0; ; i++) {
    const name = parts[i] as string;
    const entry = (await repo.loadTree(tree)).entries.find((e) => e.name === name);
    if (!entry || entry.type === 'whiteout') throw new StrataError('E_NOT_IN_SNAPSHOT', 'no such path in the snapshot', { path: join(rel, name) });
    if (i === parts.length - 1) return { tree, entry, rel: join(rel, name) };
    if (entry.type !== 'dir') throw new StrataError('E_NOT_IN_SNAPSHOT', `${entry.type} where a folder was expected`, { path: join(rel, name) });
    rel = join(rel, name);
    planner.addDir(rel, undefined, i + 1);
    tree = entry.subtree;
  }
}

/**
 * Walks the trees (one coalesced load per level) and returns everything to write. The ranges
 * fetched on the way are kept in `cache` for the downloads that follow.
 */
export async function buildPlan(repo: Repository, cache: RangeCache, target: string, root: BlobId, only?: string, signal?: AbortSignal): Promise<Plan> {
  const planner = new Planner(repo, target);
  planner.addDir('', undefined, 0);
  if (only === undefined) {
    await walk(repo, cache, planner, { tree: root, rel: '', depth: 0 }, signal);
    return planner.plan;
  }
  const found = await descend(repo, planner, root, only);
  const depth = found.rel.split('/').length;
  const sub = planner.add(found.tree, found.rel, found.entry, depth);
  if (sub) await walk(repo, cache, planner, sub, signal);
  return planner.plan;
}
