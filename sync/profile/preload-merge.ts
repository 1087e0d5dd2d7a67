/**
 * A preload's merge of a template into a user layer that has content (preload.ts states what must
 * hold; the flat-tree steps are template-merge.ts).
 *
 * The merge base is the **template record**: what this admin device's templates wrote, each path
 * at the version the last template that had it gave it. It cannot be the admin's head itself:
 * that snapshot is the whole layer (the user's files the template lacked, the user's version
 * where both were kept), and taken for the base it would make each of them look like the admin's
 * own, for the next template to replace without a word. So each preload also writes the record as
 * a snapshot of its own (device: the admin's; parents: the record before; never a head), and
 * names it as the **last parent** of the snapshot its head points at. recordOf finds it there: a
 * head snapshot with no parents is a first preload's, the template alone, its own record; one
 * with a single parent was written before records were kept, and has none (the merge base is
 * then empty: every path where template and layer differ keeps both, as before). A record is an
 * ancestor of its preload's snapshot only, and that snapshot descends from the earlier record and
 * preload too, so a device's merge base (the newest common ancestor) is never a record.
 *
 * The layer side is the layer's latest snapshot, with this admin device's head merged in when that
 * head is not one of its ancestors (a device wrote the latest snapshot before it merged the last
 * preload), so what the last preload wrote is neither lost nor taken for deleted by the user. The
 * merge is merge3 against their best common ancestors, as a device's (remote.ts baseTree): where a
 * device's passes and the preloads crossed there are two, and either alone would bring back what
 * the other side deleted since.
 */
import { flattenLoaded, merge3, type Conflict, type Node } from '../plan/index.js';
import type { Repository, SnapshotRecord } from '../repo/index.js';
import { keys, type BlobId, type Head, type Snapshot, type SnapshotId } from '../repo/types.js';
import type { SnapshotGraph } from '../agent/history.js';
import { baseTree } from '../agent/remote.js';
import type { ChunkMap } from '../agent/trees.js';
import { loadAllTrees } from './load-trees.js';

/** The trees a preload merges, flat; every file content's chunks are in `chunks`. */
export interface Sides {
  template: Map<string, Node>;
  /** The latest snapshot's tree. */
  latest: Map<string, Node>;
  /** The layer side (see the header): `latest`, or it merged with this admin device's head. */
  layer: Map<string, Node>;
  /** The layer side's conflicts (both versions kept), when the admin's head was merged in. */
  conflicts: Conflict[];
  /** The snapshots the layer side holds: the latest, and the admin's head when merged in. */
  parents: SnapshotRecord[];
  /** The template record and its snapshot; empty and undefined when there is none. */
  record: Map<string, Node>;
  recordId: SnapshotId | undefined;
  recordTime: string | undefined;
  chunks: ChunkMap;
}

/** The template record of `own`, this admin device's head (see the header). */
async function recordOf(graph: SnapshotGraph, own: Head | undefined): Promise<SnapshotId | undefined> {
  if (own === undefined) return undefined;
  const s = await graph.get(own.snapshot);
  if (s.parents.length === 0) return own.snapshot;
  const last = s.parents.at(-1) as SnapshotId;
  if (s.parents.length < 2 || (await graph.get(last)).device !== own.device) return undefined;
  return last;
}

/**
 * Reads what the merge of `template` (a root tree) into the layer needs. `own`: this admin
 * device's head, if it has one; `userDevice` names the layer side's conflict copies;
 * `caseInsensitive` as merge3's.
 */
export async function readSides(repo: Repository, graph: SnapshotGraph, latest: SnapshotRecord, own: Head | undefined, template: BlobId, userDevice: string, caseInsensitive: boolean): Promise<Sides> {
  const layer = latest.snapshot.layer;
  const recordId = await recordOf(graph, own);
  const ownId = own?.snapshot;
  const apart = ownId !== undefined && ownId !== latest.id;
  const bases = apart ? await graph.mergeBases([latest.id], ownId) : [];
  const merging = apart && bases[0] !== ownId;
  const ids = [latest.id, ...(recordId ? [recordId] : []), ...(merging ? [ownId, ...bases] : [])];
  const snaps = new Map<SnapshotId, Snapshot>([[latest.id, latest.snapshot]]);
  for (const id of ids) if (!snaps.has(id)) snaps.set(id, await graph.get(id));
  const rootOf = (id: SnapshotId): BlobId => (snaps.get(id) as Snapshot).root;
  const trees = await loadAllTrees(repo, [template, ...ids.map(rootOf)], new Map(), new Map(ids.map((id) => [rootOf(id), keys.snapshot(layer, id)])));
  const chunks: ChunkMap = new Map();
  const flat = (root: BlobId): Map<string, Node> => flattenLoaded(trees, root, chunks);
  // A snapshot's tree, loaded when not yet (the bases of crossed bases, baseTree).
  const snapshotTree = async (id: SnapshotId | undefined): Promise<Map<string, Node>> => {
    if (id === undefined) return new Map();
    const { root } = await graph.get(id);
    await loadAllTrees(repo, [root], trees, new Map([[root, keys.snapshot(layer, id)]]));
    return flat(root);
  };
  const latestTree = flat(latest.snapshot.root);
  const sides: Sides = {
    template: flat(template),
    latest: latestTree,
    layer: latestTree,
    conflicts: [],
    parents: [latest],
    record: recordId ? flat(rootOf(recordId)) : new Map(),
    recordId,
    recordTime: recordId ? snaps.get(recordId)?.time : undefined,
    chunks,
  };
  if (merging && own) {
    const base = await baseTree(graph, bases, snapshotTree, { caseInsensitive });
    const r = merge3(base, latestTree, flat(rootOf(ownId)), { mine: userDevice, theirs: own.device, caseInsensitive });
    sides.layer = r.merged;
    sides.conflicts = r.conflicts;
    sides.parents.push({ id: ownId, snapshot: snaps.get(ownId) as Snapshot });
  }
  return sides;
}
