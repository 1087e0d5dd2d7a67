/**
 * The `logout-paused` record: `<stateDir>/logout-paused` says that the agent's recorded pause is a
 * sign-out's, not the user's. The agent keeps its pause in its state, which outlives it and says
 * nothing of who paused it; a sign-out pauses an agent the user had running for its last steps
 * (flush.ts flushAndHold), and one cut off then (the agent did not stop, the process was killed)
 * would otherwise leave every later agent, the next sign-in's too, starting paused.
 *
 * What must hold: the record is written whole and durably before a sign-out pauses an agent the
 * user had running, and removed only once that agent is unpaused again or stopped and recorded
 * unpaused; and removed then, by whoever resumes it (the sign-out, the user from the tray or with
 * `strata resume`: resumingDrops): a record left behind would speak for a pause the user makes
 * later. A sign-out that finds it takes the pause for a sign-out's: a running agent is resumed
 * before its flush, a stopped one is recorded unpaused once signed out.
 *
 * The record names the sign-out's process (`signOutPid`), so that an agent starting over it (a
 * restart, a reboot: endCutOffPause), or running paused under it (watchCutOffPause), can tell a
 * sign-out cut off from one still running: the first left a pause nobody holds, which must end, or
 * sync stays off until the user notices; the second may have marked the device head final already,
 * and the agent must not write after it. (One that writes after a final mark all the same, resumed
 * once its sign-out was cut off, makes its head non-final at its next pass's start: agent/folder.ts.)
 * Only until the sign-out's point of no return, though (`untilRerun`: holdLogoutPause): from the
 * credentials' delete on, a sign-out that fails or is cut off leaves its pause held, gone or not,
 * until `strata logout` runs again or the user resumes the agent.
 */
import type { Stats } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentApi } from '../../shared/agent-api.js';
import { asReported, StrataError } from '../errors.js';
import { fsyncDir, isErrno } from '../fsutil.js';
import { openAgentState } from '../state/index.js';
import { writeFileAtomic } from '../state/fsutil.js';
import { bootTimeMs, changedSinceBoot, pidAlive } from '../temps.js';
import { readRecord } from './session.js';

export const LOGOUT_PAUSED_FILE = 'logout-paused';

const pathOf = (stateDir: string): string => join(stateDir, LOGOUT_PAUSED_FILE);

/**
 * How long a record that names no sign-out (an older version's, which named the agent only) may
 * still be its running sign-out's: one holds its pause for minutes (the agent's stop gives up
 * after 10), so one unchanged for an hour was cut off, as temps.ts takes a temp that names no
 * writer. Kept paused for good instead, the pause of every such record would stay until the user
 * noticed.
 */
const UNNAMED_SIGN_OUT_MS = 3600_000;

/** Records that the agent (pid `agentPid`) is about to be paused by a sign-out: this process. */
export async function recordLogoutPause(stateDir: string, agentPid: number): Promise<void> {
  await writeFileAtomic(pathOf(stateDir), JSON.stringify({ pausedBy: 'strata logout', signOutPid: process.pid, agentPid }) + '\n');
}

/**
 * Records that this sign-out's pause of the agent (pid `agentPid`) holds until a rerun: it is about
 * to pass its point of no return (logout.ts: the credentials' delete). From there on the sign-out
 * is not undone, and one that fails or is cut off leaves a session the user asked to end: the
 * agent must not sync it on, whether or not this process still runs. Its pause ends when `strata
 * logout` runs again (it finishes the sign-out: one more flush through the agent, or the agent
 * recorded unpaused once stopped) or when the user resumes the agent (resumingDrops).
 */
export async function holdLogoutPause(stateDir: string, agentPid: number): Promise<void> {
  await writeFileAtomic(pathOf(stateDir), JSON.stringify({ pausedBy: 'strata logout', signOutPid: process.pid, agentPid, untilRerun: true }) + '\n');
}

/** Whether the agent's recorded pause is a sign-out's: anything at the record's path says so (readPause). */
export async function logoutPaused(stateDir: string): Promise<boolean> {
  return (await readPause(pathOf(stateDir))) !== undefined;
}

/** Removes the record: whatever is at its path (readPause: a folder too, which nothing else keeps there). */
export async function removeLogoutPause(stateDir: string): Promise<void> {
  await rm(pathOf(stateDir), { force: true, recursive: true });
  await fsyncDir(stateDir);
}

export interface EndCutOffOptions {
  /** The clock (default: now). */
  now?: number;
  /** When the machine started (default: temps.ts bootTimeMs). */
  bootMs?: number;
  /** Told, in one line, of a record that no sign-out wrote as it is (not JSON, a folder), which ends all the same. */
  warn?: (line: string) => void;
}

/**
 * At an agent's start, before it reads its pause: a pause whose sign-out is gone (cut off after it
 * paused the agent) ends, the agent recorded unpaused and the record removed; returns whether it
 * did. One whose sign-out may still run stays, as does the user's own (no record). A record no
 * sign-out wrote as it is (readPause: a sign-out writes it whole, a JSON object) speaks for none
 * still running: it ends too, and `warn` says so. One that cannot be read (EACCES: a sign-out
 * run as root may have written it) fails the start, saying what and where.
 */
export async function endCutOffPause(stateDir: string, opts: EndCutOffOptions = {}): Promise<boolean> {
  if ((await cutOffPause(stateDir, opts)) === undefined) return false;
  await unpauseStopped(stateDir);
  return true;
}

/**
 * The record whose sign-out no longer runs, if one is there (endCutOffPause; `warn` told of one no
 * sign-out wrote): what it is (`seen`: lookAt), for a resume that must know it is still there.
 */
async function cutOffPause(stateDir: string, opts: EndCutOffOptions): Promise<string | undefined> {
  const file = pathOf(stateDir);
  const look = await lookAt(file);
  // Gone since it was read, or never there: its sign-out ended the pause itself.
  if (look === undefined) return undefined;
  const { found, st, seen } = look;
  if ('notARecord' in found) {
    opts.warn?.(`${file} ${found.notARecord}, not a sign-out's record of its pause: no running sign-out wrote it, so the pause it stood for ends (sync resumes) and it is removed`);
  } else if (signOutMayRun(found.text, st, opts.now ?? Date.now(), opts.bootMs ?? bootTimeMs())) {
    return undefined;
  }
  return seen;
}

/**
 * What is at the record's path (readPause), its stat, and `seen`: the two as one string, which a
 * record written since differs in (a file of its own, written whole and renamed in: another inode
 * and ctime, and the text of a sign-out that runs). Undefined when nothing is there.
 */
async function lookAt(file: string): Promise<{ found: NonNullable<Awaited<ReturnType<typeof readPause>>>; st: Stats; seen: string } | undefined> {
  const found = await readPause(file);
  if (found === undefined) return undefined;
  const st = await stat(file).catch((err: unknown) => {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  });
  if (st === undefined) return undefined;
  return { found, st, seen: JSON.stringify(['text' in found ? found.text : found.notARecord, st.ino, st.ctimeMs]) };
}

/** Whether the record is still the one a look saw (`seen`: lookAt). */
async function stillThere(stateDir: string, seen: string): Promise<boolean> {
  return (await lookAt(pathOf(stateDir)))?.seen === seen;
}

/** How often a paused agent looks whether the sign-out that paused it still runs (watchCutOffPause). */
export const CUT_OFF_CHECK_MS = 30_000;

export interface CutOffWatchOptions {
  /** Whether the agent is paused now: only then is the record read. */
  paused: () => boolean;
  /**
   * Resumes the agent, and nothing else: the watch removes the record itself, if it is still the one
   * it found cut off. It must reach the agent's queue of pauses and resumes with no I/O first (a call
   * on the agent in this process): see resumeAndDrop.
   */
  resume: () => Promise<unknown>;
  /** Told, in one line, that the pause ended, or that it could not. */
  warn: (line: string) => void;
  /** How often to look (default CUT_OFF_CHECK_MS; 0: only when check() is called). */
  everyMs?: number;
}

export interface CutOffWatch {
  /** Looks now: true when it found the pause's sign-out gone and resumed the agent. */
  check(): Promise<boolean>;
  stop(): void;
}

/**
 * endCutOffPause for an agent that runs: a sign-out killed after it paused the agent leaves it
 * paused, and nothing else would end that pause until the agent restarts, the user resumes it or
 * signs out again. So while the agent is paused it looks, every `everyMs`, whether a record speaks
 * for the pause and its sign-out is gone; then it resumes the agent, saying so. Not paused, it does
 * nothing (no I/O); paused, one read of a small file (and a signal 0 to a pid) per look. A look
 * that fails (the record unreadable) is said and tried again at the next.
 */
export function watchCutOffPause(stateDir: string, opts: CutOffWatchOptions): CutOffWatch {
  let looking: Promise<boolean> | undefined;
  let stopped = false;
  const look = async (): Promise<boolean> => {
    if (stopped || !opts.paused()) return false;
    const seen = await cutOffPause(stateDir, { warn: opts.warn });
    // Looked at once more, the last I/O before the resume (resumeAndDrop).
    if (seen === undefined || !(await stillThere(stateDir, seen))) return false;
    // Stopped meanwhile (the host stops the watch first): the next start ends the pause instead.
    if (stopped) return false;
    await resumeAndDrop(stateDir, seen, opts.resume);
    opts.warn(`the sign-out that paused sync no longer runs (it was cut off after pausing the agent), so its pause ended: sync resumes (${pathOf(stateDir)} removed)`);
    return true;
  };
  const check = (): Promise<boolean> => {
    looking ??= look().finally(() => (looking = undefined));
    return looking;
  };
  const every = opts.everyMs ?? CUT_OFF_CHECK_MS;
  const timer = every > 0 ? setInterval(() => void check().catch((err: unknown) => opts.warn(`could not end the pause of a sign-out that no longer runs: ${err instanceof Error ? err.message : String(err)}`)), every).unref() : undefined;
  return {
    check,
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}

/**
 * Resumes the agent, then removes the record if it is still the one a look found cut off (`seen`),
 * called with no I/O since a look found it still there. A new sign-out may have started since: it
 * drops that record, flushes, records its own pause and only then pauses the agent. So, the record
 * still there, that sign-out's pause is yet to come, and this resume (`resume` queues it on the
 * agent at once) comes before it: the pause has the last word. A new sign-out's record stays with
 * its pause (unless it lands between the last look and the removal, microseconds: its pause then
 * stands, taken for the user's).
 */
async function resumeAndDrop(stateDir: string, seen: string, resume: () => Promise<unknown>): Promise<void> {
  await resume();
  if (await stillThere(stateDir, seen)) await removeLogoutPause(stateDir);
}

/**
 * What is at the record's path: its text; or, for what no sign-out writes (it writes a JSON object
 * whole, atomically), why it is none; undefined when nothing is there. One that cannot be read
 * fails in one line naming it: it may be a running sign-out's all the same.
 */
async function readPause(file: string): Promise<{ text: string } | { notARecord: string } | undefined> {
  let text: string | undefined;
  try {
    text = await readRecord(file);
  } catch (err) {
    if (isErrno(err, 'EISDIR')) return { notARecord: 'is a folder' };
    const reported = asReported(err);
    if (reported === undefined) throw err;
    throw new StrataError(reported.code, `cannot read the record that a sign-out paused the agent (${reported.message}): make it readable to this user, or remove it if no strata logout is running`, { path: file }, { cause: err });
  }
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return { text };
  } catch {
    return { notARecord: 'is not valid JSON' };
  }
  return { notARecord: 'is not a JSON object' };
}

/**
 * Whether the pause of the sign-out that wrote a record (`text`, its file `st`) may still be its
 * own: always, once it passed its point of no return (holdLogoutPause); else not after the machine
 * restarted since (the pid it names may be anyone's now); else while its process is alive (a pid
 * reused meanwhile keeps the pause: the safe side); one that names none, for an hour.
 */
function signOutMayRun(text: string, st: Stats, now: number, bootMs: number): boolean {
  const { signOutPid, untilRerun } = JSON.parse(text) as { signOutPid?: unknown; untilRerun?: unknown };
  // Past its point of no return: held whatever runs (holdLogoutPause).
  if (untilRerun === true) return true;
  if (!changedSinceBoot(st, bootMs)) return false;
  return typeof signOutPid === 'number' ? pidAlive(signOutPid) : now - st.ctimeMs < UNNAMED_SIGN_OUT_MS;
}

/** The agent, stopped, recorded unpaused (its pause was the sign-out's), then the record removed. */
export async function unpauseStopped(stateDir: string): Promise<void> {
  await (await openAgentState(stateDir)).update((d) => void (d.paused = false));
  await removeLogoutPause(stateDir);
}

/**
 * `api`, whose resume also removes the record: whoever resumes the agent ends the pause it spoke
 * for. A record that cannot be removed fails the resume (the agent runs all the same), saying so.
 */
export function resumingDrops(api: AgentApi, stateDir: string): AgentApi {
  return {
    call: async (command, arg) => {
      const result = await api.call(command, arg);
      if (command === 'resume') {
        await removeLogoutPause(stateDir).catch((err: unknown) => {
          const why = err instanceof Error ? err.message : String(err);
          throw new StrataError('E_IO', `sync resumed, but the record that a sign-out paused it could not be removed (${why}): remove it, or the next sign-out takes a pause of yours for its own`, { path: pathOf(stateDir) }, { cause: err });
        });
      }
      return result;
    },
    subscribe: (listener) => api.subscribe(listener),
  };
}
