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
 * A sign-in holds the marker from before it writes the credentials and the session (login.ts) until
 * its lay takes it over: another sign-in must not slip its writes in under a running lay, nor a lay
 * under those writes. Such a hold says `untouched`: home is not changed yet, so a hold left behind
 * by a process gone is no cut-off lay.
 *
 * What must hold: the marker is an exclusive lock — of processes starting a lay or a sign-in on one
 * state dir at the same moment, exactly one gets it, the others E_LAYING. It is created only where
 * none is (writeFileExclusive), whole where the file system has hard links, and durable before the
 * first change to home; it names the process holding it (its pid). Where links are refused (FAT,
 * exFAT, some network shares) it is seen empty or partial while being created: its creator is then
 * the running process its write in progress names, and when none does, the write was cut off and
 * the marker is taken over as a cut-off lay's (it may have replaced nothing, but cannot tell). A marker whose process is gone (or this one)
 * is taken over, and of the processes taking over one marker exactly one wins: they race for a
 * claim named after its content, created only where none is, and the winner replaces the marker
 * only while it still holds what was found, then removes every claim left (by takers that died).
 * Whoever gets the marker removes the temp files of the marker and its claims that processes left
 * when they died writing them, and never one still in use (see removeDeadTemps).
 */
import { createHash } from 'node:crypto';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '../errors.js';
import { isErrno } from '../fsutil.js';
import { writeFileAtomic, writeFileExclusive, writesInProgress } from '../state/fsutil.js';
import { pidAlive } from '../temps.js';
import { readRecord } from './session.js';

export const LAYING_FILE = 'laying';

function layingPath(stateDir: string): string {
  return join(stateDir, LAYING_FILE);
}

function parse(text: string): { pid?: unknown; untouched?: unknown; fsyncedEach?: unknown } {
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === 'object' ? v : {};
  } catch {
    return {};
  }
}

/** Whether a marker (or claim) was read whole: one still being written where links are refused is not. */
function whole(text: string): boolean {
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === 'object';
  } catch {
    return false;
  }
}

/**
 * What `path` (the marker or a claim) holds, and the running process holding it (none when its
 * process is gone, or is this one); undefined when nothing is there. Read while still being written
 * (see the header), it is held by the running creator its write in progress names.
 */
async function readMarker(path: string): Promise<{ text: string; owner: number | undefined } | undefined> {
  for (;;) {
    const text = await readRecord(path);
    if (text === undefined) return undefined;
    if (whole(text)) return { text, owner: runningOwner(text) };
    for (const pending of await writesInProgress(path)) {
      const owner = runningOwner(pending);
      if (owner !== undefined) return { text, owner };
    }
    // Unchanged after the look for its creator (whose write in progress goes only once it is written): cut off.
    if ((await readRecord(path)) === text) return { text, owner: undefined };
  }
}

/** `fsyncedEach`: the lay fsyncs each file it writes, before its rename (see startLaying). */
function markerText(untouched: boolean, fsyncedEach = false): string {
  return `${JSON.stringify({ pid: process.pid, started: new Date().toISOString(), ...(untouched ? { untouched } : {}), ...(fsyncedEach ? { fsyncedEach } : {}) })}\n`;
}

/** Whether a lay may start as after a finished one: no marker, or a sign-in's hold that never changed home. */
function leftClean(text: string | undefined): boolean {
  return text === undefined || parse(text).untouched === true;
}

/** The pid a marker (or claim) names when it is another process, still running. */
function runningOwner(text: string): number | undefined {
  const pid = parse(text).pid;
  return typeof pid === 'number' && pid !== process.pid && pidAlive(pid) ? pid : undefined;
}

function layingError(stateDir: string, pid: number): StrataError {
  return new StrataError('E_LAYING', `a sign-in (process ${pid}) is laying the layer onto home right now: wait for it, or stop it (if that process is not Strata, remove ${LAYING_FILE} from the state dir)`, { path: stateDir });
}

/**
 * Marks a lay in progress by this process; returns whether the last lay finished (it left no
 * marker, or an untouched hold). E_LAYING while another process is laying: two lays would race on
 * home, and the first to end would remove the marker under the other. `fsyncedEach`: the lay
 * fsyncs each file before its rename, so a file it laid holds its data once its name is on the
 * disk; otherwise (restore's deferSync) only a syncfs of home makes what it laid durable, and its
 * marker may go before it ends only after one (login.ts, the undo: layFsyncedEach).
 */
export function startLaying(stateDir: string, fsyncedEach = false): Promise<boolean> {
  return takeMarker(stateDir, false, fsyncedEach);
}

/**
 * A sign-in's hold on the state dir before its writes (see the header); its lay then takes the
 * marker over. Returns whether the last lay finished, as startLaying. E_LAYING as startLaying.
 */
export function holdLaying(stateDir: string): Promise<boolean> {
  return takeMarker(stateDir, true);
}

/** Removes this process's hold if its lay never started: home is as it was. */
export async function releaseHold(stateDir: string): Promise<void> {
  const text = await readRecord(layingPath(stateDir));
  if (text !== undefined && whole(text) && parse(text).pid === process.pid && parse(text).untouched === true) await rm(layingPath(stateDir), { force: true });
}

async function takeMarker(stateDir: string, hold: boolean, fsyncedEach = false): Promise<boolean> {
  const path = layingPath(stateDir);
  for (;;) {
    if (await writeFileExclusive(path, markerText(hold, fsyncedEach))) {
      await removeDeadTemps(stateDir);
      return true;
    }
    const marker = await readMarker(path);
    // Gone meanwhile (its lay ended), or taken over by another process: look again.
    if (marker === undefined) continue;
    if (marker.owner !== undefined) throw layingError(stateDir, marker.owner);
    const found = marker.text;
    const clean = leftClean(found);
    if (!(await takeOver(stateDir, path, found, markerText(hold && clean, fsyncedEach)))) continue;
    await removeOldClaims(stateDir);
    await removeDeadTemps(stateDir);
    return clean;
  }
}

/**
 * Removes the claims left by processes that died taking a marker over after they had replaced it
 * (a claim on the marker found is removed by whoever wins it). Run once this process's marker
 * stands: a claim names the content of a marker since replaced, so no one can win anything by it.
 */
async function removeOldClaims(stateDir: string): Promise<void> {
  const claims = (await readdir(stateDir)).filter((name) => name.startsWith(`${LAYING_FILE}.claim-`));
  await Promise.all(claims.map((name) => rm(join(stateDir, name), { force: true })));
}

/** A temp file of the marker or a claim: what writeFileExclusive and writeFileAtomic write aside first (state/fsutil.ts). */
const TEMP = new RegExp(`^\\.${LAYING_FILE}\\.(claim-[0-9a-f]{16}\\.)?[0-9a-f]{12}\\.tmp$`);

/** How long a temp not yet written whole may still be being written: its writer writes its few bytes right after creating it. */
const UNWRITTEN_TEMP_MS = 3_600_000;

/**
 * Removes the temp files of the marker and its claims left by processes that died between writing
 * one and linking it into place or removing it. Each temp names its writer (markerText), so one
 * whole and naming a running process (or this one) is in use and must stay: another process is
 * creating or taking over a marker with it, and a reader takes its pid for the marker's creator
 * (readMarker). One not written whole may be being written right now: it stays unless left long ago.
 */
async function removeDeadTemps(stateDir: string): Promise<void> {
  const names = (await readdir(stateDir)).filter((name) => TEMP.test(name));
  await Promise.all(names.map(async (name) => {
    const temp = join(stateDir, name);
    const text = await readRecord(temp);
    if (text === undefined) return;
    const dead = whole(text) ? parse(text).pid !== process.pid && runningOwner(text) === undefined : await leftLongAgo(temp);
    if (dead) await rm(temp, { force: true });
  }));
}

async function leftLongAgo(path: string): Promise<boolean> {
  const s = await stat(path).catch((err: unknown) => {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  });
  return s !== undefined && Date.now() - s.mtimeMs > UNWRITTEN_TEMP_MS;
}

/**
 * Replaces `path`, found holding `stale` (its process gone), with `text`: true when this process
 * won it, false when another did or `path` changed meanwhile. E_LAYING when a running process holds
 * the claim: it is taking the marker over.
 */
async function takeOver(stateDir: string, path: string, stale: string, text: string): Promise<boolean> {
  const claim = `${path}.claim-${createHash('sha256').update(stale).digest('hex').slice(0, 16)}`;
  const mine = markerText(false);
  if (!(await writeFileExclusive(claim, mine))) {
    const other = await readMarker(claim);
    if (other === undefined) return false;
    if (other.owner !== undefined) throw layingError(stateDir, other.owner);
    // Its taker died holding it: the claim is taken over the same way.
    if (!(await takeOver(stateDir, claim, other.text, mine))) return false;
  }
  try {
    const now = await readMarker(path);
    if (now?.text !== stale || now.owner !== undefined) return false;
    await writeFileAtomic(path, text);
    return true;
  } finally {
    await rm(claim, { force: true });
  }
}

/** E_LAYING while another process is laying onto the state dir: a sign-in must not start over it. */
export async function refuseWhileLaying(stateDir: string): Promise<void> {
  const other = await runningLay(stateDir);
  if (other !== undefined) throw layingError(stateDir, other);
}

/** Whether the marker names a lay that fsynced each file it laid (startLaying): none there, or an older one, says no. */
export async function layFsyncedEach(stateDir: string): Promise<boolean> {
  const text = await readRecord(layingPath(stateDir));
  return text !== undefined && parse(text).fsyncedEach === true;
}

export async function endLaying(stateDir: string): Promise<void> {
  await rm(layingPath(stateDir), { force: true });
}

/** True when the last lay was cut off: its marker is there (not an untouched hold), and no process is laying now. */
export async function lastLayCutOff(stateDir: string): Promise<boolean> {
  const marker = await readMarker(layingPath(stateDir));
  return marker !== undefined && marker.owner === undefined && !leftClean(marker.text);
}

/** The pid of a lay (or a sign-in's hold) running right now in another process, if any (a marker whose process is gone is a cut-off lay). */
export async function runningLay(stateDir: string): Promise<number | undefined> {
  return (await readMarker(layingPath(stateDir)))?.owner;
}
