// signOut on a real S3 server with the real keychain: it flushes through a running agent (or with
// a pass of its own), then forgets the credentials and the session; --wipe only in VDI mode.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Agent } from '../agent/index.js';
import { CONTROL_FILE, readControlFile, serveControl, type ControlInfo } from '../control/index.js';
import { deleteCredentials, loadCredentials, userPrincipal } from '../credentials/index.js';
import { isStrataError, StrataError } from '../errors.js';
import { openAgentState } from '../state/index.js';
import { FaultyStore } from '../store/faulty.js';
import { preloadUserLayer, publishOrgLayer, writeProfile } from '../profile/index.js';
import { writeTree } from '../cli/testkit.js';
import { layHome } from './lay.js';
import { sessionFolder } from './folder.js';
import { startSessionHost, type SessionHost } from './host.js';
import { openSessionStore, startSessionAgent } from './live.js';
import { logoutPaused } from './logout-pause.js';
import { signOut as signOutOf, stopBySignal, type SignOutOptions } from './logout.js';
import { deleteSession, readSession } from './session.js';
import { latestTree, makeMachine, makeTestOrg, signInAndLay, signInSkipReason, syncPass, type TestOrg } from './testkit.js';
import { signIn } from './login.js';
import { MemorySettings } from '../settings/testkit.js';

const skip = await signInSkipReason();
const CHILD = fileURLToPath(new URL('./logout-child.ts', import.meta.url));
/** How long a test waits for what may never come (a flush, a stop, a child's line): it fails then, saying what it waited for. */
const WAIT_MS = 60_000;

/** signOut with its flush and its stop bounded to WAIT_MS (E_FLUSH_TIMEOUT, E_AGENT_STOP), not their 10 minutes. */
const signOut = (opts: SignOutOptions) => signOutOf({ timeoutMs: WAIT_MS, ...opts });

async function preload(org: TestOrg, user: string): Promise<void> {
  const tpl = join(org.dir, 'tpl');
  await writeTree(tpl, { Documents: { 'plan.txt': 'plan v1' } });
  await preloadUserLayer(await org.admin(), user, { from: tpl });
}

/** Serves `agent`'s control endpoint; `stop` (run after the test too) closes both, once. */
async function served(t: TestContext, agent: { stop(): Promise<void> } & Parameters<typeof serveControl>[0], stateDir: string): Promise<{ stop: () => Promise<void>; stopped: () => boolean; closeEndpoint: () => Promise<void> }> {
  const control = await serveControl(agent, { stateDir });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await control.close();
    await agent.stop();
  };
  t.after(stop);
  return { stop, stopped: () => stopped, closeEndpoint: () => control.close() };
}

/**
 * An agent that serves `stateDir` but answers nothing (stopped, or too busy): control.json names
 * this live process and a port whose connections are taken and never answered. `gone` ends it as
 * an agent that exits does (its socket closed, its file removed).
 */
async function silentAgent(t: TestContext, stateDir: string): Promise<{ pid: number; token: string; serve: () => Promise<void>; gone: () => Promise<void> }> {
  const SILENT = 'silent-agent';
  const sockets = new Set<Socket>();
  const server = createServer((c) => void sockets.add(c));
  const gone = async (): Promise<void> => {
    for (const c of sockets) c.destroy();
    if (server.listening) await new Promise((r) => server.close(r));
    await rm(join(stateDir, CONTROL_FILE), { force: true });
  };
  t.after(gone);
  const serve = async (): Promise<void> => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    await writeFile(join(stateDir, CONTROL_FILE), JSON.stringify({ url: `http://127.0.0.1:${port}`, token: SILENT, pid: process.pid }) + '\n', { mode: 0o600 });
  };
  return { pid: process.pid, token: SILENT, serve, gone };
}

/**
 * A PC with `user` signed in over a preload and its agent serving the state dir, after its first
 * pass. No watcher and a long poll: only a flush's syncNow runs the pass that uploads an edit.
 */
async function pcWithAgent(t: TestContext, user: string) {
  const org = await makeTestOrg(t, { folders: ['Documents'] });
  await preload(org, user);
  const m = await makeMachine(org, 'pc');
  await signInAndLay(org, m, user);
  const session = await readSession(m.stateDir);
  const store = await openSessionStore(session);
  t.after(() => store.close());
  // The agent's own way to the bucket: failRate 1 takes it away from the agent alone.
  const faults = new FaultyStore(store.store, { seed: 1, failRate: 0 });
  const agent = await startSessionAgent({ stateDir: m.stateDir, session, openStore: () => faults, watch: false, pollMs: 3_600_000 });
  const { stop, stopped, closeEndpoint } = await served(t, agent, m.stateDir);
  await agent.passesDone(1);
  return { org, m, agent, faults, stop, stopped, closeEndpoint };
}

describe('signOut', { skip, timeout: 300_000 }, () => {
  it('takes the settings changed since the last pass into its flush, and --wipe removes their folder too', async (t) => {
    const org = await makeTestOrg(t, { mode: 'vdi', folders: ['Documents'], settings: { dconf: ['/org/test/'] } });
    const m = await makeMachine(org, 'vdi');
    const settings = new MemorySettings();
    settings.values.set('/org/test/theme', "'dark'");
    await signInAndLay(org, m, 'carol', { settingsStore: settings });
    // Set after the lay, with no agent running: only the sign-out's own run of the mirror sees it.
    settings.values.set('/org/test/font', "'Mono 10'");
    const r = await signOut({ stateDir: m.stateDir, settingsStore: settings, wipe: true });
    assert.equal(r.flushed, 'pass');
    const tree = await latestTree(await org.admin(), 'user/carol');
    assert.equal(tree.get('.strata/settings/dconf/org/test/font')?.type, 'file');
    assert.equal(tree.get('.strata/settings/dconf/org/test/theme')?.type, 'file');
    assert.ok(r.wiped.includes('.strata/settings'), `wiped: ${r.wiped.join(', ')}`);
  });

  it('asks a running agent for a pass, waits for it, stops it, then forgets the credentials', async (t) => {
    const { org, m, stop, stopped } = await pcWithAgent(t, 'bob');
    await writeFile(join(m.home, 'Documents/plan.txt'), 'plan v2, before signing out');
    const r = await signOut({ stateDir: m.stateDir, stopAgent: stop });
    assert.deepEqual([r.flushed, r.credentialsRemoved, r.wiped], ['agent', true, []]);
    assert.ok(stopped(), 'the agent was stopped');
    assert.equal((await openAgentState(m.stateDir)).get().paused, false, 'paused for the sign-out only: the next agent starts unpaused');
    const tree = await latestTree(await org.admin(), 'user/bob');
    const plan = tree.get('Documents/plan.txt');
    assert.equal(plan?.type === 'file' ? plan.size : -1, 'plan v2, before signing out'.length);
    await assert.rejects(loadCredentials(org.org, userPrincipal('bob')), (err) => isStrataError(err, 'E_NO_CREDENTIALS'));
    await assert.rejects(readSession(m.stateDir), (err) => isStrataError(err, 'E_NOT_SIGNED_IN'));
    assert.equal(await readFile(join(m.home, 'Documents/plan.txt'), 'utf8'), 'plan v2, before signing out', 'without --wipe the local copy stays');
  });

  it("uploads a file saved just before signing out, which the running agent's watcher had not reported yet", async (t) => {
    const org = await makeTestOrg(t, { mode: 'vdi', folders: ['Documents'] });
    await preload(org, 'fay');
    const m = await makeMachine(org, 'vdi');
    await signInAndLay(org, m, 'fay');
    const session = await readSession(m.stateDir);
    const store = await openSessionStore(session);
    t.after(() => store.close());
    // The watcher reports a path once it has been quiet a moment (300 ms and two samples by default):
    // an app writing its file as the session ends is still inside that moment. A long one here.
    const agent = await Agent.start({ stateDir: m.stateDir, folders: [sessionFolder(session, m.stateDir)], openStore: () => store.store, pollMs: 3_600_000, debounceMs: 60_000 });
    const { stop } = await served(t, agent, m.stateDir);
    await agent.passesDone(1);
    await writeFile(join(m.home, 'Documents/saved-at-exit.txt'), 'written as the session ended');
    const r = await signOut({ stateDir: m.stateDir, stopAgent: stop, wipe: true });
    assert.deepEqual(r.wiped, ['Documents']);
    const tree = await latestTree(await org.admin(), 'user/fay');
    assert.equal(tree.get('Documents/saved-at-exit.txt')?.type, 'file', 'the file reached the layer before the wipe');
  });

  it('finishes a sign-out cut off after it removed the credentials: the session goes, unsynced edits stay on disk', async (t) => {
    const org = await makeTestOrg(t, { mode: 'vdi', folders: ['Documents'] });
    await preload(org, 'gus');
    const m = await makeMachine(org, 'vdi');
    await signInAndLay(org, m, 'gus');
    await writeFile(join(m.home, 'Documents/plan.txt'), 'plan v2, never synced');
    // A logout cut off between its two deletes: the keychain entry is gone, the session is not.
    assert.equal(await deleteCredentials(org.org, userPrincipal('gus')), true);
    // --wipe would lose the edit the last flush cannot upload: refused, nothing changes.
    await assert.rejects(signOut({ stateDir: m.stateDir, wipe: true }), (err) => {
      assert.ok(isStrataError(err, 'E_NO_CREDENTIALS'), String(err));
      assert.match(err.message, /without --wipe/);
      return true;
    });
    assert.equal((await readSession(m.stateDir)).user, 'gus');
    const r = await signOut({ stateDir: m.stateDir });
    assert.deepEqual([r.flushed, r.unflushed, r.credentialsRemoved], ['none', 'no-credentials', false]);
    await assert.rejects(readSession(m.stateDir), (err) => isStrataError(err, 'E_NOT_SIGNED_IN'));
    assert.equal(await readFile(join(m.home, 'Documents/plan.txt'), 'utf8'), 'plan v2, never synced', 'the unsynced edit stays on disk');
    const plan = (await latestTree(await org.admin(), 'user/gus')).get('Documents/plan.txt');
    assert.equal(plan?.type === 'file' ? plan.size : -1, 'plan v1'.length, 'nothing was uploaded without credentials');
  });

  it('finishes a sign-out whose credentials went while the agent ran: the agent, which holds them, flushes', async (t) => {
    const { org, m, stop, stopped } = await pcWithAgent(t, 'hal');
    await writeFile(join(m.home, 'Documents/plan.txt'), 'plan v2, flushed by the agent');
    await deleteCredentials(org.org, userPrincipal('hal'));
    const r = await signOut({ stateDir: m.stateDir, stopAgent: stop });
    assert.deepEqual([r.flushed, r.unflushed, r.credentialsRemoved], ['agent', undefined, false]);
    assert.ok(stopped(), 'the agent was stopped');
    await assert.rejects(readSession(m.stateDir), (err) => isStrataError(err, 'E_NOT_SIGNED_IN'));
    const plan = (await latestTree(await org.admin(), 'user/hal')).get('Documents/plan.txt');
    assert.equal(plan?.type === 'file' ? plan.size : -1, 'plan v2, flushed by the agent'.length);
  });

  it('leaves a paused agent paused when its flush fails (the bucket unreachable): nothing is signed out', async (t) => {
    const { org, m, agent, faults, stop, stopped } = await pcWithAgent(t, 'ida');
    await agent.pause();
    await writeFile(join(m.home, 'Documents/plan.txt'), 'plan v2, not flushed');
    faults.failRate = 1;
    await assert.rejects(signOut({ stateDir: m.stateDir, stopAgent: stop }), (err) => isStrataError(err, 'E_FLUSH_FAILED'));
    assert.equal(stopped(), false, 'the agent runs on');
    assert.equal(agent.paused, true, 'paused again, as it was before the sign-out asked for a flush');
    assert.equal((await readSession(m.stateDir)).user, 'ida');
    assert.deepEqual(await loadCredentials(org.org, userPrincipal('ida')), org.creds);
  });

  it('says how to pause, by its state dir, a paused agent that its failed flush resumed and could not pause again', async (t) => {
    const { m, agent, faults, stop } = await pcWithAgent(t, 'ivy');
    await agent.pause();
    faults.failRate = 1;
    t.mock.method(agent, 'pause', () => Promise.reject(new Error('the state dir is read-only')));
    await assert.rejects(signOut({ stateDir: m.stateDir, stopAgent: stop }), (err) => {
      assert.ok(isStrataError(err, 'E_FLUSH_FAILED'), String(err));
      assert.ok(err.message.endsWith(`could not be paused again (the state dir is read-only): pause it (strata pause --state-dir ${m.stateDir})`), err.message);
      return true;
    });
  });

  it('leaves an agent that does not stop paused, as the user had it, past the point of no return; a rerun finishes', async (t) => {
    const { org, m, agent, stop, stopped, closeEndpoint } = await pcWithAgent(t, 'lee');
    await agent.pause();
    // Half stopped: its endpoint gone, the process still there.
    const stuck = async (): Promise<void> => {
      await closeEndpoint();
      throw new StrataError('E_AGENT_STOP', 'the agent (pid 1) did not stop within 600 s of SIGTERM', { path: m.stateDir });
    };
    await assert.rejects(signOut({ stateDir: m.stateDir, stopAgent: stuck }), (err) => {
      assert.ok(isStrataError(err, 'E_AGENT_STOP'), String(err));
      assert.match(err.message, /; signed out only in part: the credentials are gone from the keychain, the session is not, and the agent \(pid \d+\), paused, did not stop \(a rerun stops it first\): strata logout again removes the session, with no pass/);
      return true;
    });
    assert.equal(stopped(), false);
    assert.equal(agent.paused, true, 'paused, as the user had it');
    assert.equal((await openAgentState(m.stateDir)).get().paused, true, 'and so it starts again');
    await assert.rejects(loadCredentials(org.org, userPrincipal('lee')), (err) => isStrataError(err, 'E_NO_CREDENTIALS'));
    assert.equal((await readSession(m.stateDir)).user, 'lee');
    await stop();
    const r = await signOut({ stateDir: m.stateDir });
    assert.deepEqual([r.flushed, r.credentialsRemoved], ['none', false]);
    await assert.rejects(readSession(m.stateDir), (err) => isStrataError(err, 'E_NOT_SIGNED_IN'));
  });

  it('an agent the user had running, which logout paused and which did not stop: once signed out, the next agent does not start paused', async (t) => {
    const { m, stop, closeEndpoint } = await pcWithAgent(t, 'ned');
    const stuck = async (): Promise<void> => {
      await closeEndpoint();
      throw new StrataError('E_AGENT_STOP', 'the agent (pid 1) did not stop within 600 s of SIGTERM', { path: m.stateDir });
    };
    await assert.rejects(signOut({ stateDir: m.stateDir, stopAgent: stuck }), (err) => isStrataError(err, 'E_AGENT_STOP'));
    await stop();
    await signOut({ stateDir: m.stateDir });
    await assert.rejects(readSession(m.stateDir), (err) => isStrataError(err, 'E_NOT_SIGNED_IN'));
    assert.equal((await openAgentState(m.stateDir)).get().paused, false, 'paused only for the sign-out, not by the user');
  });

  it('an agent the user had running, paused by a logout whose stop failed and still answering: the rerun says so, resumes it for its flush, stops it and records it unpaused', async (t) => {
    const { m, agent, stop, stopped } = await pcWithAgent(t, 'nia');
    const stuck = async (): Promise<void> => {
      throw new StrataError('E_AGENT_STOP', 'the agent (pid 1) did not stop within 600 s of SIGTERM', { path: m.stateDir });
    };
    await assert.rejects(signOut({ stateDir: m.stateDir, stopAgent: stuck }), (err) => {
      assert.ok(isStrataError(err, 'E_AGENT_STOP'), String(err));
      assert.match(err.message, /the agent \(pid \d+\), paused for the sign-out only, did not stop \(a rerun stops it first, and records it unpaused, as the user had it\)/);
      return true;
    });
    assert.equal(agent.paused, true, 'paused by the sign-out');
    const r = await signOut({ stateDir: m.stateDir, stopAgent: stop });
    assert.deepEqual([r.flushed, r.credentialsRemoved], ['agent', false]);
    assert.ok(stopped());
    assert.equal((await openAgentState(m.stateDir)).get().paused, false, 'paused only for the sign-out, not by the user');
  });

  for (const [what, breakSession] of [
    ['the session cannot be read', () => 'not a session'],
    ['the bucket has no repository where the session says', (json: string) => {
      const session = JSON.parse(json) as { org: { store: { prefix: string } } };
      session.org.store.prefix += 'elsewhere/';
      return JSON.stringify(session);
    }],
  ] as const) {
    it(`resumes the agent the user had running and says nothing was signed out when, after its flush, ${what}`, async (t) => {
      const { org, m, agent, stopped } = await pcWithAgent(t, 'oz');
      // Changed while the agent flushes: what the sign-out reads after the flush.
      const file = join(m.stateDir, 'session.json');
      const syncNow = agent.syncNow.bind(agent);
      t.mock.method(agent, 'syncNow', (arg: Parameters<typeof agent.syncNow>[0]) => {
        writeFileSync(file, breakSession(readFileSync(file, 'utf8')));
        return syncNow(arg);
      });
      await assert.rejects(signOut({ stateDir: m.stateDir, stopAgent: async () => assert.fail('nothing was signed out: the agent must not be stopped') }), (err) => {
        assert.ok(err instanceof StrataError, String(err));
        assert.ok(err.message.endsWith('; nothing was signed out: strata logout again runs one more pass and signs out'), err.message);
        return true;
      });
      assert.equal(stopped(), false, 'the agent runs on');
      assert.equal(agent.paused, false, 'not paused: the user had it running');
      assert.deepEqual(await loadCredentials(org.org, userPrincipal('oz')), org.creds);
    });
  }

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

  it('refuses to delete the session under an agent that restarted while it signed out and does not answer (stopped, busy): E_AGENT_NOT_ANSWERING naming it; a rerun finishes once it is gone', async (t) => {
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
    await silent.gone();
    const r = await signOut({ stateDir: m.stateDir, stopAgent });
    assert.deepEqual([r.flushed, r.credentialsRemoved], ['none', false]);
    await assert.rejects(readSession(m.stateDir), (err) => isStrataError(err, 'E_NOT_SIGNED_IN'));
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

  it('keeps the agent running, unpaused as it was, when a step after its flush fails: nothing is signed out, and it syncs on', async (t) => {
    const { org, m, agent, stopped } = await pcWithAgent(t, 'joe');
    const keychainDown = async (): Promise<boolean> => {
      throw new StrataError('E_NO_KEYCHAIN', 'the keychain is locked');
    };
    const stopAgent = async (): Promise<void> => assert.fail('the agent must not be stopped: nothing was signed out');
    await assert.rejects(signOut({ stateDir: m.stateDir, stopAgent, deleteCredentials: keychainDown }), (err) => {
      assert.ok(isStrataError(err, 'E_NO_KEYCHAIN'), String(err));
      assert.equal(err.message, 'the keychain is locked; nothing was signed out: strata logout again runs one more pass and signs out');
      return true;
    });
    assert.equal(stopped(), false, 'the agent runs on');
    assert.equal(agent.paused, false, 'not paused: the user had it running');
    assert.equal((await readSession(m.stateDir)).user, 'joe');
    assert.deepEqual(await loadCredentials(org.org, userPrincipal('joe')), org.creds);
    await writeFile(join(m.home, 'Documents/plan.txt'), 'plan v3, after the failed sign-out');
    const pass = agent.passesDone(1);
    agent.syncNow();
    await pass;
    const plan = (await latestTree(await org.admin(), 'user/joe')).get('Documents/plan.txt');
    assert.equal(plan?.type === 'file' ? plan.size : -1, 'plan v3, after the failed sign-out'.length, 'the agent syncs on');
  });

  it('leaves a paused agent running and paused when the keychain fails after its flush: nothing signed out; a rerun signs out', async (t) => {
    const { org, m, agent, stop, stopped } = await pcWithAgent(t, 'max');
    await agent.pause();
    const keychainDown = async (): Promise<boolean> => {
      throw new StrataError('E_NO_KEYCHAIN', 'the keychain is locked');
    };
    await assert.rejects(signOut({ stateDir: m.stateDir, stopAgent: stop, deleteCredentials: keychainDown }), (err) => {
      assert.ok(isStrataError(err, 'E_NO_KEYCHAIN'), String(err));
      assert.equal(err.message, 'the keychain is locked; nothing was signed out: strata logout again runs one more pass and signs out');
      return true;
    });
    assert.equal(stopped(), false, 'the agent runs on');
    assert.equal(agent.paused, true, 'paused, as the user had it');
    assert.equal((await readSession(m.stateDir)).user, 'max');
    assert.deepEqual(await loadCredentials(org.org, userPrincipal('max')), org.creds);
    const r = await signOut({ stateDir: m.stateDir, stopAgent: stop });
    assert.deepEqual([r.flushed, r.credentialsRemoved], ['agent', true]);
    assert.ok(stopped());
    assert.equal((await openAgentState(m.stateDir)).get().paused, true, 'the next agent starts paused, as the user had it');
    await assert.rejects(readSession(m.stateDir), (err) => isStrataError(err, 'E_NOT_SIGNED_IN'));
  });

  it('says it signed out only in part when the session cannot be deleted; logout --wipe run again finishes, without credentials', async (t) => {
    const org = await makeTestOrg(t, { mode: 'vdi', folders: ['Documents'] });
    await preload(org, 'ned');
    const m = await makeMachine(org, 'vdi');
    await signInAndLay(org, m, 'ned');
    const diskDown = async (): Promise<boolean> => {
      throw new StrataError('E_IO', 'session.json could not be removed');
    };
    await assert.rejects(signOut({ stateDir: m.stateDir, wipe: true, deleteSession: diskDown }), (err) => {
      assert.ok(isStrataError(err, 'E_IO'), String(err));
      assert.match(err.message, /; signed out only in part: the credentials are gone from the keychain, the session is not: strata logout --wipe again removes it and wipes/);
      return true;
    });
    await assert.rejects(loadCredentials(org.org, userPrincipal('ned')), (err) => isStrataError(err, 'E_NO_CREDENTIALS'));
    assert.equal((await readSession(m.stateDir)).user, 'ned');
    const r = await signOut({ stateDir: m.stateDir, wipe: true });
    assert.deepEqual([r.flushed, r.credentialsRemoved, r.wiped, r.kept], ['none', false, ['Documents'], []]);
    await assert.rejects(readSession(m.stateDir), (err) => isStrataError(err, 'E_NOT_SIGNED_IN'));
    await assert.rejects(stat(join(m.home, 'Documents')), 'the wipe is done');
  });

  it('logout --wipe run again finishes a wipe that was killed half-way, once the session is gone', async (t) => {
    const org = await makeTestOrg(t, { mode: 'vdi', folders: ['Documents'] });
    await preload(org, 'kai');
    const m = await makeMachine(org, 'vdi');
    await signInAndLay(org, m, 'kai');
    await writeTree(join(m.home, 'Documents'), { 'a.txt': 'a', 'b.txt': 'b' });
    // Its mtime ahead of the pass's clock: the stat cache cannot vouch for it without a read, where the child stalls.
    const future = new Date(Date.now() + 3_600_000);
    await utimes(join(m.home, 'Documents/b.txt'), future, future);
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, m.stateDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => child.kill('SIGKILL'));
    let out = '';
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = once(child, 'exit');
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('wiping')) resolve();
      });
      void exited.then(() => reject(new Error(`the child ended before the wipe: ${out}`)));
      setTimeout(() => reject(new Error(`the child did not reach the wipe within ${WAIT_MS / 1000} s: ${out}`)), WAIT_MS).unref();
    });
    child.kill('SIGKILL');
    await exited;
    await assert.rejects(readSession(m.stateDir), (err) => isStrataError(err, 'E_NOT_SIGNED_IN'));
    assert.equal(await readFile(join(m.home, 'Documents/b.txt'), 'utf8'), 'b', 'the wipe was cut off before this file');

    const r = await signOut({ stateDir: m.stateDir, wipe: true });
    assert.deepEqual([r.user, r.wiped, r.kept], ['kai', ['Documents'], []]);
    await assert.rejects(stat(join(m.home, 'Documents')), 'the wipe is finished');
    await assert.rejects(signOut({ stateDir: m.stateDir, wipe: true }), (err) => isStrataError(err, 'E_NOT_SIGNED_IN'));
  });

  it('refuses --wipe outside VDI mode, before touching anything', async (t) => {
    const org = await makeTestOrg(t, { folders: ['Documents'] });
    await preload(org, 'carol');
    const m = await makeMachine(org, 'pc');
    await signInAndLay(org, m, 'carol');
    await assert.rejects(signOut({ stateDir: m.stateDir, wipe: true }), (err) => {
      assert.ok(isStrataError(err, 'E_USAGE'), String(err));
      assert.match(err.message, /only for VDI machines/);
      return true;
    });
    assert.deepEqual(await loadCredentials(org.org, userPrincipal('carol')), org.creds);
    assert.equal((await readSession(m.stateDir)).user, 'carol');
    assert.ok((await stat(join(m.home, 'Documents/plan.txt'))).isFile());
  });

  it('refuses to flush over a lay that was cut off: its files would be uploaded as the user\'s edits', async (t) => {
    const org = await makeTestOrg(t, { mode: 'vdi', folders: ['Documents'] });
    const admin = await org.admin();
    const publish = async (name: string, readme: string) => {
      await writeTree(join(org.dir, name), { Documents: { 'readme.txt': readme, 'big.bin': `${name} `.repeat(2000) } });
      await publishOrgLayer(admin, 'org/dept', { from: join(org.dir, name) });
    };
    await publish('v1', 'org readme v1');
    await writeProfile(org.store, { version: 1, user: 'erin', displayName: '', layers: ['org/dept'], updated: new Date().toISOString() });
    const m = await makeMachine(org, 'vdi');
    await signInAndLay(org, m, 'erin');
    // Org v2, and a second sign-in cut off after its "ready" half: readme.txt is v2's, big.bin still v1's.
    await publish('v2', 'org readme v2');
    const signedIn = await signIn({ org: org.configPath, user: 'erin', home: m.home, stateDir: m.stateDir, credentials: async () => org.creds });
    t.after(() => signedIn.org.close());
    const cut = new AbortController();
    const lay = layHome({ store: signedIn.org.store, session: signedIn.session, stateDir: m.stateDir, smallFileBytes: 1024, signal: cut.signal, onEvent: (e) => void (e.type === 'ready' && cut.abort()) });
    await assert.rejects(lay);
    assert.equal(await readFile(join(m.home, 'Documents/readme.txt'), 'utf8'), 'org readme v2');

    await assert.rejects(signOut({ stateDir: m.stateDir, wipe: true }), (err) => {
      assert.ok(isStrataError(err, 'E_NOT_LAID'), String(err));
      return true;
    });
    assert.equal((await latestTree(admin, 'user/erin')).has('Documents/readme.txt'), false, 'the half-laid org file is not copied up as an edit');
    assert.deepEqual(await loadCredentials(org.org, userPrincipal('erin')), org.creds, 'nothing was signed out');
    assert.ok((await stat(join(m.home, 'Documents/readme.txt'))).isFile(), 'nothing was wiped');
  });

  it('refuses while a lay runs in another process, and signs out once a lay has finished', async (t) => {
    const org = await makeTestOrg(t, { folders: ['Documents'] });
    await preload(org, 'dan');
    const m = await makeMachine(org, 'pc');
    await signInAndLay(org, m, 'dan');
    // Another process laying: its marker names a live pid.
    const other = spawn('sleep', ['120']);
    t.after(() => other.kill());
    await writeFile(join(m.stateDir, 'laying'), JSON.stringify({ pid: other.pid, started: new Date().toISOString() }));
    await assert.rejects(signOut({ stateDir: m.stateDir }), (err) => {
      assert.ok(isStrataError(err, 'E_LAYING'), String(err));
      assert.match(err.message, new RegExp(`process ${other.pid}`));
      return true;
    });
    assert.deepEqual(await loadCredentials(org.org, userPrincipal('dan')), org.creds);
    assert.equal((await readSession(m.stateDir)).user, 'dan');
    // The lay was cut off: its marker stays, and signing out waits for a lay that finishes.
    other.kill();
    await once(other, 'exit');
    await assert.rejects(signOut({ stateDir: m.stateDir }), (err) => isStrataError(err, 'E_NOT_LAID'));
    const store = await openSessionStore(await readSession(m.stateDir));
    try {
      await layHome({ store: store.store, session: await readSession(m.stateDir), stateDir: m.stateDir });
    } finally {
      store.close();
    }
    const r = await signOut({ stateDir: m.stateDir });
    assert.equal(r.credentialsRemoved, true);
    await assert.rejects(readSession(m.stateDir), (err) => isStrataError(err, 'E_NOT_SIGNED_IN'));
  });

  it('--wipe keeps what is not in the bucket: a file whose name no tree takes, and an excluded file; it removes what is', async (t) => {
    const org = await makeTestOrg(t, { mode: 'vdi', folders: ['Documents'], policies: { exclude: ['*.iso'] } });
    await preload(org, 'ivy');
    const m = await makeMachine(org, 'vdi');
    await signInAndLay(org, m, 'ivy');
    // Names the layer cannot hold (skipped by every pass, with a warning), and an excluded file.
    await writeFile(join(m.home, 'Documents/draft.'), 'a name ending with a dot');
    await writeFile(join(m.home, 'Documents/CON.txt'), 'a reserved name on Windows');
    await writeFile(join(m.home, 'Documents/disk.iso'), 'excluded by the org');
    await writeFile(join(m.home, 'Documents/notes.txt'), 'synced at sign-out');
    const r = await signOut({ stateDir: m.stateDir, wipe: true });
    const tree = await latestTree(await org.admin(), 'user/ivy');
    assert.equal(tree.get('Documents/notes.txt')?.type, 'file');
    assert.equal(tree.has('Documents/draft.') || tree.has('Documents/CON.txt') || tree.has('Documents/disk.iso'), false);
    assert.equal(await readFile(join(m.home, 'Documents/draft.'), 'utf8'), 'a name ending with a dot', 'never uploaded: not wiped');
    assert.equal(await readFile(join(m.home, 'Documents/CON.txt'), 'utf8'), 'a reserved name on Windows', 'never uploaded: not wiped');
    assert.equal(await readFile(join(m.home, 'Documents/disk.iso'), 'utf8'), 'excluded by the org', 'excluded: not wiped');
    await assert.rejects(stat(join(m.home, 'Documents/notes.txt')), 'what the bucket has is wiped');
    await assert.rejects(stat(join(m.home, 'Documents/plan.txt')), 'what the bucket has is wiped');
    assert.deepEqual(r.kept, ['Documents/CON.txt', 'Documents/disk.iso', 'Documents/draft.']);
  });

  it('--wipe after a flush that made a conflict copy: both versions are in the bucket before either is removed', async (t) => {
    const org = await makeTestOrg(t, { mode: 'vdi', folders: ['Documents'] });
    await preload(org, 'jon');
    const vdi = await makeMachine(org, 'vdi');
    await signInAndLay(org, vdi, 'jon');
    const other = await makeMachine(org, 'other');
    await signInAndLay(org, other, 'jon');
    await writeFile(join(other.home, 'Documents/plan.txt'), 'plan v2 from the other machine');
    assert.equal((await syncPass(other)).status, 'synced');
    await writeFile(join(vdi.home, 'Documents/plan.txt'), 'plan v2 from this session');
    const r = await signOut({ stateDir: vdi.stateDir, wipe: true });
    assert.deepEqual([r.wiped, r.kept], [['Documents'], []]);
    const tree = await latestTree(await org.admin(), 'user/jon');
    const sizes = [...tree].filter(([p, n]) => p.startsWith('Documents/plan') && n.type === 'file').map(([, n]) => (n.type === 'file' ? n.size : 0));
    assert.deepEqual(sizes.sort(), ['plan v2 from the other machine'.length, 'plan v2 from this session'.length].sort());
  });

  it('--wipe of a session never laid keeps the files it finds: none came from the bucket', async (t) => {
    const org = await makeTestOrg(t, { mode: 'vdi', folders: ['Documents'] });
    await preload(org, 'kim');
    const m = await makeMachine(org, 'vdi');
    await writeTree(m.home, { Documents: { 'mine.txt': 'here before the sign-in' } });
    const signedIn = await signIn({ org: org.configPath, user: 'kim', home: m.home, stateDir: m.stateDir, credentials: async () => org.creds });
    signedIn.org.close();
    const r = await signOut({ stateDir: m.stateDir, wipe: true });
    assert.deepEqual([r.flushed, r.wiped, r.kept], ['none', [], ['Documents/mine.txt']]);
    assert.equal(await readFile(join(m.home, 'Documents/mine.txt'), 'utf8'), 'here before the sign-in');
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
