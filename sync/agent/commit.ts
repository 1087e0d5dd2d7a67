/**
 * The last step of a pass: the merged tree becomes this device's snapshot and head. The order is
 * DESIGN §2's: the root tree is durable (flushed) before the snapshot, the snapshot before the
 * head. A pass that changed nothing writes nothing: a root equal to the head's keeps the head,
 * unless the pass overruled the other heads' deletes.
 */
import type { Node } from '../plan/index.js';
import type { Repository } from '../repo/index.js';
import { FORMAT_VERSION, type BlobId, type Snapshot, type SnapshotId, type SnapshotSummary } from '../repo/types.js';
import { snapshotTime, type SnapshotGraph } from './history.js';

export interface CommitInput {
  repo: Repository;
  layer: string;
  device: string;
  graph: SnapshotGraph;
  /** This device's head before the pass. */
  own: SnapshotId | undefined;
  merged: ReadonlyMap<string, Node>;
  /** The merged tree's root, already flushed. */
  root: BlobId;
  /** The heads the pass merged in. */
  parents: readonly SnapshotId[];
  /** Bytes of new chunks the pass uploaded. */
  bytesAdded: number;
  now: Date;
  /**
   * The pass overruled deletes of the heads it merged (put-back.ts): their snapshot must name them
   * as parents even when the root stays this device's, or the others would keep their deletes.
   */
  overruled?: boolean;
}

/**
 * The summary's counts as every other write of a snapshot makes them (a snapshot's walk, a preload),
 * or `admin users` would count one layer's files differently after each kind of write:
 * regular files only (no symlinks, no whiteouts), their bytes, and dirs with the root.
 */
export function summaryOf(merged: ReadonlyMap<string, Node>): Omit<SnapshotSummary, 'bytesAdded'> {
  const out = { files: 0, dirs: 1, bytes: 0 };
  for (const n of merged.values()) {
    if (n.type === 'file') {
      out.files++;
      out.bytes += n.size;
    } else if (n.type === 'dir') out.dirs++;
  }
  return out;
}

/** Writes the snapshot and the head; returns the new snapshot, or undefined when the head already names `root`. */
export async function commitSnapshot(input: CommitInput): Promise<SnapshotId | undefined> {
  const { repo, layer, device, graph, own, merged } = input;
  const overrules = input.overruled === true && input.parents.length > 0;
  if (own !== undefined && !overrules && (await graph.get(own)).root === input.root) return undefined;
  const parents = [...(own === undefined ? [] : [own]), ...input.parents];
  const snapshot: Snapshot = {
    version: FORMAT_VERSION,
    layer,
    device,
    time: await snapshotTime(input.now, parents, graph),
    root: input.root,
    parents,
    summary: { ...summaryOf(merged), bytesAdded: input.bytesAdded },
  };
  const id = await repo.saveSnapshot(snapshot);
  await repo.writeHead(layer, device, id, snapshot.time);
  graph.add(id, snapshot);
  return id;
}
