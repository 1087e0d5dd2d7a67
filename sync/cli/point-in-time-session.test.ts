// Point in time for a signed-in user (issue #5 item 4): `strata log`, `ls` and `restore` with no
// --store read the session's bucket with the keychain's credentials, the layer user/<id>, and
// paths under home — and a restore in place while `strata agent` runs is synced as the user's
// edit. On Swift with the real keychain, the CLI and the agent in child processes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { preloadUserLayer, publishOrgLayer, writeProfile } from '../profile/index.js';
import { latestTree, makeMachine, makeTestOrg, signInAndLay, signInSkipReason, syncPass, type Machine, type TestOrg } from '../signin/testkit.js';
import { cleanEnv, describeRun, strata, writeTree } from './testkit.js';

const skip = await signInSkipReason();
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

interface SignedIn {
  org: TestOrg;
  m: Machine;
  /** The user layer's first snapshot (the preload): report.txt is V1 there. */
  first: string;
}

const V1 = 'report, first draft';
const V2 = 'report, second draft: longer';

/** ann signed in over org/dept (handbook.txt), her layer preloaded with report.txt V1, then V2 synced. */
async function signedIn(t: TestContext): Promise<SignedIn> {
  const org = await makeTestOrg(t, { folders: ['Documents'] });
  const admin = await org.admin();
  await writeTree(join(org.dir, 'dept'), { Documents: { 'handbook.txt': 'org handbook' } });
  await publishOrgLayer(admin, 'org/dept', { from: join(org.dir, 'dept') });
  await writeProfile(org.store, { version: 1, user: 'ann', displayName: '', layers: ['org/dept'], updated: new Date().toISOString() });
  await writeTree(join(org.dir, 'tpl'), { Documents: { 'report.txt': V1, notes: { 'a.txt': 'note a' } } });
  await preloadUserLayer(admin, 'ann', { from: join(org.dir, 'tpl') });
  const first = (await admin.latestSnapshot('user/ann'))?.id as string;
  const m = await makeMachine(org, 'pc');
  await signInAndLay(org, m, 'ann');
  await writeFile(join(m.home, 'Documents/report.txt'), V2);
  assert.equal((await syncPass(m)).status, 'synced');
  return { org, m, first };
}

describe('point in time, signed in: no --store, the session and the keychain', { skip, timeout: 180_000 }, () => {
  it('log, ls and restore --beside read user/<id> of the session, with paths under home', async (t) => {
    const { m, first } = await signedIn(t);
    const sd = ['--state-dir', m.stateDir];

    const log = await strata(['log', ...sd, '--json']);
    assert.equal(log.code, 0, describeRun(log));
    const listed = JSON.parse(log.stdout);
    assert.equal(listed.layer, 'user/ann');
    // The preload's, the sign-in's (this device's head, naming what it laid), the pass's.
    assert.equal(listed.snapshots.length, 3, log.stdout);
    assert.equal(listed.snapshots.at(-1).id, first);
    // Of those, the ones that changed report.txt: the preload's and the pass's (the sign-in laid it as it was).
    const changed = await strata(['log', '~/Documents/report.txt', ...sd, '--json']);
    assert.equal(changed.code, 0, describeRun(changed));
    assert.deepEqual(JSON.parse(changed.stdout).snapshots.map((s: { change: string; entry: { size: number } }) => [s.change, s.entry.size]), [['changed', V2.length], ['added', V1.length]]);

    const ls = await strata(['ls', ...sd, '--snapshot', first.slice(0, 12), join(m.home, 'Documents'), '--json']);
    assert.equal(ls.code, 0, describeRun(ls));
    assert.deepEqual(
      JSON.parse(ls.stdout).entries.map((e: { path: string }) => e.path),
      ['Documents', 'Documents/notes', 'Documents/notes/a.txt', 'Documents/report.txt'],
    );
    // Another layer, with the same credentials and paths.
    const org = await strata(['ls', ...sd, '--layer', 'org/dept', 'Documents', '--json']);
    assert.equal(org.code, 0, describeRun(org));
    assert.ok(JSON.parse(org.stdout).entries.some((e: { path: string }) => e.path === 'Documents/handbook.txt'));

    const beside = await strata(['restore', join(m.home, 'Documents/report.txt'), ...sd, '--snapshot', first.slice(0, 12), '--beside', '--json']);
    assert.equal(beside.code, 0, describeRun(beside));
    const out = JSON.parse(beside.stdout);
    assert.equal(out.layer, 'user/ann');
    assert.match(out.restoredAs, /^Documents\/report\.restored-\d{8}-\d{6}\.txt$/);
    assert.equal(await readFile(join(m.home, out.restoredAs), 'utf8'), V1);
    assert.equal(await readFile(join(m.home, 'Documents/report.txt'), 'utf8'), V2);
    assert.ok(!(await readdir(m.home)).some((n) => n.startsWith('.strata-tmp')), 'no temp dir left in home');

    // An org file the user never changed is not in the user layer: the error says where it is.
    const handbook = await strata(['restore', 'Documents/handbook.txt', ...sd, '--snapshot', first, '--beside']);
    assert.equal(handbook.code, 1, describeRun(handbook));
    assert.match(handbook.stderr, /E_NOT_IN_SNAPSHOT .*--layer org\/dept/);

    // Not while a sign-in lays home (another process, alive, holds the marker).
    const layer = spawn('sleep', ['120']);
    t.after(() => layer.kill());
    await writeFile(join(m.stateDir, 'laying'), JSON.stringify({ pid: layer.pid, started: new Date().toISOString() }));
    const laying = await strata(['restore', 'Documents/report.txt', ...sd, '--snapshot', first]);
    assert.equal(laying.code, 1, describeRun(laying));
    assert.match(laying.stderr, new RegExp(`E_LAYING .*process ${layer.pid}`));
    assert.equal(await readFile(join(m.home, 'Documents/report.txt'), 'utf8'), V2);
    await rm(join(m.stateDir, 'laying'));

    // A path outside home, home itself, and --path are usage errors, before the bucket is read.
    for (const args of [['/etc/passwd'], [m.home], ['Documents/report.txt', '--path', 'x']]) {
      const r = await strata(['restore', ...args, ...sd, '--snapshot', first]);
      assert.equal(r.code, 2, describeRun(r));
      assert.match(r.stderr, /E_USAGE/);
    }
  });

  it('a restore in place while strata agent runs is synced as the user\'s edit', async (t) => {
    const { org, m, first } = await signedIn(t);
    const agent = spawn(process.execPath, ['--import', 'tsx', MAIN, 'agent', '--state-dir', m.stateDir, '--poll', '3600'], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => agent.kill('SIGKILL'));
    let out = '';
    agent.stdout.on('data', (d: Buffer) => (out += d.toString()));
    agent.stderr.on('data', (d: Buffer) => (out += d.toString()));
    await waitUntil(() => /in sync at/.test(out), () => `the agent did not get in sync:\n${out}`);

    const r = await strata(['restore', '~/Documents', '--state-dir', m.stateDir, '--snapshot', first, '--json']);
    assert.equal(r.code, 0, describeRun(r));
    assert.deepEqual(JSON.parse(r.stdout).movedAside, [], 'V2 is in the latest snapshot: nothing to keep');
    assert.equal(await readFile(join(m.home, 'Documents/report.txt'), 'utf8'), V1);

    const admin = await org.admin();
    const size = async (): Promise<number> => {
      const n = (await latestTree(admin, 'user/ann')).get('Documents/report.txt');
      return n?.type === 'file' ? n.size : -1;
    };
    await waitUntil(async () => (await size()) === V1.length, () => `the agent did not upload the restored file:\n${out}`);
    assert.equal(await readFile(join(m.home, 'Documents/report.txt'), 'utf8'), V1, 'the agent kept the restored version');
    assert.deepEqual((await readdir(join(m.home, 'Documents'))).sort(), ['handbook.txt', 'notes', 'report.txt']);
  });
});

/** Polls `done` every 200 ms; gives up after two minutes. */
async function waitUntil(done: () => boolean | Promise<boolean>, why: () => string): Promise<void> {
  for (let i = 0; ; i++) {
    if (await done()) return;
    if (i > 600) assert.fail(why());
    await new Promise((r) => setTimeout(r, 200));
  }
}
