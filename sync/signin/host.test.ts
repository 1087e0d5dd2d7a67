// startSessionHost's stop order: the control endpoint (its control.json) goes only after the agent
// has stopped, pass in flight included. A sign-out waits for that file to go and then runs its own
// last pass and marks the head final (logout.ts): an agent pass still running then could move the
// head back past it, leaving a file saved at exit out of every head.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { deadPid } from '../testing/dead-pid.js';
import { isStrataError, StrataError } from '../errors.js';
import { openAgentState } from '../state/index.js';
import { startSessionHost, type SessionHost } from './host.js';
import { openSessionStore } from './live.js';
import { LOGOUT_PAUSED_FILE, logoutPaused, recordLogoutPause } from './logout-pause.js';
import { signOut } from './logout.js';
import { deleteSession, readSession } from './session.js';
import { makeMachine, makeTestOrg, signInAndLay, signInSkipReason } from './testkit.js';

describe('startSessionHost', { skip: await signInSkipReason(), timeout: 120_000 }, () => {
  it('stops the agent before its control endpoint, whose file is there until the agent is done', async (t) => {
    const org = await makeTestOrg(t, { folders: ['Documents'] });
    const m = await makeMachine(org, 'pc');
    await signInAndLay(org, m, 'alice');
    const host = await startSessionHost({ stateDir: m.stateDir, session: await readSession(m.stateDir), org: await openSessionStore(await readSession(m.stateDir)), orgCheckMs: 0, pollMs: 3_600_000 });
    t.after(() => host.stop());
    const control = join(m.stateDir, 'control.json');
    await access(control);
    const agentStop = host.agent.stop.bind(host.agent);
    let fileWhileAgentStopped: boolean | undefined;
    host.agent.stop = async () => {
      await agentStop();
      fileWhileAgentStopped = await access(control).then(() => true, () => false);
    };
    await host.stop();
    assert.equal(fileWhileAgentStopped, true, 'control.json outlives the agent');
    await assert.rejects(access(control), { code: 'ENOENT' }, 'and goes with the endpoint');
  });

  it("drops a sign-out's record of its pause as it serves a resume: a pause the user makes later stays theirs through a failed sign-out", async (t) => {
    const org = await makeTestOrg(t, { folders: ['Documents'] });
    const m = await makeMachine(org, 'pc');
    await signInAndLay(org, m, 'bea');
    const host = await startSessionHost({ stateDir: m.stateDir, session: await readSession(m.stateDir), org: await openSessionStore(await readSession(m.stateDir)), orgCheckMs: 0, pollMs: 3_600_000 });
    t.after(() => host.stop());
    // A sign-out cut off after it paused the agent the user had running; the user resumes it from
    // the tray, and later pauses it.
    await recordLogoutPause(m.stateDir, process.pid);
    await host.api.call('pause', {});
    await host.api.call('resume', {});
    assert.equal(await logoutPaused(m.stateDir), false, 'the pause the record spoke for is over');
    await host.api.call('pause', {});
    const keychainDown = async (): Promise<boolean> => {
      throw new StrataError('E_NO_KEYCHAIN', 'the keychain is locked');
    };
    await assert.rejects(signOut({ stateDir: m.stateDir, timeoutMs: 60_000, deleteCredentials: keychainDown }), (err) => isStrataError(err, 'E_NO_KEYCHAIN'));
    assert.equal(host.agent.paused, true, "paused, as the user had it: the pause is the user's, not a sign-out's");
  });

  it("starts the agent running over a pause that a sign-out killed after pausing it left behind, and drops its record; a live sign-out's pause stays", async (t) => {
    const org = await makeTestOrg(t, { folders: ['Documents'] });
    const m = await makeMachine(org, 'pc');
    await signInAndLay(org, m, 'dee');
    const start = async (): Promise<SessionHost> => startSessionHost({ stateDir: m.stateDir, session: await readSession(m.stateDir), org: await openSessionStore(await readSession(m.stateDir)), orgCheckMs: 0, pollMs: 3_600_000 });
    // The sign-out (this process) paused the agent the user had running, then the agent restarted.
    await recordLogoutPause(m.stateDir, process.pid);
    await (await openAgentState(m.stateDir)).update((d) => void (d.paused = true));
    const during = await start();
    assert.equal(during.agent.paused, true, 'paused while its sign-out runs');
    assert.equal(await logoutPaused(m.stateDir), true);
    await during.stop();
    // The sign-out, killed: its record names a process gone.
    await writeFile(join(m.stateDir, LOGOUT_PAUSED_FILE), JSON.stringify({ pausedBy: 'strata logout', signOutPid: await deadPid(), agentPid: process.pid }) + '\n');
    const after = await start();
    t.after(() => after.stop());
    assert.equal(after.agent.paused, false, 'running, as the user had it');
    assert.equal(await logoutPaused(m.stateDir), false, 'the record went with the pause');
  });

  it('resumes a running agent that a sign-out paused and that was then killed, saying so: the pause ends without a restart', async (t) => {
    const org = await makeTestOrg(t, { folders: ['Documents'] });
    const m = await makeMachine(org, 'pc');
    await signInAndLay(org, m, 'fay');
    // The sign-out: a process that paused the agent the user had running, and runs on.
    const signOutProcess = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    t.after(() => signOutProcess.kill());
    await (await openAgentState(m.stateDir)).update((d) => void (d.paused = true));
    await writeFile(join(m.stateDir, LOGOUT_PAUSED_FILE), JSON.stringify({ pausedBy: 'strata logout', signOutPid: signOutProcess.pid, agentPid: process.pid }) + '\n');
    let said!: (line: string) => void;
    const resumed = new Promise<string>((resolve) => (said = resolve));
    const host = await startSessionHost({ stateDir: m.stateDir, session: await readSession(m.stateDir), org: await openSessionStore(await readSession(m.stateDir)), orgCheckMs: 0, pollMs: 3_600_000, pauseCheckMs: 20, onWarning: (line) => said(line) });
    t.after(() => host.stop());
    assert.equal(host.agent.paused, true, 'paused while its sign-out runs');
    signOutProcess.kill('SIGKILL');
    await once(signOutProcess, 'exit');
    assert.match(await resumed, /the sign-out that paused sync no longer runs .*sync resumes/);
    assert.equal(host.agent.paused, false, 'running, as the user had it');
    assert.equal(await logoutPaused(m.stateDir), false, 'the record went with the pause');
  });

  it('refuses to serve a session a sign-out deleted while it started, and leaves nothing running: the sign-out looked for agents before this one served', async (t) => {
    const org = await makeTestOrg(t, { folders: ['Documents'] });
    const m = await makeMachine(org, 'pc');
    await signInAndLay(org, m, 'eve');
    const session = await readSession(m.stateDir);
    const bucket = await openSessionStore(session);
    assert.equal(await deleteSession(m.stateDir), true);
    // One that did start is stopped again, so that the test ends either way.
    const started = startSessionHost({ stateDir: m.stateDir, session, org: bucket, orgCheckMs: 0, pollMs: 3_600_000 }).then(async (host) => host.stop());
    await assert.rejects(started, (err) => isStrataError(err, 'E_NOT_SIGNED_IN'));
    await assert.rejects(access(join(m.stateDir, 'control.json')), { code: 'ENOENT' }, 'the endpoint was closed');
  });

  it('stops everything though one stop fails, then says every failure in one error', async (t) => {
    const org = await makeTestOrg(t, { folders: ['Documents'] });
    const m = await makeMachine(org, 'pc');
    await signInAndLay(org, m, 'cid');
    const host = await startSessionHost({ stateDir: m.stateDir, session: await readSession(m.stateDir), org: await openSessionStore(await readSession(m.stateDir)), orgCheckMs: 0, pollMs: 3_600_000 });
    t.after(() => host.stop().catch(() => undefined));
    const agentStop = host.agent.stop.bind(host.agent);
    host.agent.stop = async () => {
      await agentStop();
      throw new Error('a folder could not be closed');
    };
    const controlClose = host.control.close.bind(host.control);
    host.control.close = async () => {
      await controlClose();
      throw new Error('the endpoint would not close');
    };
    await assert.rejects(host.stop(), (err) => {
      assert.ok(isStrataError(err, 'E_HOST_STOP'), String(err));
      assert.match(err.message, /the agent: a folder could not be closed; the control endpoint: the endpoint would not close/);
      return true;
    });
    await assert.rejects(access(join(m.stateDir, 'control.json')), { code: 'ENOENT' }, 'the endpoint was closed after the agent failed to stop');
  });
});
