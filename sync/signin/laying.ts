/**
 * The `laying` marker: `<stateDir>/laying` exists from just before a lay first changes home until
 * just after it records `laid` (lay.ts). It tells two later readers what they need to know:
 *
 * - the next lay: a marker left behind means the last lay was cut off, so home may hold files
 *   whose metadata reached the disk before their data; that lay must read every file (no quick
 *   check);
 * - `strata logout`: a marker whose process is still alive means a lay is running right now;
 *   signing out under it would forget the credentials and session while the lay goes on writing
 *   home and then a session with `laid`;
 * - another lay: it must not start while this one runs (E_LAYING);
 * - `strata agent`: live sync must not start over a lay cut off (whose files are neither the old
 *   layers' nor all the new ones'), even when the session still names what an earlier lay laid
 *   (a second sign-in keeps it): it lays again first.
 *
 * What must hold: the marker is durable before the first change to home (writeFileAtomic), and it
 * names the process laying (its pid), rewritten by every lay.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '../errors.js';
import { isErrno } from '../fsutil.js';
import { writeFileAtomic } from '../state/fsutil.js';

export const LAYING_FILE = 'laying';

function layingPath(stateDir: string): string {
  return join(stateDir, LAYING_FILE);
}

async function readMarker(stateDir: string): Promise<string | undefined> {
  return readFile(layingPath(stateDir), 'utf8').catch((err: unknown) => {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  });
}

/**
 * Marks a lay in progress by this process; returns whether the last lay finished (it left no
 * marker). E_LAYING while another process is laying: two lays would race on home, and the first to
 * end would remove the marker under the other.
 */
export async function startLaying(stateDir: string): Promise<boolean> {
  await refuseWhileLaying(stateDir);
  const clean = (await readMarker(stateDir)) === undefined;
  await writeFileAtomic(layingPath(stateDir), `${JSON.stringify({ pid: process.pid, started: new Date().toISOString() })}\n`);
  return clean;
}

/** E_LAYING while another process is laying onto the state dir: a sign-in must not start over it. */
export async function refuseWhileLaying(stateDir: string): Promise<void> {
  const other = await runningLay(stateDir);
  if (other !== undefined) {
    throw new StrataError('E_LAYING', `a sign-in (process ${other}) is laying the layer onto home right now: wait for it, or stop it (if that process is not Strata, remove ${LAYING_FILE} from the state dir)`, { path: stateDir });
  }
}

export async function endLaying(stateDir: string): Promise<void> {
  await rm(layingPath(stateDir), { force: true });
}

/** True when the last lay was cut off: its marker is there, and no process is laying now. */
export async function lastLayCutOff(stateDir: string): Promise<boolean> {
  return (await readMarker(stateDir)) !== undefined && (await runningLay(stateDir)) === undefined;
}

/** The pid of a lay running right now in another process, if any (a marker whose process is gone is a cut-off lay). */
export async function runningLay(stateDir: string): Promise<number | undefined> {
  const text = await readMarker(stateDir);
  if (text === undefined) return undefined;
  let pid: unknown;
  try {
    pid = (JSON.parse(text) as { pid?: unknown }).pid;
  } catch {
    return undefined;
  }
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return isErrno(err, 'EPERM') ? pid : undefined;
  }
}
