// signOut and the agent it flushes through, when a step fails: before the point of no return (the
// credentials' delete) nothing is signed out and the agent is left as the user had it (running, or
// paused); after it, it says where the agent is, and a rerun finishes.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadCredentials, userPrincipal } from '../credentials/index.js';
import { isStrataError, StrataError } from '../errors.js';
import { openAgentState } from '../state/index.js';
import { pcWithAgent, signOut, skip } from './logout-testkit.js';
import { readSession } from './session.js';
import { latestTree } from './testkit.js';

describe('signOut', { skip, timeout: 300_000 }, () => {
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
});
