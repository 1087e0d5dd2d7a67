/**
 * Merkle trees laid over one another, for preloading a user layer from a template: the result
 * holds every path of the upper tree, and every path of the lower tree the upper one does not
 * have. On the same path the upper entry wins (its kind, metadata and content); two dirs merge
 * path by path, so a file the template lacks is never dropped from the layer.
 *
 * Trees are loaded a level of the hierarchy at a time (coalesced reads, the rest of each pack's
 * trees in the same round) and kept in memory, as the agent does for a layer; subtrees that are
 * identical on both sides are not descended into.
 */
import { blobId } from '../chunker/hash.js';
import { StrataError } from '../errors.js';
import { encodeTree, MAX_TREE_BYTES, type Repository } from '../repo/index.js';
import type { BlobId, SnapshotSummary, Tree, TreeEntry } from '../repo/types.js';

export type Trees = Map<BlobId, Tree>;

/** Every tree below `roots` (roots included), added to `trees`; the repository's index must name them. */
export async function loadAllTrees(repo: Repository, roots: BlobId[], trees: Trees = new Map()): Promise<Trees> {
  const keep = (id: BlobId, tree: Tree): void => void trees.set(id, tree);
  const walked = new Set<BlobId>();
  const packsRead = new Set<string>();
  let level = [...new Set(roots)];
  while (level.length > 0) {
    const missing = level.filter((id) => !trees.has(id));
    if (missing.length > 0) {
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

function get(trees: Trees, id: BlobId): Tree {
  const tree = trees.get(id);
  if (!tree) throw new StrataError('E_INTERNAL', `tree ${id} was not loaded`);
  return tree;
}

function byName(a: TreeEntry, b: TreeEntry): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * The id of `upper` laid over `lower` (both loaded in `trees`). New trees go through `save`, which
 * must add them to the repository (not yet durable: flush after); they are added to `trees` too.
 */
export async function overlayTrees(trees: Trees, lower: BlobId | undefined, upper: BlobId, save: (id: BlobId, bytes: Uint8Array) => Promise<void>, hash: Repository['format']['hash']): Promise<BlobId> {
  if (lower === undefined || lower === upper) return upper;
  const entries = new Map(get(trees, lower).entries.map((e) => [e.name, e]));
  for (const e of get(trees, upper).entries) {
    const under = entries.get(e.name);
    if (e.type === 'dir' && under?.type === 'dir') {
      entries.set(e.name, { ...e, subtree: await overlayTrees(trees, under.subtree, e.subtree, save, hash) });
    } else {
      entries.set(e.name, e);
    }
  }
  const tree: Tree = { entries: [...entries.values()].sort(byName) };
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
    for (const e of get(trees, id).entries) {
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
