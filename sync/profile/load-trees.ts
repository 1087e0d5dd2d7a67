/**
 * A layer's Merkle trees loaded whole, for a preload (which merges the template into the layer on
 * flat trees: template-merge.ts, preload.ts). Trees are loaded a level of the hierarchy at a time
 * (coalesced reads, the rest of each pack's trees in the same round) and kept in memory, as the
 * agent does for a layer. Given trees kept on this machine (LoadOptions.kept), those are read from
 * there and only the rest fetched: a tree is immutable, and one whose bytes hash to its id is the
 * tree. A kept tree is taken only where the repository's index names it (a file never stands in for
 * a tree the bucket lacks) and is decoded and validated as a fetched one is.
 */
import { StrataError } from '../errors.js';
import { decodeTree, MAX_TREE_BYTES, refIn, type Repository, type TreeRef } from '../repo/index.js';
import { keys, type BlobId, type Tree } from '../repo/types.js';

export type Trees = Map<BlobId, Tree>;

/** Trees kept on this machine (agent/tree-files.ts KeptTrees). */
export interface KeptTreeSource {
  /** Whether `id` may be kept (read tells for sure). */
  has(id: BlobId): boolean;
  /** Of `ids`, the trees kept, each verified against its id. */
  read(ids: readonly BlobId[]): Promise<Map<BlobId, Uint8Array>>;
}

export interface LoadOptions {
  /** Gets a copy of the verified bytes of each tree fetched (to keep them on disk: signin/layers.ts). */
  bytes?: Map<BlobId, Uint8Array>;
  /** Where trees are taken from before they are fetched. */
  kept?: KeptTreeSource;
}

/**
 * Every tree below `roots` (roots included), added to `trees`; the repository's index must name
 * them. `rootKeys`: the snapshot naming each root, for the error when a tree is in no index.
 */
export async function loadAllTrees(repo: Repository, roots: BlobId[], trees: Trees = new Map(), rootKeys: ReadonlyMap<BlobId, string> = new Map(), opts: LoadOptions = {}): Promise<Trees> {
  const { bytes, kept } = opts;
  const keep = (id: BlobId, tree: Tree, data: Uint8Array): void => {
    trees.set(id, tree);
    bytes?.set(id, data.slice());
  };
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
    let missing = level.filter((id) => !trees.has(id));
    for (const id of missing) repo.treeLocation(id, () => refOf(id));
    if (kept && missing.length > 0) missing = await takeKept(repo, kept, missing, trees);
    if (missing.length > 0) {
      const mates = packMates(repo, missing, trees, packsRead, kept);
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

/** Puts in `trees` those of `ids` that `kept` holds, decoded as fetched ones are; returns the rest. */
async function takeKept(repo: Repository, kept: KeptTreeSource, ids: readonly BlobId[], trees: Trees): Promise<BlobId[]> {
  const there = ids.filter((id) => kept.has(id));
  if (there.length === 0) return [...ids];
  const found = await kept.read(there);
  for (const [id, data] of found) trees.set(id, decodeTree(data, keys.pack(repo.treeLocation(id).pack), id));
  return ids.filter((id) => !found.has(id));
}

/** Reading a pack's trees whole stops at this many bytes of them. */
const PACK_TREES_MAX_BYTES = 16 * 1024 * 1024;

/**
 * The other trees of the packs that hold `ids`, in packs not read whole before. A snapshot writes
 * its new trees together, so these are mostly the levels below: reading them in the same round
 * saves a round trip per level, at the cost of the few trees of those packs that are not needed.
 * Trees kept on the machine are no mates: they are read from there when needed.
 */
function packMates(repo: Repository, ids: readonly BlobId[], trees: Trees, packsRead: Set<string>, kept?: KeptTreeSource): BlobId[] {
  const wanted = new Set(ids);
  const mates: BlobId[] = [];
  for (const id of ids) {
    const pack = repo.treeLocation(id).pack;
    if (packsRead.has(pack)) continue;
    packsRead.add(pack);
    let bytes = 0;
    for (const mate of repo.treesInPack(pack)) {
      const loc = repo.blobLocation(mate);
      if (trees.has(mate) || wanted.has(mate) || kept?.has(mate) || loc === undefined || loc.length > MAX_TREE_BYTES) continue;
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
