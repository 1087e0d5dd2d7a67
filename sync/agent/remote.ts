/**
 * The remote half of a pass: merge every other device's head into the local tree, one head at a
 * time, each against its merge base (the newest common ancestor in the snapshot graph).
 *
 * Must hold: a head is only skipped when it is already an ancestor of what this device has merged
 * (or the very snapshot merged before). `mine` must already hold, for the paths this device cannot
 * see (excluded here, unreadable now), their version in this device's own head (see carry in
 * carry.ts, used by mine.ts), so that they never look deleted on this side. With
 * `caseInsensitive`, the merged tree must hold no two names that fold alike, even where `mine` does.
 */
import { foldLayerTree, merge3, type Conflict, type FlatTree, type Node } from '../plan/index.js';
import type { BlobId, Head, SnapshotId } from '../repo/types.js';
import type { SnapshotGraph } from './history.js';
import type { ChunkMap, TreeCache } from './trees.js';

export interface MergeInput {
  device: string;
  graph: SnapshotGraph;
  trees: TreeCache;
  chunks: ChunkMap;
  /** This device's head, if it has one. */
  own: SnapshotId | undefined;
  /** Snapshots `mine` already holds beyond `own` (a pending merge, pending.ts). */
  alsoMerged: readonly SnapshotId[];
  /** The other devices' heads. */
  heads: readonly Head[];
  /** Head per device that an earlier pass merged or found merged already. */
  considered: ReadonlyMap<string, SnapshotId>;
  /** The local side: the scanned tree plus what it cannot see. */
  mine: Map<string, Node>;
  caseInsensitive?: boolean;
}

export interface MergeOutput {
  merged: Map<string, Node>;
  /** Snapshots merged in (they become parents of the next snapshot). */
  parents: SnapshotId[];
  conflicts: Conflict[];
  /** device → head that is now merged (or was already). */
  considered: Map<string, SnapshotId>;
}

const EMPTY: FlatTree = new Map();

/**
 * The flat tree of a snapshot (or, with `isRoot`, of a root tree, which `rootKey` names when known),
 * loaded through the cache.
 */
export async function snapshotTree(input: Pick<MergeInput, 'graph' | 'trees' | 'chunks'>, id: SnapshotId | BlobId | undefined, isRoot = false, rootKey?: string): Promise<Map<string, Node>> {
  if (id === undefined) return new Map(EMPTY);
  const root = isRoot ? id : (await input.graph.get(id)).root;
  const key = isRoot ? rootKey : input.graph.keyOf?.(id);
  await input.trees.loadAll(root, { path: '', ...(key === undefined ? {} : { key }) });
  return input.trees.flat(root, input.chunks);
}

/**
 * The tree a merge takes for its base, given the best common ancestors of its two sides
 * (SnapshotGraph.mergeBases): the one, or, where two writers' histories crossed (several, none
 * below another), those merged in turn, each pair against its own bases, as git's recursive merge
 * does. Any one of them alone would lack what the others hold, and a file deleted since on one
 * side would look added on the other and come back. `treeOf` loads a snapshot's flat tree (none:
 * empty).
 *
 * Every device must build the same tree from the same bases: one that named a conflict between
 * them after itself would see the other side's copy of that version, under another name, as added,
 * and its own as deleted there, while the other device did the reverse; two such devices crossing
 * again each dropped the copy the other kept, and the version was lost. So the bases are merged in
 * one order (by id), and each conflict between them is named after the device that wrote the base.
 */
export async function baseTree(graph: SnapshotGraph, bases: readonly SnapshotId[], treeOf: (id: SnapshotId | undefined) => Promise<Map<string, Node>>, opts: Pick<MergeInput, 'caseInsensitive'>): Promise<Map<string, Node>> {
  const ordered = [...bases].sort();
  let tree = await treeOf(ordered[0]);
  for (let i = 1; i < ordered.length; i++) {
    const below = await baseTree(graph, await graph.mergeBases(ordered.slice(0, i), ordered[i]!), treeOf, opts);
    const next = await treeOf(ordered[i]);
    const [mine, theirs] = [(await graph.get(ordered[0]!)).device, (await graph.get(ordered[i]!)).device];
    tree = merge3(below, tree, next, { mine, theirs, caseInsensitive: opts.caseInsensitive }).merged;
  }
  return tree;
}

/** The order a pass merges heads in: newest first (`time` of each one's snapshot), ties by device. */
export function newestFirst<H extends Pick<Head, 'device' | 'snapshot'>>(heads: readonly H[], time: (id: SnapshotId) => number): H[] {
  return [...heads].sort((a, b) => time(b.snapshot) - time(a.snapshot) || (a.device < b.device ? -1 : 1));
}

export async function mergeHeads(input: MergeInput): Promise<MergeOutput> {
  let merged = input.mine;
  const mineSet = [...(input.own === undefined ? [] : [input.own]), ...input.alsoMerged];
  const parents: SnapshotId[] = [];
  const conflicts: Conflict[] = [];
  // Only devices with a head now: those whose heads went (VDI sessions signed out, their final
  // heads dropped) would otherwise stay for as long as the agent runs.
  const considered = new Map(input.heads.flatMap((h): [string, SnapshotId][] => {
    const seen = input.considered.get(h.device);
    return seen === undefined ? [] : [[h.device, seen]];
  }));
  // Newest first: a head that descends from the others (a chain of VDI sessions, each a device of
  // its own) makes them ancestors, skipped at the cost of a walk, not merged one by one in turn.
  const pending = input.heads.filter((h) => h.device !== input.device && considered.get(h.device) !== h.snapshot);
  await input.graph.prefetch(pending.map((h) => h.snapshot));
  const time = new Map<SnapshotId, number>();
  for (const h of pending) time.set(h.snapshot, await input.graph.get(h.snapshot).then((s) => Date.parse(s.time), () => -Infinity));
  const heads = newestFirst(pending, (id) => time.get(id) ?? -Infinity);
  let known = new Set<SnapshotId>();
  let knownFor = 0;
  for (const [i, h] of heads.entries()) {
    // Which of the heads still to come `mine` holds already: one walk, again only once `mine` grew.
    if (mineSet.length > knownFor && heads.length - i > 1) {
      known = await input.graph.ancestorsAmong(mineSet, heads.slice(i).map((x) => x.snapshot));
      knownFor = mineSet.length;
    }
    if (known.has(h.snapshot)) {
      considered.set(h.device, h.snapshot);
      continue;
    }
    const bases = mineSet.length > 0 ? await input.graph.mergeBases(mineSet, h.snapshot) : [];
    considered.set(h.device, h.snapshot);
    if (bases[0] === h.snapshot) continue;
    const base = await baseTree(input.graph, bases, (id) => snapshotTree(input, id), input);
    const theirs = await snapshotTree(input, h.snapshot);
    const r = merge3(base, merged, theirs, { mine: input.device, theirs: h.device, caseInsensitive: input.caseInsensitive });
    merged = r.merged;
    conflicts.push(...r.conflicts);
    mineSet.push(h.snapshot);
    parents.push(h.snapshot);
  }
  if (input.caseInsensitive) {
    // A case-sensitive disk (Linux under the org's caseInsensitive policy, a case-sensitive APFS
    // volume) can hold two names that fold alike, which no merge above may have met: this device
    // parts them as a case-insensitive device merging them would, before they reach the layer.
    const folded = foldLayerTree(merged, () => input.device);
    merged = folded.tree;
    conflicts.push(...folded.conflicts);
  }
  return { merged, parents, conflicts, considered };
}
