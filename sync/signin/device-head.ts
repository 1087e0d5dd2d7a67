/**
 * After a sign-in laid the user layer onto home, this device's head is moved to a snapshot of
 * exactly what was laid (parent: the snapshot laid, same root tree). Live sync merges every other
 * device's head against this device's own history (DESIGN §3): without this record, a device
 * signing in for the first time has no merge base, and an edit made before its first pass — at
 * once after the restore, or later with `login --no-sync` — would meet the layer's version as a
 * concurrent change and end up as a conflict copy.
 *
 * What must hold: the record is written only when it tells the truth and loses nothing — when the
 * device has no head yet, or when its head is an ancestor of the snapshot laid (everything it had
 * written is in what was laid). A device whose own head holds changes the laid snapshot lacks
 * keeps its head: its first pass merges those changes in. Only a snapshot and a head are written,
 * in DESIGN §2's order; the root tree is already durable (it is the laid snapshot's).
 */
import { layerGraph } from '../agent/history.js';
import type { Repository } from '../repo/index.js';
import { writeHead } from '../repo/layers.js';
import { encodeSnapshot } from '../repo/snapshot.js';
import { FORMAT_VERSION, keys, type Snapshot } from '../repo/types.js';
import type { ObjectStore } from '../store/index.js';
import type { LaidLayer } from './session.js';

/** Returns the snapshot written, or undefined when the device's head was left as it was. */
export async function recordLaidHead(repo: Repository, store: ObjectStore, laid: LaidLayer, device: string, now: Date, graph = layerGraph(repo, laid.layer)): Promise<string | undefined> {
  const own = (await repo.listHeads(laid.layer)).heads.find((h) => h.device === device);
  if (own?.snapshot === laid.snapshot) return undefined;
  if (own && (await graph.mergeBase([laid.snapshot], own.snapshot)) !== own.snapshot) return undefined;
  const from = await graph.get(laid.snapshot);
  const snapshot: Snapshot = {
    version: FORMAT_VERSION,
    layer: laid.layer,
    device,
    time: now.toISOString(),
    root: laid.root,
    parents: [laid.snapshot],
    ...(from.summary ? { summary: { ...from.summary, bytesAdded: 0 } } : {}),
  };
  const { id, bytes } = encodeSnapshot(snapshot, repo.format.hash);
  await store.put(keys.snapshot(laid.layer, id), bytes);
  await writeHead(store, { version: FORMAT_VERSION, layer: laid.layer, device, snapshot: id, time: now.toISOString() });
  return id;
}
