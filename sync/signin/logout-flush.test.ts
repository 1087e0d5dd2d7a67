// signOut's flush and --wipe on a real S3 server with the real keychain: it flushes through a
// running agent (or with a pass of its own), then forgets the credentials and the session; --wipe
// only in VDI mode, and only what the bucket has; no flush over a lay that runs or was cut off.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Agent } from '../agent/index.js';
import { deleteCredentials, loadCredentials, userPrincipal } from '../credentials/index.js';
import { isStrataError, StrataError } from '../errors.js';
import { openAgentState } from '../state/index.js';
import { publishOrgLayer, writeProfile } from '../profile/index.js';
import { writeTree } from '../cli/testkit.js';
import { layHome } from './lay.js';
import { sessionFolder } from './folder.js';
import { openSessionStore } from './live.js';
import { CHILD, pcWithAgent, preload, served, signOut, skip, WAIT_MS } from './logout-testkit.js';
import { readSession } from './session.js';
import { latestTree, makeMachine, makeTestOrg, signInAndLay, syncPass } from './testkit.js';
import { signIn } from './login.js';
import { MemorySettings } from '../settings/testkit.js';

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
