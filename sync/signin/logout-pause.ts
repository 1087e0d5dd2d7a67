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
 * restart, a reboot) can tell a sign-out cut off from one still running (endCutOffPause): the first
 * left a pause nobody holds, which must end, or sync stays off until the user notices; the second
 * may have marked the device head final already, and the agent must not write after it.
 */
import type { Stats } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentApi } from '../../shared/agent-api.js';
import { StrataError } from '../errors.js';
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

/** Whether the agent's recorded pause is a sign-out's. */
export async function logoutPaused(stateDir: string): Promise<boolean> {
  return (await readRecord(pathOf(stateDir))) !== undefined;
}

export async function removeLogoutPause(stateDir: string): Promise<void> {
  await rm(pathOf(stateDir), { force: true });
  await fsyncDir(stateDir);
}

/**
 * At an agent's start, before it reads its pause: a pause whose sign-out is gone (cut off after it
 * paused the agent) ends, the agent recorded unpaused and the record removed; returns whether it
 * did. One whose sign-out may still run stays, as does the user's own (no record). `now`, `bootMs`:
 * the clock and when the machine started (temps.ts bootTimeMs).
 */
export async function endCutOffPause(stateDir: string, now = Date.now(), bootMs = bootTimeMs()): Promise<boolean> {
  const file = pathOf(stateDir);
  const text = await readRecord(file);
  if (text === undefined) return false;
  const st = await stat(file).catch((err: unknown) => {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  });
  // Gone since it was read: its sign-out ended the pause itself.
  if (st === undefined || signOutMayRun(text, st, now, bootMs)) return false;
  await unpauseStopped(stateDir);
  return true;
}

/**
 * Whether the sign-out that wrote a record (`text`, its file `st`) may still be running: not after
 * the machine restarted since (the pid it names may be anyone's now); else while its process is
 * alive (a pid reused meanwhile keeps the pause: the safe side); one that names none, for an hour.
 */
function signOutMayRun(text: string, st: Stats, now: number, bootMs: number): boolean {
  if (!changedSinceBoot(st, bootMs)) return false;
  const pid = signOutPid(text);
  return pid === undefined ? now - st.ctimeMs < UNNAMED_SIGN_OUT_MS : pidAlive(pid);
}

/** The sign-out's pid a record names, if any (one that cannot be read names none). */
function signOutPid(text: string): number | undefined {
  try {
    const pid = (JSON.parse(text) as { signOutPid?: unknown } | null)?.signOutPid;
    return typeof pid === 'number' ? pid : undefined;
  } catch {
    return undefined;
  }
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
