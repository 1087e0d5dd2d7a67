/**
 * Merkle trees laid over one another, for preloading a user layer from a template: the result
 * holds every path of the upper tree, and every path of the lower tree the upper one does not
 * have. Two dirs merge path by path, so a file the template lacks is never dropped from the layer.
 * On the same path the upper entry wins (its kind, metadata and content) while the lower tree is
 * the admins' own (nobody has signed in); once it may hold the user's versions (`keepBoth`), an
 * upper entry never replaces a lower one of other content (DESIGN §3: no version is lost
 * silently): both are kept, as the sync engine keeps a conflict, the dir of the two keeping the
 * name, else the lower (the user's) entry, and the other going beside it as
 * `name.sync-conflict-YYYYMMDD-HHMMSS-<device>.ext` (its mtime, the device that wrote it). Only a
 * whiteout (no version) is replaced.
 *
 * A user layer also hides what the layers below it show: a whiteout hides a path and all under it,
 * a file or symlink hides a dir below. Where the upper tree puts a dir over such an entry, the dir
 * must go on hiding what it hid, or the folder the user deleted comes back whole at the next
 * sign-in: the new dir holds a whiteout for each entry the layers below show there that the upper
 * dir does not have (the form the sync engine gives a folder the user deleted and made again:
 * sync/overlay userView).
 *
 * Trees are loaded a level of the hierarchy at a time (coalesced reads, the rest of each pack's
 * trees in the same round) and kept in memory, as the agent does for a layer; subtrees that are
 * identical on both sides are not descended into.
 */
import { blobId } from '../chunker/hash.js';
import { StrataError } from '../errors.js';
import { conflictName } from '../plan/index.js';
import { encodeTree, MAX_TREE_BYTES, refIn, type Repository, type TreeRef } from '../repo/index.js';
import type { BlobId, SnapshotSummary, Tree, TreeEntry, WhiteoutEntry } from '../repo/types.js';

export type Trees = Map<BlobId, Tree>;

/**
 * Every tree below `roots` (roots included), added to `trees`; the repository's index must name
 * them. `rootKeys`: the snapshot naming each root, for the error when a tree is in no index.
 */
export async function loadAllTrees(repo: Repository, roots: BlobId[], trees: Trees = new Map(), rootKeys: ReadonlyMap<BlobId, string> = new Map()): Promise<Trees> {
  const keep = (id: BlobId, tree: Tree): void => void trees.set(id, tree);
  const refOf = (id: BlobId): TreeRef | undefined => {
    const named = roots.map((r): [BlobId, TreeRef] => {
      const key = rootKeys.get(r);
      return [r, { path: '', ...(key === undefined ? {} : { key }) }];
    });
    return refIn(trees, named, id);
  };
  const walked = new Set<BlobId>();
  const packsRead = new Set<string>();
  let level = [...new Set(roots)];
  while (level.length > 0) {
    const missing = level.filter((id) => !trees.has(id));
    if (missing.length > 0) {
      for (const id of missing) repo.treeLocation(id, () => refOf(id));
      const mates = packMates(repo, missing, trees, packsRead);
      // The mates are a guess: when the reads fail with them, they fail again without them, or
      // the mates were the trouble and are left for a level that needs them to read and check.
      if (mates.length === 0) await repo.loadTrees(missing, keep);
      else await repo.loadTrees([...missing, ...mates], keep).catch(() => repo.loadTrees(missing.filter((id) => !trees.has(id)), keep));
    }
    // Down through what is in memory; the first trees that are not are the next level.
    const next = new Set<BlobId>();
    const stack = [...level];
    for (let id = stack.pop(); id !== undefined; id = stack.pop()) {
      if (walked.has(id)) continue;
      const tree = trees.get(id);
      if (tree === undefined) {
        next.add(id);
        continue;
      }
      walked.add(id);
      for (const e of tree.entries) if (e.type === 'dir') stack.push(e.subtree);
    }
    level = [...next];
  }
  return trees;
}

/** Reading a pack's trees whole stops at this many bytes of them. */
const PACK_TREES_MAX_BYTES = 16 * 1024 * 1024;

/**
 * The other trees of the packs that hold `ids`, in packs not read whole before. A snapshot writes
 * its new trees together, so these are mostly the levels below: reading them in the same round
 * saves a round trip per level, at the cost of the few trees of those packs that are not needed.
 */
function packMates(repo: Repository, ids: readonly BlobId[], trees: Trees, packsRead: Set<string>): BlobId[] {
  const wanted = new Set(ids);
  const mates: BlobId[] = [];
  for (const id of ids) {
    const pack = repo.treeLocation(id).pack;
    if (packsRead.has(pack)) continue;
    packsRead.add(pack);
    let bytes = 0;
    for (const mate of repo.treesInPack(pack)) {
      const loc = repo.blobLocation(mate);
      if (trees.has(mate) || wanted.has(mate) || loc === undefined || loc.length > MAX_TREE_BYTES) continue;
      bytes += loc.length;
      if (bytes > PACK_TREES_MAX_BYTES) break;
      mates.push(mate);
    }
  }
  return mates;
}

/** The loaded tree `id` (E_INTERNAL when it was not loaded). */
export function treeOf(trees: Trees, id: BlobId): Tree {
  const tree = trees.get(id);
  if (!tree) throw new StrataError('E_INTERNAL', `tree ${id} was not loaded`);
  return tree;
}

function byName(a: TreeEntry, b: TreeEntry): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * What the layers below a user layer show in dir `dir` ('' is the root): each name, and whether
 * it is a dir there; undefined where they show no dir.
 */
export type BelowDirs = (dir: string) => Promise<ReadonlyMap<string, boolean> | undefined>;

type Save = (id: BlobId, bytes: Uint8Array) => Promise<void>;

/** Both versions of a path kept: `path` holds one, `copy` the other (a conflict copy), the version of `copyOf`. */
export interface KeptBoth {
  path: string;
  copy: string;
  copyOf: 'upper' | 'lower';
}

export interface OverlayOptions {
  /**
   * When `lower` is a user layer: what its lower layers show, which a dir of `upper` laid over a
   * whiteout, file or symlink of `lower` must keep hiding.
   */
  below?: BelowDirs;
  /**
   * Set when `lower` may hold the user's versions: an upper entry of other content than the lower
   * one keeps both (see the header); each pair is added to `kept`. `upperDevice` wrote the upper
   * tree, `lowerDevice` the lower one: they name the conflict copies.
   */
  keepBoth?: { upperDevice: string; lowerDevice: string; kept: KeptBoth[] };
}

/** Whether two entries hold the same version: kind and content (a file's chunks, a symlink's target). */
function sameContent(a: TreeEntry, b: TreeEntry): boolean {
  if (a.type === 'file' && b.type === 'file') return a.size === b.size && a.chunks.length === b.chunks.length && a.chunks.every((c, i) => c === b.chunks[i]);
  if (a.type === 'symlink' && b.type === 'symlink') return a.target === b.target;
  return false;
}

/**
 * The id of `upper` laid over `lower` (both loaded in `trees`). New trees go through `save`, which
 * must add them to the repository (not yet durable: flush after); they are added to `trees` too.
 */
export async function overlayTrees(trees: Trees, lower: BlobId | undefined, upper: BlobId, save: Save, hash: Repository['format']['hash'], opts: OverlayOptions = {}, dir = ''): Promise<BlobId> {
  if (lower === undefined || lower === upper) return upper;
  const { below, keepBoth } = opts;
  const entries = new Map(treeOf(trees, lower).entries.map((e) => [e.name, e]));
  const upperNames = new Set(treeOf(trees, upper).entries.map((e) => e.name));
  const beside = (e: Exclude<TreeEntry, WhiteoutEntry>, copyOf: KeptBoth['copyOf'], device: string, path: string): void => {
    let copy = '';
    for (let n = 1; copy === '' || entries.has(copy) || upperNames.has(copy); n++) copy = conflictName(e.name, e.mtimeMs, device, n);
    entries.set(copy, { ...e, name: copy });
    keepBoth?.kept.push({ path, copy: dir === '' ? copy : `${dir}/${copy}`, copyOf });
  };
  for (const e of treeOf(trees, upper).entries) {
    const under = entries.get(e.name);
    const path = dir === '' ? e.name : `${dir}/${e.name}`;
    if (e.type === 'dir' && under?.type === 'dir') {
      entries.set(e.name, { ...e, subtree: await overlayTrees(trees, under.subtree, e.subtree, save, hash, opts, path) });
      continue;
    }
    if (keepBoth !== undefined && under !== undefined && under.type !== 'whiteout' && e.type !== 'whiteout' && !sameContent(e, under)) {
      // The dir keeps the name (its children stay where they are), else the user's entry does.
      if (e.type !== 'dir') {
        beside(e, 'upper', keepBoth.upperDevice, path);
        continue;
      }
      beside(under, 'lower', keepBoth.lowerDevice, path);
    }
    if (e.type === 'dir' && under !== undefined && below !== undefined) {
      entries.set(e.name, { ...e, subtree: await keepHiding(trees, e.subtree, path, below, save, hash) });
    } else {
      entries.set(e.name, e);
    }
  }
  return saveTree(trees, [...entries.values()], save, hash);
}

/** `upper`, the tree of dir `dir`, with a whiteout for each entry `below` shows there that it lacks, at every level. */
async function keepHiding(trees: Trees, upper: BlobId, dir: string, below: BelowDirs, save: Save, hash: Repository['format']['hash']): Promise<BlobId> {
  const shown = await below(dir);
  if (shown === undefined) return upper;
  const entries = new Map(treeOf(trees, upper).entries.map((e) => [e.name, e]));
  let changed = false;
  for (const [name, isDir] of shown) {
    const e = entries.get(name);
    if (e === undefined) {
      entries.set(name, { name, type: 'whiteout' });
      changed = true;
    } else if (e.type === 'dir' && isDir) {
      const subtree = await keepHiding(trees, e.subtree, `${dir === '' ? '' : `${dir}/`}${name}`, below, save, hash);
      if (subtree !== e.subtree) {
        entries.set(name, { ...e, subtree });
        changed = true;
      }
    }
  }
  return changed ? saveTree(trees, [...entries.values()], save, hash) : upper;
}

async function saveTree(trees: Trees, entries: TreeEntry[], save: Save, hash: Repository['format']['hash']): Promise<BlobId> {
  const tree: Tree = { entries: entries.sort(byName) };
  const bytes = encodeTree(tree);
  const id = blobId(bytes, hash);
  await save(id, bytes);
  trees.set(id, tree);
  return id;
}

/** Files, dirs (the root included) and file bytes of the tree at `root`, as a snapshot summary counts them. */
export function countTree(trees: Trees, root: BlobId): Omit<SnapshotSummary, 'bytesAdded'> {
  // Each distinct subtree counted once: the layer's trees come from the bucket, and a few small
  // ones naming each other twice per level name billions of paths.
  const counted = new Map<BlobId, Omit<SnapshotSummary, 'bytesAdded'>>();
  const walk = (id: BlobId): Omit<SnapshotSummary, 'bytesAdded'> => {
    const known = counted.get(id);
    if (known !== undefined) return known;
    const out = { files: 0, dirs: 1, bytes: 0 };
    for (const e of treeOf(trees, id).entries) {
      if (e.type === 'file') {
        out.files++;
        out.bytes += e.size;
      } else if (e.type === 'dir') {
        const sub = walk(e.subtree);
        out.files += sub.files;
        out.dirs += sub.dirs;
        out.bytes += sub.bytes;
      }
    }
    counted.set(id, out);
    return out;
  };
  return walk(root);
}
