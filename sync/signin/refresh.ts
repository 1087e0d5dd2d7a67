/**
 * Org layers between sign-ins (DESIGN §1, §4). A persistent PC signs in once; afterwards the tray
 * or an autostart entry runs `strata agent` from the stored session, so the org layers its lay put
 * under the user's would never change: an admin's new version, or a new assignment, would wait
 * for a sign-in that never comes. So the agent checks at start (changedOrgLayers), and when they
 * changed it
 *
 *   1. flushes (flushSession): one sync pass over the org layers laid before, as logout's, so that
 *      every change made here is in the user layer — a copy-up or a whiteout — and every file on
 *      the disk is a version the lay knows it laid or synced;
 *   2. lays the layer again over the new org layers (layHome): untouched org files are replaced,
 *      the user's changes stay on top, and nothing turns into a conflict copy.
 *
 * A flush that waits for a mass-delete confirmation lays nothing (the caller starts the agent over
 * the old layers; the next start tries again).
 */
import { syncOnce, type PassResult } from '../agent/index.js';
import type { Repository } from '../repo/index.js';
import type { FileChunker } from '../snapshot/index.js';
import { sessionFolder } from './folder.js';
import { assignedOrgLayers, latestLayers } from './layers.js';
import type { LaidLayer, Session } from './session.js';

/** The org layers to lay now, lowest first, when they are not the ones the session laid; else undefined. */
export async function changedOrgLayers(repo: Repository, session: Session): Promise<LaidLayer[] | undefined> {
  const { laid } = await latestLayers(repo, await assignedOrgLayers(repo, session.user));
  const before = session.laid?.org ?? [];
  const same = laid.length === before.length && laid.every((l, i) => l.layer === before[i]?.layer && l.snapshot === before[i]?.snapshot);
  return same ? undefined : laid;
}

/** One full sync pass of the session's folder over the org layers it laid (logout's flush). */
export function flushSession(repo: Repository, session: Session, stateDir: string, chunker?: FileChunker): Promise<PassResult> {
  return syncOnce({ stateDir, repo, folder: sessionFolder(session, stateDir), chunker });
}
