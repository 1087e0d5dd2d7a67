/**
 * The plan: what a restore writes, read from the trees before anything touches the disk.
 *
 * Trees come from the bucket and are untrusted. loadTree has validated every name; the plan adds
 * what only a whole walk can see, and refuses before the first write:
 * - a symlink whose target is empty or holds a NUL: no link can hold it (E_BAD_SYMLINK, naming
 *   the tree and the path). Any other target is laid as it is — absolute, or climbing above the
 *   root — as live sync lays it and as the user's machine had it: a link is data, never followed
 *   by Strata (index.ts), so where it points cannot make a restore write anywhere else;
 * - a file whose chunks are unknown, not data, or do not add up to its size;
 * - a walk that explodes (a small DAG of shared subtrees can name billions of paths, or of chunk
 *   places) or nests deeper than any real folder;
 * - a joined path that would land outside the target (defence in depth).
 */
import { dirname } from 'node:path';
import { StrataError } from '../errors.js';
import { fitsHere } from '../fsutil.js';
import { checkEntryName } from '../repo/names.js';
import type { Repository } from '../repo/repository.js';
import type { TreeRef } from '../repo/treeref.js';
import { keys, type BlobId, type Tree, type TreeEntry } from '../repo/types.js';
import { pathInside } from './fsutil.js';
import { loadTrees, type RangeCache } from './ranges.js';
import type { DirMeta, FileMeta, MemoryTree, PlacedChunk, Plan, PlannedLink } from './types.js';

export const MAX_PLAN_ENTRIES = 10_000_000;
/**
 * Chunk places (a chunk at its offset in one file) a plan may hold: each costs memory, and shared
 * subtrees can repeat one file of a hundred thousand chunks millions of times. Twice the path
 * limit: a layer at that limit is mostly one-chunk files.
 */
export const MAX_PLAN_CHUNKS = 2 * MAX_PLAN_ENTRIES;
export const MAX_DEPTH = 512;

/**
 * Takes out of `plan` what cannot be laid at its place on this machine (fitsHere: past PATH_MAX,
 * a temp beside it counted; another machine, whose root was higher up, wrote it), before anything
 * touches the disk: the rest is laid whole. Returns the topmost of the paths taken out, each one
 * standing for everything under it, target-relative and sorted.
 */
export function leaveOutTooLong(plan: Plan): string[] {
  const out: string[] = [];
  const fitting = <T extends { rel: string; path: string }>(list: T[]): T[] =>
    list.filter((e) => {
      if (fitsHere(e.path)) return true;
      if (fitsHere(dirname(e.path))) out.push(e.rel);
      return false;
    });
  const files = fitting(plan.files);
  if (files.length < plan.files.length) plan.bytes = files.reduce((sum, f) => sum + f.entry.size, 0);
  plan.files = files;
  plan.dirs = fitting(plan.dirs);
  plan.links = fitting(plan.links);
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
const TREES_PER_LOAD = 2000;

interface Pending {
  tree: BlobId;
  rel: string;
  depth: number;
  /** What names `tree`: the tree holding its entry, or the snapshot's key for the root. */
  ref: TreeRef;
}

function join(rel: string, name: string): string {
  return rel === '' ? name : `${rel}/${name}`;
}

/** Where an entry came from, for errors: its tree (whose pack is named as the key), if any. */
type Origin = BlobId | undefined;

class Planner {
  readonly plan: Plan = { dirs: [], files: [], links: [], bytes: 0 };
  private entries = 0;
  /** Chunk places planned so far (MAX_PLAN_CHUNKS). */
  places = 0;

  constructor(
    private readonly repo: Repository,
    private readonly target: string,
  ) {}

  addDir(rel: string, entry: DirMeta | undefined, depth: number): void {
    this.plan.dirs.push({ rel, path: pathInside(this.target, rel), entry, depth });
  }

  /** Adds one entry of tree `origin`; returns the subtree to walk for a directory. */
  add(origin: BlobId, rel: string, entry: TreeEntry, depth: number): Pending | undefined {
    if (entry.type === 'dir') {
      this.addDirAt(origin, rel, entry, depth);
      return { tree: entry.subtree, rel, depth, ref: { path: rel, parent: origin } };
    }
    if (entry.type === 'file') this.addFile(origin, rel, entry);
    else if (entry.type === 'symlink') this.addLink(origin, rel, entry);
    // Whiteouts only matter when layers are stacked; a single-layer restore has nothing to hide.
    return undefined;
  }

  addDirAt(origin: Origin, rel: string, entry: DirMeta, depth: number): void {
    this.count(origin, rel);
    if (depth > MAX_DEPTH) throw new StrataError('E_BAD_TREE', `folders nest deeper than ${MAX_DEPTH} levels`, { key: this.keyOf(origin), path: rel });
    this.addDir(rel, entry, depth);
  }

  addFile(origin: Origin, rel: string, entry: FileMeta): void {
    this.count(origin, rel);
    this.checkPlaces(origin, rel, entry.chunks.length);
    this.places += entry.chunks.length;
    const chunks: PlacedChunk[] = [];
    let offset = 0;
    for (const id of entry.chunks) {
      const loc = this.repo.blobLocation(id);
      if (!loc) throw new StrataError('E_BLOB_NOT_FOUND', `file's chunk ${id} is in no index`, { key: this.keyOf(origin), path: rel });
      if (loc.type !== 'data') throw new StrataError('E_BAD_TREE', `file's chunk ${id} is a ${loc.type} blob`, { key: this.keyOf(origin), path: rel });
      chunks.push({ id, offset, length: loc.length });
      offset += loc.length;
    }
    if (offset !== entry.size) {
      throw new StrataError('E_BAD_TREE', `file's chunks add up to ${offset} bytes, its entry says ${entry.size}`, { key: this.keyOf(origin), path: rel });
    }
    this.plan.files.push({ rel, path: pathInside(this.target, rel), entry, chunks });
    this.plan.bytes += entry.size;
  }

  addLink(origin: Origin, rel: string, entry: PlannedLink['entry']): void {
    this.count(origin, rel);
    if (entry.target === '' || entry.target.includes('\0')) {
      const where = origin === undefined ? '' : ` (tree ${origin})`;
      throw new StrataError('E_BAD_SYMLINK', `symlink target ${JSON.stringify(entry.target)} is empty or holds a NUL: no link can hold it${where}`, { key: this.keyOf(origin), path: rel });
    }
    this.plan.links.push({ rel, path: pathInside(this.target, rel), entry });
  }

  /** Refuses `more` chunk places when they would take the plan over MAX_PLAN_CHUNKS. */
  checkPlaces(origin: Origin, rel: string, more: number): void {
    if (this.places + more > MAX_PLAN_CHUNKS) {
      throw new StrataError('E_BAD_TREE', `the tree names more than ${MAX_PLAN_CHUNKS} chunk places`, { key: this.keyOf(origin), path: rel });
    }
  }

  private count(origin: Origin, rel: string): void {
    if (++this.entries > MAX_PLAN_ENTRIES) {
      throw new StrataError('E_BAD_TREE', `the tree names more than ${MAX_PLAN_ENTRIES} paths`, { key: this.keyOf(origin), path: rel });
    }
  }

  private keyOf(origin: Origin): string | undefined {
    const loc = origin === undefined ? undefined : this.repo.blobLocation(origin);
    return loc ? keys.pack(loc.pack) : undefined;
  }
}

async function walk(repo: Repository, cache: RangeCache, planner: Planner, start: Pending, signal?: AbortSignal): Promise<void> {
  let level: Pending[] = [start];
  while (level.length > 0) {
    signal?.throwIfAborted();
    const trees = new Map<BlobId, Tree>();
    const ids = [...new Set(level.map((p) => p.tree))];
    const refOf = (id: BlobId) => level.find((p) => p.tree === id)?.ref;
    for (let i = 0; i < ids.length; i += TREES_PER_LOAD) {
      await loadTrees(repo, cache, ids.slice(i, i + TREES_PER_LOAD), (id, tree) => void trees.set(id, tree), refOf);
    }
    // The level's chunk places are counted before any is planned: a shared subtree repeats its
    // files at every path that names it, and must be refused before that costs the memory.
    const placesOf = new Map<BlobId, number>();
    let places = 0;
    for (const p of level) {
      let n = placesOf.get(p.tree);
      if (n === undefined) {
        n = 0;
        for (const e of (trees.get(p.tree) as Tree).entries) if (e.type === 'file') n += e.chunks.length;
        placesOf.set(p.tree, n);
      }
      places += n;
      planner.checkPlaces(p.tree, p.rel, places);
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
async function descend(repo: Repository, planner: Planner, root: Pending, only: string): Promise<{ tree: BlobId; entry: TreeEntry; rel: string }> {
  const parts = only.split('/').filter((p) => p !== '');
  if (parts.length === 0) throw new StrataError('E_BAD_PATH', 'the path to restore is empty', { path: only });
  parts.forEach((p) => checkEntryName(p, { path: only }));
  let tree = root.tree;
  let ref = root.ref;
  let rel = '';
  for (let i = 0; ; i++) {
    const name = parts[i] as string;
    const entry = (await repo.loadTree(tree, ref)).entries.find((e) => e.name === name);
    if (!entry || entry.type === 'whiteout') throw new StrataError('E_NOT_IN_SNAPSHOT', 'no such path in the snapshot', { path: join(rel, name) });
    if (i === parts.length - 1) return { tree, entry, rel: join(rel, name) };
    if (entry.type !== 'dir') throw new StrataError('E_NOT_IN_SNAPSHOT', `${entry.type} where a folder was expected`, { path: join(rel, name) });
    rel = join(rel, name);
    planner.addDir(rel, undefined, i + 1);
    ref = { path: rel, parent: tree };
    tree = entry.subtree;
  }
}

export interface PlanOptions {
  /** Plan only this path below the root. */
  only?: string | undefined;
  signal?: AbortSignal | undefined;
  /** The object naming the root (its snapshot's key), for the error when no index holds it. */
  rootKey?: string | undefined;
}

/**
 * Walks the trees (one coalesced load per level) and returns everything to write. The ranges
 * fetched on the way are kept in `cache` for the downloads that follow.
 */
export async function buildPlan(repo: Repository, cache: RangeCache, target: string, root: BlobId, opts: PlanOptions = {}): Promise<Plan> {
  const { only, signal } = opts;
  const planner = new Planner(repo, target);
  planner.addDir('', undefined, 0);
  const start: Pending = { tree: root, rel: '', depth: 0, ref: { path: '', ...(opts.rootKey === undefined ? {} : { key: opts.rootKey }) } };
  if (only === undefined) {
    await walk(repo, cache, planner, start, signal);
    return planner.plan;
  }
  const found = await descend(repo, planner, start, only);
  const depth = found.rel.split('/').length;
  const sub = planner.add(found.tree, found.rel, found.entry, depth);
  if (sub) await walk(repo, cache, planner, sub, signal);
  return planner.plan;
}

/**
 * The plan of a tree already in memory: the same checks as a walk of tree objects (chunks known,
 * data and adding up to the size; symlink targets a link can hold; depth; count), without the trees.
 */
export function planMemoryTree(repo: Repository, target: string, tree: MemoryTree): Plan {
  const planner = new Planner(repo, target);
  planner.addDir('', undefined, 0);
  const dirs = new Set<string>(['']);
  for (const [rel, node] of tree.nodes) {
    const slash = rel.lastIndexOf('/');
    const parent = slash < 0 ? '' : rel.slice(0, slash);
    if (!dirs.has(parent)) throw new StrataError('E_INTERNAL', 'a path of the tree comes before its folder', { path: rel });
    switch (node.type) {
      case 'dir':
        dirs.add(rel);
        planner.addDirAt(undefined, rel, { mode: node.mode, mtimeMs: tree.dirMtime(rel) }, depthOf(rel));
        break;
      case 'file': {
        const chunks = tree.chunks.get(node.content);
        if (chunks === undefined) throw new StrataError('E_INTERNAL', 'no chunk list for a file of the tree', { path: rel });
        planner.addFile(undefined, rel, { mode: node.mode, mtimeMs: node.mtimeMs, size: node.size, chunks });
        break;
      }
      case 'symlink':
        planner.addLink(undefined, rel, { mtimeMs: node.mtimeMs ?? 0, target: node.target });
        break;
      default:
        throw new StrataError('E_INTERNAL', `cannot lay a ${(node as { type: string }).type}`, { path: rel });
    }
  }
  return planner.plan;
}

function depthOf(rel: string): number {
  let depth = 1;
  for (let i = rel.indexOf('/'); i >= 0; i = rel.indexOf('/', i + 1)) depth++;
  return depth;
}
