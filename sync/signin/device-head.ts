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
 *
 * Final heads (DESIGN §2). Every VDI session is a device of its own, with a head of its own: left
 * alone, a user's heads would grow by one per session, and every sign-in and first pass pay for
 * each. So a VDI session that signs out marks its head final (markHeadFinal: logout.ts, after its
 * last pass; a persistent PC keeps its head, which its next sign-in reads), and a sign-in, once
 * this device's head is recorded, deletes the final heads of other devices that this device's
 * head descends from (or points at). What must hold: only a head marked
 * final is deleted (its device has stopped writing), only when its snapshot is known to be an
 * ancestor of a head already written (the walk's hint: a head it cannot place stays), so no
 * snapshot ever stops being reachable from some head. A device signing in again makes its own head
 * non-final; a device that finds its head gone while signed in writes it again (folder.ts).
 *
 * A device may write after its final mark: a sign-out cut off after it marked the head, whose agent
 * then resumes (logout-pause.ts) or starts again. Its pass makes the head non-final before it
 * writes anything else (folder.ts), so a sign-in that lists it after that keeps it. One window is
 * left, as no write here is conditional (DESIGN §2): dropFinalHeads's second listing, then that
 * device's whole pass (head made non-final, the edit uploaded, its new head), then the delete. The
 * head goes then, not the snapshot; the device's next pass, due at its next poll, finds its head
 * gone and writes it again. The edit is lost only if that device never makes another pass (reset
 * or killed within one poll of it): final-heads.test.ts plays the window.
 */
import { layerGraph, snapshotTime, type SnapshotGraph } from '../agent/history.js';
import type { Repository } from '../repo/index.js';
import { writeHead } from '../repo/layers.js';
import { forEachLimit } from '../repo/pool.js';
import { encodeSnapshot } from '../repo/snapshot.js';
import { FORMAT_VERSION, keys, type Head, type Snapshot, type SnapshotId } from '../repo/types.js';
import type { ObjectStore } from '../store/index.js';
import type { LaidLayer } from './session.js';

/**
 * Returns the snapshot written, or undefined when the device's head was left at its snapshot (made
 * non-final if it was final); then drops the final heads it descends from.
 */
export async function recordLaidHead(repo: Repository, store: ObjectStore, laid: LaidLayer, device: string, now: Date, graph = layerGraph(repo, laid.layer)): Promise<string | undefined> {
  const heads = (await repo.listHeads(laid.layer)).heads;
  const own = heads.find((h) => h.device === device);
  if (own && (own.snapshot === laid.snapshot || (await graph.mergeBase([laid.snapshot], own.snapshot)) !== own.snapshot)) {
    if (own.final) await writeHead(store, signedIn(own));
    await dropFinalHeads(repo, store, graph, heads, device, own.snapshot);
    return undefined;
  }
  const from = await graph.get(laid.snapshot);
  const snapshot: Snapshot = {
    version: FORMAT_VERSION,
    layer: laid.layer,
    device,
    time: await snapshotTime(now, [laid.snapshot], graph),
    root: laid.root,
    parents: [laid.snapshot],
    ...(from.summary ? { summary: { ...from.summary, bytesAdded: 0 } } : {}),
  };
  const { id, bytes } = encodeSnapshot(snapshot, repo.format.hash);
  await store.put(keys.snapshot(laid.layer, id), bytes);
  await writeHead(store, { version: FORMAT_VERSION, layer: laid.layer, device, snapshot: id, time: snapshot.time });
  await dropFinalHeads(repo, store, graph, heads, device, id);
  return id;
}

function signedIn(head: Head): Head {
  const { final: _final, ...rest } = head;
  return rest;
}

/** Marks `device`'s head final (it signs out); false when it has none. */
export async function markHeadFinal(repo: Repository, layer: string, device: string): Promise<boolean> {
  const own = (await repo.listHeads(layer)).heads.find((h) => h.device === device);
  if (own === undefined) return false;
  if (!own.final) await writeHead(repo.store, { ...own, final: true });
  return true;
}

/**
 * Deletes the final heads of other devices that `mine` (this device's head, written) descends from;
 * returns their devices. The heads are listed again after the walk, just before the deletes: one
 * its device wrote since the first listing (it signed in again) is no longer final, and stays.
 */
export async function dropFinalHeads(repo: Repository, store: ObjectStore, graph: SnapshotGraph, heads: readonly Head[], device: string, mine: SnapshotId): Promise<string[]> {
  const finals = heads.filter((h) => h.final === true && h.device !== device);
  if (finals.length === 0) return [];
  const covered = await graph.ancestorsAmong([mine], finals.map((h) => h.snapshot));
  const still = new Map((await repo.listHeads(finals[0]!.layer)).heads.map((h) => [h.device, h]));
  const dropped = finals.filter((h) => covered.has(h.snapshot) && still.get(h.device)?.final === true && still.get(h.device)?.snapshot === h.snapshot);
  await forEachLimit(dropped, 8, (h) => store.delete(keys.head(h.layer, h.device)));
  return dropped.map((h) => h.device);
}
