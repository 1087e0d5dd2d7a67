// signIn against a real S3 server and a real keychain: credentials verified before they are
// stored, stored only in the keychain, and a session file without secrets.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { describe, it, type TestContext } from 'node:test';
import { ADMIN, loadCredentials, saveCredentials, userPrincipal } from '../credentials/index.js';
import { isStrataError, StrataError, type ErrorCode } from '../errors.js';
import { preloadUserLayer } from '../profile/index.js';
import { ForwardingStore } from '../store/forwarding.js';
import type { ByteRange, ObjectStore, PutBody } from '../store/index.js';
import { layHome } from './lay.js';
import { adminSignIn, signIn } from './login.js';
import { readSession, sessionPath } from './session.js';
import { readDeviceId } from '../state/index.js';
import { layingProcess, makeMachine, makeTestOrg, signInAndLay, signInSkipReason, type Machine, type TestOrg } from './testkit.js';
import { signOut } from './logout.js';

const skip = await signInSkipReason();

function rejectsWith(code: ErrorCode): (err: unknown) => boolean {
  return (err) => {
    assert.ok(isStrataError(err, code), String(err));
    return true;
  };
}

/** The bucket, refusing every read once `started`, and every write where `writes` says so. */
function failing(store: ObjectStore, started: () => boolean, writes = false): ObjectStore {
  const refuse = (key: string) => Promise.reject(new StrataError('E_PERMANENT', 'refused by the test', { key }));
  return new (class extends ForwardingStore {
    override get(key: string, range?: ByteRange): Promise<Uint8Array> {
      return started() ? refuse(key) : super.get(key, range);
    }

    override getStream(key: string, range?: ByteRange): Promise<Readable> {
      return started() ? refuse(key) : super.getStream(key, range);
    }

    override put(key: string, body: PutBody): Promise<void> {
      return writes ? refuse(key) : super.put(key, body);
    }
  })(store);
}

/**
 * signIn, then a lay that fails once it has started on home (the bucket refuses the pack reads),
 * or with `at: 'head'` once it has laid everything (the bucket refuses the device head's write);
 * then the caller's undo, as `strata login` runs it.
 */
async function failLay(org: TestOrg, m: Machine, user: string, at: 'packs' | 'head' = 'packs'): Promise<void> {
  const signedIn = await signIn({ org: org.configPath, user, home: m.home, stateDir: m.stateDir, credentials: async () => org.creds });
  let started = false;
  try {
    const store = at === 'packs' ? failing(signedIn.org.store, () => started) : failing(signedIn.org.store, () => false, true);
    const lay = layHome({ store, session: signedIn.session, stateDir: m.stateDir, onEvent: (e) => (started ||= e.type === 'layers') });
    await assert.rejects(lay, /refused by the test/);
    assert.ok(started);
    await signedIn.undo();
  } finally {
    signedIn.org.close();
  }
}

/** A folder holding a sync(1) that runs the real one `works` times, then fails: as where syncfs does not work, or the disk fails. */
async function failingSync(dir: string, why = 'Function not implemented', works = 0): Promise<string> {
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  const real = spawnSync('sh', ['-c', 'command -v sync'], { encoding: 'utf8' }).stdout.trim();
  const runs = join(bin, 'runs');
  await writeFile(runs, '');
  await writeFile(join(bin, 'sync'), `#!/bin/sh\necho x >> '${runs}'\nif [ $(wc -l < '${runs}') -le ${works} ]; then exec '${real}' "$@"; fi\necho "sync: error syncing '$2': ${why}" >&2\nexit 1\n`, { mode: 0o755 });
  return bin;
}

/** `bin` first on this process's PATH until the test ends. */
/** An org whose user alice has a preloaded layer: Documents/a.txt (5,000 bytes). */
async function preloadedOrg(t: TestContext): Promise<TestOrg> {
  const org = await makeTestOrg(t, { folders: ['Documents'] });
  const tpl = join(org.dir, 'tpl');
  await mkdir(join(tpl, 'Documents'), { recursive: true });
  await writeFile(join(tpl, 'Documents', 'a.txt'), 'a'.repeat(5000));
  await preloadUserLayer(await org.admin(), 'alice', { from: tpl });
  return org;
}

function withPath(t: TestContext, bin: string): void {
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path ?? ''}`;
  t.after(() => {
    process.env.PATH = path;
  });
}

describe('signIn', { skip }, () => {
  it('stores verified credentials in the keychain only, and a session without secrets', async (t) => {
    const org = await makeTestOrg(t, { mode: 'vdi', folders: ['Documents'] });
    const m = await makeMachine(org, 'pc');
    let asked = 0;
    const { session, org: store } = await signIn({ org: org.configPath, user: 'alice', home: m.home, stateDir: m.stateDir, credentials: async () => (asked++, org.creds) });
    store.close();
    assert.equal(asked, 1);
    assert.deepEqual(await loadCredentials(org.org, userPrincipal('alice')), org.creds);
    assert.deepEqual([session.user, session.home, session.mode, session.source, session.laid], ['alice', m.home, 'vdi', org.configPath, undefined]);
    assert.deepEqual(await readSession(m.stateDir), session);
    assert.equal((await stat(sessionPath(m.stateDir))).mode & 0o777, 0o600);
    for (const name of await readdir(m.stateDir, { recursive: true })) {
      const path = join(m.stateDir, name);
      if ((await stat(path)).isFile()) assert.ok(!(await readFile(path, 'utf8')).includes(org.creds.secretAccessKey), `${name} holds the secret`);
    }
  });

  it('refuses credentials the bucket refuses, and stores nothing', async (t) => {
    const org = await makeTestOrg(t);
    const m = await makeMachine(org, 'pc');
    const wrong = { accessKeyId: org.creds.accessKeyId, secretAccessKey: 'not-the-secret' };
    await assert.rejects(signIn({ org: org.configPath, user: 'alice', home: m.home, stateDir: m.stateDir, credentials: async () => wrong }), rejectsWith('E_CREDENTIALS_REFUSED'));
    await assert.rejects(loadCredentials(org.org, userPrincipal('alice')), rejectsWith('E_NO_CREDENTIALS'));
    await assert.rejects(readSession(m.stateDir), rejectsWith('E_NOT_SIGNED_IN'));
  });

  it('leaves no credentials behind when the session cannot be written, and gives an earlier session its own back', async (t) => {
    const org = await makeTestOrg(t);
    const m = await makeMachine(org, 'pc');
    await mkdir(sessionPath(m.stateDir), { recursive: true }); // a folder where the session file goes
    const attempt = () => signIn({ org: org.configPath, user: 'alice', home: m.home, stateDir: m.stateDir, credentials: async () => org.creds });
    await assert.rejects(attempt(), /EISDIR/);
    await assert.rejects(loadCredentials(org.org, userPrincipal('alice')), rejectsWith('E_NO_CREDENTIALS'));
    const earlier = { accessKeyId: 'EARLIER', secretAccessKey: 'earlier-secret' };
    await saveCredentials(org.org, userPrincipal('alice'), earlier);
    await assert.rejects(attempt(), /EISDIR/);
    assert.deepEqual(await loadCredentials(org.org, userPrincipal('alice')), earlier);
  });

  it('a lay that fails puts the state dir and the keychain back as they were before the sign-in (undo)', async (t) => {
    const org = await preloadedOrg(t);
    const tpl = join(org.dir, 'tpl');
    await writeFile(join(tpl, 'Documents', 'a.txt'), 'b'.repeat(5000));
    await preloadUserLayer(await org.admin(), 'bob', { from: tpl });
    const m = await makeMachine(org, 'pc');
    const failedLay = (user: string) => failLay(org, m, user);
    const files = async () => Object.fromEntries(await Promise.all((await readdir(m.stateDir, { recursive: true })).sort().map(async (n) => [n, await readFile(join(m.stateDir, n)).catch(() => 'dir')])));

    await failedLay('alice');
    await assert.rejects(stat(m.stateDir), /ENOENT/, 'a state dir the sign-in made goes');
    await assert.rejects(loadCredentials(org.org, userPrincipal('alice')), rejectsWith('E_NO_CREDENTIALS'));

    const signedIn = await signIn({ org: org.configPath, user: 'alice', home: m.home, stateDir: m.stateDir, credentials: async () => org.creds });
    await layHome({ store: signedIn.org.store, session: signedIn.session, stateDir: m.stateDir }).finally(() => signedIn.org.close());
    const earlier = { accessKeyId: 'EARLIER', secretAccessKey: 'earlier-secret' };
    await saveCredentials(org.org, userPrincipal('alice'), earlier);
    const before = await files();
    await rm(join(m.home, 'Documents'), { recursive: true });
    await failedLay('alice');
    assert.ok((await readdir(m.stateDir)).includes('laying'), 'the marker stays over a half-laid home: the agent lays again first');
    await rm(join(m.stateDir, 'laying'));
    assert.deepEqual(await files(), before, "the same user's failed sign-in keeps the earlier session");
    await assert.rejects(loadCredentials(org.org, userPrincipal('bob')), rejectsWith('E_NO_CREDENTIALS'));
    assert.deepEqual(await loadCredentials(org.org, userPrincipal('alice')), earlier);
  });

  it("a sign-in whose lay finds another sign-in laying (E_LAYING) undoes nothing of that other sign-in's", async (t) => {
    const org = await makeTestOrg(t, { folders: ['Documents'] });
    const tpl = join(org.dir, 'tpl');
    await mkdir(join(tpl, 'Documents'), { recursive: true });
    await writeFile(join(tpl, 'Documents', 'a.txt'), 'a');
    await preloadUserLayer(await org.admin(), 'alice', { from: tpl });
    const m = await makeMachine(org, 'pc');
    const signInAt = (time: string) => signIn({ org: org.configPath, user: 'alice', home: m.home, stateDir: m.stateDir, credentials: async () => org.creds, now: () => new Date(time) });
    // Two logins at almost the same moment: this one signs in first; the other then signs in too and starts laying (a live process holds the marker).
    const second = await signInAt('2024-01-01T00:00:00Z');
    t.after(() => second.org.close());
    const first = await signInAt('2024-01-01T00:00:01Z');
    first.org.close();
    const other = spawn('sleep', ['120']);
    t.after(() => other.kill());
    const marker = `${JSON.stringify({ pid: other.pid, started: new Date().toISOString() })}\n`;
    await writeFile(join(m.stateDir, 'laying'), marker);

    const failure = await layHome({ store: second.org.store, session: second.session, stateDir: m.stateDir }).then(
      () => assert.fail('the lay went ahead under another one'),
      (err: unknown) => err,
    );
    assert.ok(isStrataError(failure, 'E_LAYING'), String(failure));
    await second.undo();
    assert.deepEqual(await readSession(m.stateDir), first.session, "the other sign-in's session stays");
    assert.deepEqual(await loadCredentials(org.org, userPrincipal('alice')), org.creds, "the other sign-in's credentials stay");
    assert.equal(await readFile(join(m.stateDir, 'laying'), 'utf8'), marker, "the other lay's marker stays");
    // A login starting while the other lays is refused before it writes anything.
    let asked = 0;
    await assert.rejects(signIn({ org: org.configPath, user: 'bob', home: m.home, stateDir: m.stateDir, credentials: async () => (asked++, org.creds) }), rejectsWith('E_LAYING'));
    assert.equal(asked, 0, 'refused before the secrets are asked for');
    // The other lay may end before this undo runs: a lay refused for it still undoes nothing.
    other.kill();
    await once(other, 'exit');
    await second.undo(failure);
    assert.deepEqual(await readSession(m.stateDir), first.session);
    assert.deepEqual(await loadCredentials(org.org, userPrincipal('alice')), org.creds);
  });

  it('a lay another process starts while a sign-in writes its credentials and session is refused: the sign-in holds the state dir until its own lay', async (t) => {
    const org = await makeTestOrg(t, { folders: ['Documents'] });
    const m = await makeMachine(org, 'pc');
    const other = await layingProcess(t);
    const answered = `${m.stateDir}.answer`;
    // The device id is made after the last check for a running lay and before the writes: the other process starts its lay right there.
    const newDeviceId = (): string => {
      other.go(m.stateDir);
      const waited = new Int32Array(new SharedArrayBuffer(4));
      for (let i = 0; i < 3000 && !existsSync(answered); i++) Atomics.wait(waited, 0, 0, 10);
      return 'pc1';
    };
    const signedIn = await signIn({ org: org.configPath, user: 'alice', home: m.home, stateDir: m.stateDir, credentials: async () => org.creds, newDeviceId });
    t.after(() => signedIn.org.close());
    assert.equal(await readFile(answered, 'utf8'), 'E_LAYING', 'the other lay is refused');
    const marker = JSON.parse(await readFile(join(m.stateDir, 'laying'), 'utf8')) as { pid: number };
    assert.equal(marker.pid, process.pid, 'the sign-in holds the state dir');
    // Its lay takes the hold over as a clean start, and ends it.
    const laid = await layHome({ store: signedIn.org.store, session: signedIn.session, stateDir: m.stateDir });
    assert.ok(laid.session.laid);
    await assert.rejects(stat(join(m.stateDir, 'laying')), /ENOENT/);
  });

  it("refuses another user's sign-in over a session nobody signed out, before asking for anything: that user's changes and credentials would stay behind", async (t) => {
    const org = await makeTestOrg(t, { folders: ['Documents'] });
    const m = await makeMachine(org, 'pc');
    await signInAndLay(org, m, 'alice');
    const session = await readSession(m.stateDir);
    let asked = 0;
    await assert.rejects(signIn({ org: org.configPath, user: 'bob', home: m.home, stateDir: m.stateDir, credentials: async () => (asked++, org.creds) }), (err) => {
      assert.ok(isStrataError(err, 'E_SIGNED_IN'), String(err));
      assert.match(err.message, /alice .*strata logout/);
      return true;
    });
    assert.equal(asked, 0, 'refused before the secrets are asked for');
    assert.deepEqual(await readSession(m.stateDir), session);
    assert.deepEqual(await loadCredentials(org.org, userPrincipal('alice')), org.creds);
    await assert.rejects(loadCredentials(org.org, userPrincipal('bob')), rejectsWith('E_NO_CREDENTIALS'));
    // Signed out, the machine is bob's to sign in on; alice signing in again is fine all along.
    await signInAndLay(org, m, 'alice');
    await signOut({ stateDir: m.stateDir });
    await signInAndLay(org, m, 'bob');
    assert.equal((await readSession(m.stateDir)).user, 'bob');
  });

  it('a failed sign-in into a state dir that was there, empty, leaves it empty: no device id stays to refuse the next --device', async (t) => {
    const org = await preloadedOrg(t);
    const m = await makeMachine(org, 'pc');
    await mkdir(m.stateDir);
    await failLay(org, m, 'alice');
    assert.deepEqual(await readdir(m.stateDir), []);
    assert.equal(await readDeviceId(m.stateDir), undefined);
  });

  it('a failed sign-in where syncfs fails (no sync(1) with --file-system, the call missing) is undone all the same: its lay fsynced each file', async (t) => {
    const org = await preloadedOrg(t);
    const m = await makeMachine(org, 'pc');
    await mkdir(m.stateDir);
    withPath(t, await failingSync(org.dir));
    await failLay(org, m, 'alice');
    assert.deepEqual(await readdir(m.stateDir), [], 'the marker went with the rest');
  });

  it("a failed sign-in whose lay left the sync to its end, where that syncfs then fails (a disk's error), fails its undo and keeps the marker: the next lay reads every file", async (t) => {
    const org = await preloadedOrg(t);
    const m = await makeMachine(org, 'pc');
    await mkdir(m.stateDir);
    // The lay's syncfs as it starts works; the undo's fails.
    withPath(t, await failingSync(org.dir, 'Input/output error', 1));
    const signedIn = await signIn({ org: org.configPath, user: 'alice', home: m.home, stateDir: m.stateDir, credentials: async () => org.creds });
    let started = false;
    try {
      await assert.rejects(layHome({ store: failing(signedIn.org.store, () => started), session: signedIn.session, stateDir: m.stateDir, onEvent: (e) => (started ||= e.type === 'layers') }), /refused by the test/);
      await assert.rejects(signedIn.undo(), (err) => isStrataError(err, 'E_SYNC_FS') && /Input\/output error/.test(err.message));
    } finally {
      signedIn.org.close();
    }
    assert.ok((await readdir(m.stateDir)).includes('laying'));
  });

  it("a sign-in failing once it has laid home (the device head's write refused) leaves a signed-out state dir as it was, its last pass's record too", async (t) => {
    const org = await makeTestOrg(t, { mode: 'vdi', folders: ['Documents'] });
    const tpl = join(org.dir, 'tpl');
    await mkdir(join(tpl, 'Documents'), { recursive: true });
    await writeFile(join(tpl, 'Documents', 'a.txt'), 'a'.repeat(5000));
    await preloadUserLayer(await org.admin(), 'alice', { from: tpl });
    const m = await makeMachine(org, 'pc');
    await signInAndLay(org, m, 'alice');
    await writeFile(join(m.home, 'Documents', 'b.txt'), 'b');
    // Signing out runs a pass (it records what it left: settled.json) and marks the head final, which the next lay writes again.
    await signOut({ stateDir: m.stateDir });
    const files = async () => Object.fromEntries(await Promise.all((await readdir(m.stateDir, { recursive: true })).sort().map(async (n) => [n, await readFile(join(m.stateDir, n)).catch(() => 'dir')])));
    const before = await files();
    assert.ok(Object.keys(before).some((n) => n.endsWith('settled.json')), JSON.stringify(Object.keys(before)));
    await failLay(org, m, 'alice', 'head');
    assert.deepEqual(await files(), before);
    await assert.rejects(loadCredentials(org.org, userPrincipal('alice')), rejectsWith('E_NO_CREDENTIALS'));
  });

  it('a failed sign-in never removes a state dir path that was there: a symlink to a folder not made yet stays', async (t) => {
    const org = await makeTestOrg(t);
    const m = await makeMachine(org, 'pc');
    await symlink(join(org.dir, 'volume-not-mounted', 'state'), m.stateDir);
    await assert.rejects(signIn({ org: org.configPath, user: 'alice', home: m.home, stateDir: m.stateDir, credentials: async () => org.creds }));
    assert.ok((await lstat(m.stateDir)).isSymbolicLink(), 'the symlink is still there');
    await assert.rejects(loadCredentials(org.org, userPrincipal('alice')), rejectsWith('E_NO_CREDENTIALS'));
  });

  it('refuses a bad org config or user id before asking for credentials', async (t) => {
    const org = await makeTestOrg(t);
    const m = await makeMachine(org, 'pc');
    const bad = join(org.dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ ...org.config, folders: ['/etc'] }));
    const never = async () => assert.fail('credentials were asked for');
    await assert.rejects(signIn({ org: bad, user: 'alice', home: m.home, stateDir: m.stateDir, credentials: never }), (err) => {
      assert.ok(isStrataError(err, 'E_BAD_ORG_CONFIG'), String(err));
      assert.match(err.message, /bad\.json: folders\[0\]: "\/etc" must be relative to home/);
      return true;
    });
    await assert.rejects(signIn({ org: org.configPath, user: '../bob', home: m.home, stateDir: m.stateDir, credentials: never }), rejectsWith('E_BAD_USER'));
  });

  it('keeps the admin credentials apart from the users', async (t) => {
    const org = await makeTestOrg(t);
    const r = await adminSignIn({ org: org.configPath, credentials: async () => org.creds });
    assert.equal(r.org.org, org.org);
    assert.deepEqual(await loadCredentials(org.org, ADMIN), org.creds);
    await assert.rejects(loadCredentials(org.org, userPrincipal('admin')), rejectsWith('E_NO_CREDENTIALS'));
    const wrong = { accessKeyId: 'nobody', secretAccessKey: 'nothing' };
    const other = await makeTestOrg(t);
    await assert.rejects(adminSignIn({ org: other.configPath, credentials: async () => wrong }), rejectsWith('E_CREDENTIALS_REFUSED'));
    await assert.rejects(loadCredentials(other.org, ADMIN), rejectsWith('E_NO_CREDENTIALS'));
  });
});
