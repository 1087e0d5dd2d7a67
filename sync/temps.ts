/**
 * Temp files and folders written beside their target before an atomic rename (the executor, a
 * restore, the settings mirror, the folder store): how they are named, and when one is a leftover
 * that whoever owns the folder may remove.
 *
 * What must hold: a temp another process may still be writing is never removed. Processes that
 * never coordinate write into the same folder (an agent applying remote files to the home while a
 * `strata restore` runs over it, the sign-in's and the agent's settings mirrors), so a temp's name
 * carries its writer's pid — TEMP_PREFIX, an optional `<kind>-`, the pid, `-`, the rest — and a
 * cleaner removes one only once that process is not running here (tempInUse). A name without a pid
 * was made by an older version of Strata: a leftover only once it has not changed for an hour.
 * Scanners and listings never show any of them, in use or not.
 *
 * A pid reused by a new process only spares a leftover longer; never is a temp in use taken. After
 * a reboot no process that wrote a temp before it runs: a temp unchanged since then is a leftover
 * whoever has its pid now (by a day's margin for a clock set right after the start).
 */
import { randomBytes } from 'node:crypto';
import { lstatSync, type Stats } from 'node:fs';
import { uptime } from 'node:os';
import { join } from 'node:path';

export const TEMP_PREFIX = '.strata-tmp-';

/** The longest name tempPathIn and TempNames make (what fitsHere counts): a pid has at most 10 digits. */
export const TEMP_NAME_BYTES = TEMP_PREFIX.length + 10 + 1 + 16;

/** A temp of a process that may still run on another machine sharing the folder is spared this long (a folder). */
const FOLDER_LEFTOVER_MS = 3600_000;
/** A temp folder whose name holds no pid. */
const FOLDER_UNNAMED_LEFTOVER_MS = 24 * 3600_000;
/** A temp file whose name holds no pid (an older version's). */
const UNNAMED_LEFTOVER_MS = 3600_000;
/** How far before the machine's start a change may be stamped by a clock set right since (changedSinceBoot). */
const BOOT_CLOCK_MARGIN_MS = 24 * 3600_000;

/** A fresh temp name of this process: TEMP_PREFIX, `<kind>-` if given, the pid, `-`, 16 random hex digits. */
export function tempName(kind?: string): string {
  return `${TEMP_PREFIX}${kind === undefined ? '' : `${kind}-`}${process.pid}-${randomBytes(8).toString('hex')}`;
}

/** A fresh temp file path in `dir` (tempName), for a write renamed into place. */
export function tempPathIn(dir: string): string {
  return join(dir, tempName());
}

/**
 * Temp names for the many writes of one run (a restore), cheaper to make than tempPathIn's and of
 * the same length however many are made: TEMP_PREFIX, the pid, `-` and 16 hex digits, a random
 * start counted up (modulo 2^64), so unique within the run and apart from other runs'.
 */
export class TempNames {
  private readonly start = randomBytes(8).readBigUInt64BE();
  private readonly prefix = `${TEMP_PREFIX}${process.pid}-`;

  /** `made`: how many names were made before (a test starts high). */
  constructor(private made = 0) {}

  in(dir: string): string {
    const n = BigInt.asUintN(64, this.start + BigInt(this.made++));
    return join(dir, `${this.prefix}${n.toString(16).padStart(16, '0')}`);
  }
}

/** The pid a temp's name carries (`<kind>-` skipped), or undefined (not a temp, or an older version's). */
export function tempPid(name: string): number | undefined {
  if (!name.startsWith(TEMP_PREFIX)) return undefined;
  const pid = /^(?:[a-z]+-)?(\d{1,10})-/.exec(name.slice(TEMP_PREFIX.length))?.[1];
  return pid === undefined ? undefined : Number(pid);
}

/**
 * Whether `pid` is a live process on this machine (another user's too): false when the OS says
 * there is none, or when no process can have it (a pid is a positive 32-bit int: kill(0) would
 * signal our own group, and a larger number is refused with a TypeError), as a corrupt or hostile
 * name or file may carry.
 */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid >= 2 ** 31) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** When this machine started (ms since the epoch, by the clock as it is now). */
export function bootTimeMs(): number {
  return Date.now() - uptime() * 1000;
}

/**
 * Whether a process running now on this machine may have the entry `st` as it wrote it: each
 * started after the machine did, so not one whose last change (ctime) is older. After a reboot a
 * dead writer's pid may be a daemon's that runs for months. By a day's margin: a machine that
 * starts with its clock behind and sets it right later stamps the changes it makes before that
 * with times before its start.
 */
export function changedSinceBoot(st: Stats, bootMs: number): boolean {
  return st.ctimeMs >= bootMs - BOOT_CLOCK_MARGIN_MS;
}

/**
 * Whether the temp `name` (an entry at `path`) may still be in use: never to be removed. A file is
 * in use while the process its name holds runs here; one without a pid, while younger than an hour
 * (its ctime: a writer may have set its mtime back before the rename). A folder (a restore
 * --beside's, filled for a long time, perhaps by another machine sharing the folder) is in use
 * until its process is gone here and nothing was added to its top for an hour; one without a pid,
 * for a day. Whatever its pid, one not changed since before the machine started (by a day) is not
 * in use (changedSinceBoot). One that cannot be looked at is left alone.
 */
export function tempInUse(path: string, name: string, now = Date.now(), bootMs = bootTimeMs()): boolean {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return true;
  }
  const pid = tempPid(name);
  if (st.isDirectory()) {
    if (now - st.mtimeMs < (pid === undefined ? FOLDER_UNNAMED_LEFTOVER_MS : FOLDER_LEFTOVER_MS)) return true;
    return pid !== undefined && changedSinceBoot(st, bootMs) && pidAlive(pid);
  }
  if (pid === undefined) return now - Math.max(st.mtimeMs, st.ctimeMs) < UNNAMED_LEFTOVER_MS;
  return changedSinceBoot(st, bootMs) && pidAlive(pid);
}
