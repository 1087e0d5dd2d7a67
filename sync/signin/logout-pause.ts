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
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentApi } from '../../shared/agent-api.js';
import { StrataError } from '../errors.js';
import { fsyncDir } from '../fsutil.js';
import { openAgentState } from '../state/index.js';
import { writeFileAtomic } from '../state/fsutil.js';
import { readRecord } from './session.js';

export const LOGOUT_PAUSED_FILE = 'logout-paused';

const pathOf = (stateDir: string): string => join(stateDir, LOGOUT_PAUSED_FILE);

/** Records that the agent (pid `pid`) is about to be paused by a sign-out. */
export async function recordLogoutPause(stateDir: string, pid: number): Promise<void> {
  await writeFileAtomic(pathOf(stateDir), JSON.stringify({ pausedBy: 'strata logout', pid }) + '\n');
}

/** Whether the agent's recorded pause is a sign-out's. */
export async function logoutPaused(stateDir: string): Promise<boolean> {
  return (await readRecord(pathOf(stateDir))) !== undefined;
}

export async function removeLogoutPause(stateDir: string): Promise<void> {
  await rm(pathOf(stateDir), { force: true });
  await fsyncDir(stateDir);
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
