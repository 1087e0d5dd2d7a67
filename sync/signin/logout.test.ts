// signOut on a real S3 server with the real keychain: it flushes through a running agent (or with
// a pass of its own), then forgets the credentials and the session; --wipe only in VDI mode.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { serveControl } from '../control/index.js';
import { loadCredentials, userPrincipal } from '../credentials/index.js';
import { isStrataError } from '../errors.js';
import { preloadUserLayer } from '../profile/index.js';
import { writeTree } from '../cli/testkit.js';
import { openSessionStore, startSessionAgent } from './live.js';
import { signOut } from './logout.js';
import { readSession } from './session.js';
import { latestTree, makeMachine, makeTestOrg, signInAndLay, signInSkipReason, type TestOrg } from './testkit.js';

const skip = await signInSkipReason();

async function preload(org: TestOrg, user: string): Promise<void> {
  const tpl = join(org.dir, 'tpl');
  await writeTree(tpl, { Documents: { 'plan.txt': 'plan v1' } });
  await preloadUserLayer(await org.admin(), user, { from: tpl });
}

describe('signOut', { skip, timeout: 120_000 }, () => {
  it('asks a running agent for a pass, waits for it, stops it, then forgets the credentials', async (t) => {
    const org = await makeTestOrg(t, { folders: ['Documents'] });
    await preload(org, 'bob');
    const m = await makeMachine(org, 'pc');
    await signInAndLay(org, m, 'bob');
    const session = await readSession(m.stateDir);
    const store = await openSessionStore(session);
    t.after(() => store.close());
    // No watcher and a long poll: only the flush's syncNow can run the pass that uploads the edit.
    const agent = await startSessionAgent({ stateDir: m.stateDir, session, openStore: () => store.store, watch: false, pollMs: 3_600_000 });
    const control = await serveControl(agent, { stateDir: m.stateDir });
    let stopped = false;
    const stop = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      await control.close();
      await agent.stop();
    };
    t.after(stop);
    await agent.passesDone(1);
    await writeFile(join(m.home, 'Documents/plan.txt'), 'plan v2, before signing out');
    const r = await signOut({ stateDir: m.stateDir, stopAgent: stop });
    assert.deepEqual([r.flushed, r.credentialsRemoved, r.wiped], ['agent', true, []]);
    assert.ok(stopped, 'the agent was stopped');
    const tree = await latestTree(await org.admin(), 'user/bob');
    const plan = tree.get('Documents/plan.txt');
    assert.equal(plan?.type === 'file' ? plan.size : -1, 'plan v2, before signing out'.length);
    await assert.rejects(loadCredentials(org.org, userPrincipal('bob')), (err) => isStrataError(err, 'E_NO_CREDENTIALS'));
    await assert.rejects(readSession(m.stateDir), (err) => isStrataError(err, 'E_NOT_SIGNED_IN'));
    assert.equal(await readFile(join(m.home, 'Documents/plan.txt'), 'utf8'), 'plan v2, before signing out', 'without --wipe the local copy stays');
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

  it('refuses while a lay runs in another process, and signs out once that process is gone', async (t) => {
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
    // The lay was cut off: its marker stays, and signing out goes ahead.
    other.kill();
    await once(other, 'exit');
    const r = await signOut({ stateDir: m.stateDir });
    assert.equal(r.credentialsRemoved, true);
    await assert.rejects(readSession(m.stateDir), (err) => isStrataError(err, 'E_NOT_SIGNED_IN'));
  });
});
