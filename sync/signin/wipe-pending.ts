/**
 * The `wiping` record: `<stateDir>/wiping` exists from before `logout --wipe` deletes the session
 * until its wipe is done. A sign-out cut off in between (killed, the machine reset) has no session
 * left to run it again by; the record holds what the wipe needs — the signed-out session and the
 * repository's format — so that `strata logout --wipe` run again finishes it, by the same rules
 * (wipe.ts: only what the folder's stat cache vouches for goes).
 *
 * What must hold: the record is written whole (atomically) and durably before the session is
 * deleted, and removed only after the wipe ends. A sign-out of a later session replaces or removes
 * it before it deletes that session: a record never outlives the next sign-out.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '../errors.js';
import { fsyncDir } from '../fsutil.js';
import { writeFileAtomic } from '../state/fsutil.js';
import { readRecord, validateSession, type Session } from './session.js';
import type { WipeFormat } from './wipe.js';

export const WIPING_FILE = 'wiping';

export interface PendingWipe {
  session: Session;
  format?: WipeFormat;
}

const pathOf = (stateDir: string): string => join(stateDir, WIPING_FILE);

export async function recordPendingWipe(stateDir: string, wipe: PendingWipe): Promise<void> {
  await writeFileAtomic(pathOf(stateDir), JSON.stringify(wipe) + '\n');
}

/** The record of a wipe cut off, or undefined when there is none. */
export async function readPendingWipe(stateDir: string): Promise<PendingWipe | undefined> {
  const file = pathOf(stateDir);
  const text = await readRecord(file);
  if (text === undefined) return undefined;
  let v: { session?: unknown; format?: unknown } | null;
  try {
    v = JSON.parse(text) as typeof v;
  } catch {
    v = null;
  }
  const format = v?.format as Partial<WipeFormat> | undefined;
  if (v === null || typeof v !== 'object' || (format !== undefined && (typeof format !== 'object' || format === null || typeof format.hash !== 'string' || typeof format.chunker !== 'object'))) {
    throw new StrataError('E_BAD_STATE', 'the record of a cut-off wipe is not valid; remove it (the wipe then stays unfinished: what it left is on disk)', { path: file });
  }
  return { session: validateSession(v.session, file), ...(format !== undefined ? { format: format as WipeFormat } : {}) };
}

export async function removePendingWipe(stateDir: string): Promise<void> {
  await rm(pathOf(stateDir), { force: true });
  await fsyncDir(stateDir);
}
