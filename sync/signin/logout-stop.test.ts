// signOut's stop of the agents that serve the state dir at its end: one that restarted during the
// sign-out, one that started just before the session went, one that does not answer (refused),
// and the signal's own failures.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readControlFile, type ControlInfo } from '../control/index.js';
import { deleteCredentials } from '../credentials/index.js';
import { isStrataError } from '../errors.js';
import { deadPid } from '../testing/dead-pid.js';
import { openAgentState } from '../state/index.js';
import { startSessionHost, type SessionHost } from './host.js';
import { openSessionStore } from './live.js';
import { endCutOffPause, LOGOUT_PAUSED_FILE, logoutPaused, watchCutOffPause } from './logout-pause.js';
import { stopBySignal } from './logout.js';
import { pcWithAgent, signOut, silentAgent, skip } from './logout-testkit.js';
import { deleteSession, readSession } from './session.js';
import { latestTree } from './testkit.js';

describe('signOut', { skip, timeout: 300_000 }, () => {
  it('stops the agent that restarted while it signed out (a crash, a service manager) too: none runs paused over the session it deleted', async (t) => {
    const { org, m, stop } = await pcWithAgent(t, 'hal');
    await writeFile(join(m.home, 'Documents/plan.txt'), 'plan v2, before signing out');
    const session = await readSession(m.stateDir);
    let restarted: SessionHost | undefined;
    let restartedStopped = false;
    // Past the flush and the pause: the agent dies, and its service starts it again. Its sign-out
    // (this process) runs: it starts paused.
    const crashAndRestart: typeof deleteCredentials = async (...args) => {
      await stop();
      restarted = await startSessionHost({ stateDir: m.stateDir, session, org: await openSessionStore(session), orgCheckMs: 0, pollMs: 3_600_000 });
      t.after(() => (restartedStopped ? undefined : restarted?.stop()));
      assert.equal(restarted.agent.paused, true, 'it starts paused: its sign-out runs');
      return deleteCredentials(...args);
    };
    const stopAgent = async (info: ControlInfo): Promise<void> => {
      if (restarted === undefined || info.token !== restarted.control.token) return stop();
      restartedStopped = true;
      await restarted.stop();
    };
    const r = await signOut({ stateDir: m.stateDir, stopAgent, deleteCredentials: crashAndRestart });
    assert.equal(r.flushed, 'agent');
    assert.equal(restartedStopped, true, 'the agent serving the session at its end was stopped');
    await assert.rejects(readControlFile(m.stateDir), (err) => isStrataError(err, 'E_AGENT_NOT_RUNNING'), 'no agent serves the state dir');
    assert.equal((await openAgentState(m.stateDir)).get().paused, false, 'paused for the sign-out only: the next agent starts unpaused');
    assert.equal(await logoutPaused(m.stateDir), false);
    const plan = (await latestTree(await org.admin(), 'user/hal')).get('Documents/plan.txt');
    assert.equal(plan?.type === 'file' ? plan.size : -1, 'plan v2, before signing out'.length, 'the flush came first');
  });

  it('refuses to delete the session under an agent that restarted while it signed out and does not answer (stopped, busy): E_AGENT_NOT_ANSWERING naming it; past its point of no return, its pause holds once its process ends; a rerun finishes once that agent is gone, and records it unpaused', async (t) => {
    const { m, stop } = await pcWithAgent(t, 'ivo');
    // Past the flush and the pause: the agent dies, and one restarted in its place serves the state
    // dir but answers nothing (stopped: the kernel takes connections for its socket, never answered).
    const silent = await silentAgent(t, m.stateDir);
    const crashAndRestart: typeof deleteCredentials = async (...args) => {
      await stop();
      await silent.serve();
      return deleteCredentials(...args);
    };
    const stopAgent = async (info: ControlInfo): Promise<void> => {
      assert.notEqual(info.token, silent.token, 'an agent that does not answer is not signalled: its pid is not known to be an agent');
      await stop();
    };
    await assert.rejects(signOut({ stateDir: m.stateDir, stopAgent, deleteCredentials: crashAndRestart }), (err) => {
      assert.ok(isStrataError(err, 'E_AGENT_NOT_ANSWERING'), String(err));
      assert.match(err.message, new RegExp(`pid ${silent.pid}\\b.*does not answer.*signed out only in part: the credentials are gone from the keychain, the session is not.*strata logout again removes the session`));
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
    assert.equal((await readSession(m.stateDir)).user, 'ivo', 'the session stays while an agent may still sync it');
    // The sign-out's process ends (here: its record names a process gone). The agent, once it
    // answers, or one started again, must not sync on: the user signed out, the credentials are gone.
    const file = join(m.stateDir, LOGOUT_PAUSED_FILE);
    await writeFile(file, JSON.stringify({ ...(JSON.parse(await readFile(file, 'utf8')) as object), signOutPid: await deadPid() }) + '\n');
    assert.equal(await endCutOffPause(m.stateDir), false, 'held until logout runs again (or the user resumes)');
    const watch = watchCutOffPause(m.stateDir, { paused: () => true, resume: async () => assert.fail('the pause holds'), warn: () => undefined, everyMs: 0 });
    t.after(() => watch.stop());
    assert.equal(await watch.check(), false);
    assert.equal((await openAgentState(m.stateDir)).get().paused, true);
    await silent.gone();
    const r = await signOut({ stateDir: m.stateDir, stopAgent });
    assert.deepEqual([r.flushed, r.credentialsRemoved], ['none', false]);
    await assert.rejects(readSession(m.stateDir), (err) => isStrataError(err, 'E_NOT_SIGNED_IN'));
    assert.equal((await openAgentState(m.stateDir)).get().paused, false, 'paused for the sign-out only: the next agent starts unpaused');
    assert.equal(await logoutPaused(m.stateDir), false);
  });

  it('stops an agent that started just before it deleted the session, once it has', async (t) => {
    const { m, stop } = await pcWithAgent(t, 'ida');
    const session = await readSession(m.stateDir);
    let late: SessionHost | undefined;
    let lateStopped = false;
    // Started as the sign-out went, with the credentials read before they went: its sign-out had
    // already stopped the agent it held.
    const bucket = await openSessionStore(session);
    const startThenDelete: typeof deleteSession = async (stateDir) => {
      late = await startSessionHost({ stateDir, session, org: bucket, orgCheckMs: 0, pollMs: 3_600_000 });
      t.after(() => (lateStopped ? undefined : late?.stop()));
      return deleteSession(stateDir);
    };
    const stopAgent = async (info: ControlInfo): Promise<void> => {
      if (late === undefined || info.token !== late.control.token) return stop();
      lateStopped = true;
      await late.stop();
    };
    await signOut({ stateDir: m.stateDir, stopAgent, deleteSession: startThenDelete });
    assert.equal(lateStopped, true, 'the agent that served the deleted session was stopped');
    await assert.rejects(readControlFile(m.stateDir), (err) => isStrataError(err, 'E_AGENT_NOT_RUNNING'));
    assert.equal((await openAgentState(m.stateDir)).get().paused, false);
  });
});

it('an agent the sign-out may not signal (another user\'s: EPERM) fails the stop in one line; one already gone counts as stopped', async () => {
  // Neither reads the state dir: the stop fails, or ends, at the signal.
  const stateDir = '/nonexistent/strata-state';
  const info: ControlInfo = { pid: 4242, token: 't', url: 'http://127.0.0.1:1' };
  const refusing = (code: string) => (): never => {
    throw Object.assign(new Error(`kill ${code}`), { code });
  };
  await assert.rejects(stopBySignal(stateDir, info, 1_000, refusing('EPERM')), (err) => {
    assert.ok(isStrataError(err, 'E_AGENT_STOP'), String(err));
    assert.match(err.message, /pid 4242.*SIGTERM/);
    assert.doesNotMatch(err.message, /\n/);
    return true;
  });
  await stopBySignal(stateDir, info, 1_000, refusing('ESRCH'));
});
