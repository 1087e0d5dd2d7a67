// What a lay makes durable where a syncfs of home fails (no sync(1) with --file-system, the call
// missing or refused): seen from outside, the child lay (lay-child.ts) runs under strace, which
// names the file behind every fsync and every rename or link, with a sync(1) on its PATH that fails.
// A file goes in place by a rename, or where nothing was by a link (restore's newcomers): `placed`.
// Linux with strace only; elsewhere the suite skips. The same sync(1) in this process: a syncfs
// that works as the lay starts and fails at its end (a disk's error) fails the lay.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { access, mkdir, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it, type TestContext } from 'node:test';
import { parseOrgConfig, type FirstContactPolicy } from '../../shared/org-config.js';
import { writeTree } from '../cli/testkit.js';
import { isStrataError } from '../errors.js';
import { folderFiles, folderStateDir } from '../agent/index.js';
import { saveSettled } from '../agent/settled.js';
import { preloadUserLayer, writeProfile } from '../profile/index.js';
import { initRepository, openRepository } from '../repo/index.js';
import { FORMAT_VERSION } from '../repo/types.js';
import { DirStore } from '../store/dir.js';
import { sessionFolder } from './folder.js';
import { layHome } from './lay.js';
import { readSession, writeSession, type Session } from './session.js';
import { NEEDS_STRACE, traceSyncs } from '../testing/strace.js';
import { memoryBucket } from './testkit.js';

const CHILD = fileURLToPath(new URL('./lay-child.ts', import.meta.url));
const FIRST_START = fileURLToPath(new URL('./first-start-child.ts', import.meta.url));
const FILES = { Documents: { 'a.txt': 'alpha', 'c.txt': 'charlie', sub: { 'b.txt': 'bravo' } } };
const LAID = ['Documents/a.txt', 'Documents/c.txt', 'Documents/sub/b.txt'];

/** Whether a traced call put a file in place at `c[2]`: a rename, or a link where nothing was (restore/assembly.ts, Placing). */
const placed = (c: string[]): boolean => c[0] === 'rename' || c[0] === 'link';

/** A user layer holding FILES, and a signed-in machine with an empty home. */
async function machine(t: TestContext, name: string, policy: FirstContactPolicy = 'layer-wins', mode: 'vdi' | 'persistent' = 'persistent') {
  const { dir } = await memoryBucket(t, name);
  const storeDir = join(dir, 'bucket');
  await mkdir(storeDir);
  const store = new DirStore(storeDir);
  await initRepository(store, { packSize: 1 << 20 });
  await writeProfile(store, { version: 1, user: 'alice', displayName: '', layers: [], updated: new Date().toISOString() });
  await writeTree(join(dir, 'tpl'), FILES);
  await preloadUserLayer(await openRepository(store), 'alice', { from: join(dir, 'tpl') });
  const home = join(dir, 'home');
  await mkdir(home);
  const stateDir = join(dir, 'state');
  const org = parseOrgConfig({ version: 1, org: 'acme', store: { bucket: 'acme-strata' }, mode, policies: { firstContact: policy }, folders: ['Documents'] }, 'test');
  await writeSession(stateDir, { version: 1, source: 'test', org, user: 'alice', home, mode: org.mode, device: 'pc1', signedIn: new Date().toISOString() } satisfies Session);
  return { dir, store, storeDir, home, stateDir };
}

/** A folder holding a sync(1) that runs the real one `works` times, then fails as a disk's error would. */
async function failingSync(dir: string, works: number, why = 'Function not implemented'): Promise<string> {
  const bin = join(dir, 'bin');
  await mkdir(bin);
  const real = spawnSync('sh', ['-c', 'command -v sync'], { encoding: 'utf8' }).stdout.trim();
  const count = join(bin, 'runs');
  await writeFile(count, '');
  await writeFile(join(bin, 'sync'), `#!/bin/sh\necho x >> '${count}'\nif [ $(wc -l < '${count}') -le ${works} ]; then exec '${real}' "$@"; fi\necho "sync: error syncing '$2': ${why}" >&2\nexit 1\n`, { mode: 0o755 });
  return bin;
}

describe('sign-in lay where syncfs fails', { skip: NEEDS_STRACE }, () => {
  it('lays all the same: each file fsynced before its rename, each folder that changed after the renames, all before the session records laid', async (t) => {
    const m = await machine(t, 'lay-no-syncfs');
    const bin = await failingSync(m.dir, 0);
    const { calls } = await traceSyncs(m.dir, CHILD, [m.storeDir, m.stateDir], { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` });
    assert.ok((await readSession(m.stateDir)).laid?.user, 'the session records what was laid');
    const renames = calls.filter((c) => placed(c) && c[2]!.startsWith(m.home));
    assert.deepEqual(renames.map((c) => c[2]).sort(), LAID.map((p) => join(m.home, p)));
    for (const [, temp] of renames) {
      const synced = calls.findIndex((c) => c[0] === 'fsync' && c[1] === temp);
      assert.ok(synced >= 0 && synced < calls.findIndex((c) => placed(c) && c[1] === temp), `${temp} was not fsynced before its rename`);
    }
    const lastRename = calls.indexOf(renames.at(-1)!);
    const session = calls.findIndex((c) => c[0] === 'rename' && c[2] === join(m.stateDir, 'session.json'));
    for (const d of [m.home, join(m.home, 'Documents'), join(m.home, 'Documents/sub')]) {
      const synced = calls.findIndex((c, i) => i > lastRename && c[0] === 'fsync' && c[1] === d);
      assert.ok(synced >= 0 && synced < session, `${d} was not fsynced between the renames and the session's record`);
    }
    await assert.rejects(access(join(m.stateDir, 'laying')), /ENOENT/, 'the lay ended');
  });
});

/** The user layer's latest snapshot gains Documents/old, a folder holding only a whiteout of gone.txt (deleted on another machine). */
async function whiteoutInOwnFolder(store: DirStore): Promise<void> {
  const repo = await openRepository(store);
  const latest = await repo.latestSnapshot('user/alice');
  assert.ok(latest);
  const root = await repo.loadTree(latest.snapshot.root);
  const docs = root.entries[0];
  if (docs?.type !== 'dir') return assert.fail('no Documents in the layer');
  const old = await repo.saveTree({ entries: [{ name: 'gone.txt', type: 'whiteout' }] });
  const inner = [...(await repo.loadTree(docs.subtree)).entries, { name: 'old', type: 'dir' as const, mode: 0o755, mtimeMs: docs.mtimeMs, subtree: old }];
  const sub = await repo.saveTree({ entries: inner.sort((a, b) => (a.name < b.name ? -1 : 1)) });
  const top = await repo.saveTree({ entries: [{ ...docs, subtree: sub }] });
  await repo.flush();
  const id = await repo.saveSnapshot({ version: FORMAT_VERSION, layer: 'user/alice', device: 'other', time: new Date(Date.now() + 1000).toISOString(), root: top, parents: [latest.id] });
  await repo.writeHead('user/alice', 'other', id);
}

describe('sign-in first contact where syncfs fails', { skip: NEEDS_STRACE }, () => {
  it('makes each conflict copy durable, and each folder whose entries it changed, before the session records laid', async (t) => {
    const m = await machine(t, 'contact-no-syncfs', 'keep-both');
    await whiteoutInOwnFolder(m.store);
    // a.txt differs from the layer's; old/gone.txt, which a whiteout hides, is the user's own: both are moved aside.
    await writeTree(m.home, { Documents: { 'a.txt': 'my own alpha', old: { 'gone.txt': 'my own gone' } } });
    const bin = await failingSync(m.dir, 0);
    const { calls } = await traceSyncs(m.dir, CHILD, [m.storeDir, m.stateDir], { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` });
    const { laid } = await readSession(m.stateDir);
    assert.ok(laid?.user, 'the session records what was laid');
    const session = calls.findIndex((c) => c[0] === 'rename' && c[2] === join(m.stateDir, 'session.json'));
    const asides = calls.filter((c) => c[0] === 'rename' && (c[1] === join(m.home, 'Documents/a.txt') || c[1] === join(m.home, 'Documents/old/gone.txt')));
    assert.equal(asides.length, 2, JSON.stringify(calls));
    for (const [, from, copy] of asides) {
      const renamed = calls.findIndex((c) => c[0] === 'rename' && c[1] === from);
      const synced = calls.findIndex((c, i) => i > renamed && c[0] === 'fsync' && c[1] === copy);
      assert.ok(synced > 0 && synced < session, `the conflict copy ${copy} was not fsynced before the session's record`);
      const folder = join(copy!, '..');
      const folderSynced = calls.findIndex((c, i) => i > renamed && c[0] === 'fsync' && c[1] === folder);
      assert.ok(folderSynced > 0 && folderSynced < session, `${folder} was not fsynced between the move aside of ${from} and the session's record`);
    }
  });
});

describe('sign-in lay over a folder a sync pass had settled', { skip: NEEDS_STRACE }, () => {
  it("makes the settled record's removal durable before the session records laid: it names the disk as the lay found it", async (t) => {
    const m = await machine(t, 'lay-settled');
    const folderDir = folderStateDir(m.stateDir, sessionFolder(await readSession(m.stateDir), m.stateDir));
    const { settledFile } = folderFiles(folderDir);
    await mkdir(folderDir, { recursive: true });
    await saveSettled(settledFile, { own: '', heads: '', lower: '', sequence: 0, files: 0 });
    const { calls } = await traceSyncs(m.dir, CHILD, [m.storeDir, m.stateDir]);
    await assert.rejects(access(settledFile), /ENOENT/);
    const removed = calls.findIndex((c) => c[0] === 'unlink' && c[1] === settledFile);
    const session = calls.findIndex((c) => c[0] === 'rename' && c[2] === join(m.stateDir, 'session.json'));
    assert.ok(removed >= 0 && session > removed, JSON.stringify(calls));
    assert.ok(calls.slice(removed, session).some((c) => c[0] === 'fsync' && c[1] === folderDir), `${folderDir} was not fsynced between the settled record's removal and the session's record`);
  });
});

describe('sign-in lay where syncfs fails: metadata', { skip: NEEDS_STRACE }, () => {
  it("makes each folder's mode and mtime durable after setting them, and a local file's whose content was already right", async (t) => {
    const m = await machine(t, 'lay-meta-no-syncfs');
    // The layer's content, another mtime: the restore only fixes its metadata.
    await writeTree(m.home, { Documents: { 'a.txt': 'alpha' } });
    await utimes(join(m.home, 'Documents/a.txt'), 1e9, 1e9);
    const bin = await failingSync(m.dir, 0);
    const { calls } = await traceSyncs(m.dir, CHILD, [m.storeDir, m.stateDir], { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` });
    const session = calls.findIndex((c) => c[0] === 'rename' && c[2] === join(m.stateDir, 'session.json'));
    assert.ok(session >= 0, JSON.stringify(calls));
    for (const path of [join(m.home, 'Documents/a.txt'), join(m.home, 'Documents'), join(m.home, 'Documents/sub')]) {
      const timed = calls.reduce((last, c, i) => (i < session && c[0] === 'utime' && c[1] === path ? i : last), -1);
      assert.ok(timed >= 0, `${path}'s times were never set: ${JSON.stringify(calls)}`);
      assert.ok(calls.slice(timed, session).some((c) => c[0] === 'fsync' && c[1] === path), `${path} was not fsynced after its times were set, before the session's record`);
    }
  });
});

describe('sign-in lay on a VDI machine, first from its state dir', { skip: NEEDS_STRACE }, () => {
  it("makes the record of the machine's own files durable, the folders it made for it included, before the session records laid", async (t) => {
    const m = await machine(t, 'lay-vdi-base', 'layer-wins', 'vdi');
    const folderDir = folderStateDir(m.stateDir, sessionFolder(await readSession(m.stateDir), m.stateDir));
    const { baseFile } = folderFiles(folderDir);
    const { calls } = await traceSyncs(m.dir, CHILD, [m.storeDir, m.stateDir]);
    await access(baseFile);
    const written = calls.findIndex((c) => c[0] === 'rename' && c[2] === baseFile);
    const session = calls.findIndex((c) => c[0] === 'rename' && c[2] === join(m.stateDir, 'session.json'));
    assert.ok(written >= 0 && session > written, JSON.stringify(calls));
    assert.ok(calls.slice(written, session).some((c) => c[0] === 'fsync' && c[1] === folderDir), `${folderDir} was not fsynced between the record's write and the session's`);
    // The folders made for the record (the state dir itself is fsynced with the session): each one's entry in its parent.
    for (const d of [folderDir, join(folderDir, '..')]) {
      assert.ok(calls.slice(0, session).some((c) => c[0] === 'fsync' && c[1] === join(d, '..')), `${join(d, '..')} was not fsynced before the session's record: the new folder ${d} may be lost with the record in it`);
    }
  });
});

/** The user layer's latest snapshot without the entries `names` of Documents (deleted on another machine): its history holds them. */
async function dropFromDocuments(store: DirStore, names: readonly string[]): Promise<void> {
  const repo = await openRepository(store);
  const latest = await repo.latestSnapshot('user/alice');
  assert.ok(latest);
  const docs = (await repo.loadTree(latest.snapshot.root)).entries[0];
  if (docs?.type !== 'dir') return assert.fail('no Documents in the layer');
  const sub = await repo.saveTree({ entries: (await repo.loadTree(docs.subtree)).entries.filter((e) => !names.includes(e.name)) });
  const top = await repo.saveTree({ entries: [{ ...docs, subtree: sub }] });
  await repo.flush();
  const id = await repo.saveSnapshot({ version: FORMAT_VERSION, layer: 'user/alice', device: 'other', time: new Date(Date.now() + 1000).toISOString(), root: top, parents: [latest.id] });
  await repo.writeHead('user/alice', 'other', id);
}

describe('sign-in lay on a VDI machine where syncfs fails: what the history held', { skip: NEEDS_STRACE }, () => {
  it('makes the removal of a file and a folder the layer once held durable before the session records laid', async (t) => {
    const m = await machine(t, 'lay-vdi-held', 'layer-wins', 'vdi');
    await writeTree(join(m.dir, 'tpl2'), { Documents: { 'gone.txt': 'deleted on another machine', Old: { 'x.txt': 'x' } } });
    await preloadUserLayer(await openRepository(m.store), 'alice', { from: join(m.dir, 'tpl2') });
    await dropFromDocuments(m.store, ['gone.txt', 'Old']);
    // This machine still has both (an image's copies): the file with the bytes the history held, the folder emptied.
    await writeTree(m.home, { Documents: { 'gone.txt': 'deleted on another machine', Old: {} } });
    const bin = await failingSync(m.dir, 0);
    const { calls } = await traceSyncs(m.dir, CHILD, [m.storeDir, m.stateDir], { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` });
    const docs = join(m.home, 'Documents');
    await assert.rejects(access(join(docs, 'gone.txt')), /ENOENT/);
    await assert.rejects(access(join(docs, 'Old')), /ENOENT/);
    const session = calls.findIndex((c) => c[0] === 'rename' && c[2] === join(m.stateDir, 'session.json'));
    const removed = Math.max(calls.findIndex((c) => c[0] === 'unlink' && c[1] === join(docs, 'gone.txt')), calls.findIndex((c) => c[0] === 'rmdir' && c[1] === join(docs, 'Old')));
    assert.ok(calls.some((c) => c[0] === 'unlink' && c[1] === join(docs, 'gone.txt')) && calls.some((c) => c[0] === 'rmdir' && c[1] === join(docs, 'Old')), JSON.stringify(calls));
    assert.ok(session > removed, JSON.stringify(calls));
    assert.ok(calls.slice(removed, session).some((c) => c[0] === 'fsync' && c[1] === docs), `${docs} was not fsynced between the removals and the session's record`);
  });
});

describe('a first start in a state dir that is not there yet', { skip: NEEDS_STRACE }, () => {
  /** Each folder made under `under`, and whether an fsync of its parent came after it: a record made durable in a folder whose own entry is not is lost with it. */
  const unsynced = (calls: string[][], under: string): string[] =>
    calls.flatMap((c, i) => (c[0] === 'mkdir' && c[1]!.startsWith(under) && !calls.slice(i).some((s) => s[0] === 'fsync' && s[1] === dirname(c[1]!)) ? [c[1]!] : []));

  it('makes each folder it makes durable in its parent: the session, its folder\'s records and the agent\'s state', async (t) => {
    const m = await machine(t, 'first-start');
    await writeTree(m.home, { Documents: { 'mine.txt': 'mine' } });
    const stateDir = join(m.dir, 'new', 'state');
    const { calls, stdout } = await traceSyncs(m.dir, FIRST_START, [m.storeDir, stateDir, 'session', m.home]);
    assert.match(stdout, /^synced$/m);
    const made = calls.filter((c) => c[0] === 'mkdir' && c[1]!.startsWith(join(m.dir, 'new'))).map((c) => c[1]);
    assert.ok(made.includes(stateDir) && made.includes(join(stateDir, 'folders')), JSON.stringify(made));
    assert.deepEqual(unsynced(calls, join(m.dir, 'new')), [], JSON.stringify(calls));
  });

  it('makes the state dir the agent state opens first durable in its parent', async (t) => {
    const m = await machine(t, 'first-start-state');
    const stateDir = join(m.dir, 'new', 'state');
    const { calls } = await traceSyncs(m.dir, FIRST_START, [m.storeDir, stateDir, 'state']);
    assert.ok(calls.some((c) => c[0] === 'mkdir' && c[1] === stateDir), JSON.stringify(calls));
    assert.deepEqual(unsynced(calls, join(m.dir, 'new')), [], JSON.stringify(calls));
  });
});

describe('sign-in lay where syncfs works', { skip: NEEDS_STRACE }, () => {
  it("waits on no other writes of home's file system before its first file: the syncfs it tries as it starts is on /proc; one of home's comes after the last file, before the session records laid", async (t) => {
    const m = await machine(t, 'lay-syncfs');
    const { calls } = await traceSyncs(m.dir, CHILD, [m.storeDir, m.stateDir]);
    const firstFile = calls.findIndex((c) => placed(c) && c[2]!.startsWith(m.home));
    const lastFile = calls.length - 1 - [...calls].reverse().findIndex((c) => placed(c) && c[2]!.startsWith(m.home));
    const session = calls.findIndex((c) => c[0] === 'rename' && c[2] === join(m.stateDir, 'session.json'));
    assert.ok(firstFile >= 0 && session > lastFile, JSON.stringify(calls));
    const before = calls.slice(0, firstFile).filter((c) => c[0] === 'syncfs');
    assert.ok(before.length > 0 && before.every((c) => c[1]!.startsWith('/proc/')), `syncfs before the first file: ${JSON.stringify(before)}`);
    assert.ok(calls.slice(lastFile, session).some((c) => c[0] === 'syncfs' && c[1]!.startsWith(m.dir)), `no syncfs of home between the last file and the record: ${JSON.stringify(calls.slice(lastFile, session))}`);
  });
});

describe('sign-in lay where syncfs fails at its end', { skip: process.platform !== 'linux' && 'syncfs is Linux only' }, () => {
  it("fails (E_SYNC_FS) without recording laid, and its marker stays: the next lay reads every file", async (t) => {
    const m = await machine(t, 'lay-syncfs-eio');
    const bin = await failingSync(m.dir, 1, 'Input/output error');
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path ?? ''}`;
    t.after(() => {
      process.env.PATH = path;
    });
    await assert.rejects(layHome({ store: m.store, session: await readSession(m.stateDir), stateDir: m.stateDir }), (err) => isStrataError(err, 'E_SYNC_FS') && /Input\/output error/.test(err.message));
    assert.equal((await readSession(m.stateDir)).laid, undefined);
    await access(join(m.stateDir, 'laying'));
  });
});

/**
 * Runs `body` with a tmpfs mounted at `dir`, unmounted before the test's own clean-up (which a
 * mount point inside would stall), or returns why it cannot mount here: only root mounts.
 */
async function withTmpfs(dir: string, body: () => Promise<void>): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'mounting a file system needs root';
  const r = spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) return `mount failed: ${r.stderr.trim()}`;
  try {
    await body();
  } finally {
    spawnSync('umount', [dir]);
  }
  return undefined;
}

describe('sign-in lay into a folder of home mounted from another file system', { skip: NEEDS_STRACE }, () => {
  it('makes what it laid there durable too before the session records laid: a syncfs of home covers only its own file system', async (t) => {
    const m = await machine(t, 'lay-mounted');
    const sub = join(m.home, 'Documents/sub');
    await mkdir(sub, { recursive: true });
    const cannot = await withTmpfs(sub, async () => {
      const { calls } = await traceSyncs(m.dir, CHILD, [m.storeDir, m.stateDir]);
      const session = calls.findIndex((c) => c[0] === 'rename' && c[2] === join(m.stateDir, 'session.json'));
      const laid = calls.findIndex((c) => placed(c) && c[2] === join(sub, 'b.txt'));
      assert.ok(laid >= 0 && session > laid, JSON.stringify(calls));
      const covered = calls.slice(laid, session).some((c) => (c[0] === 'syncfs' && (c[1] === sub || c[1]!.startsWith(`${sub}/`))) || (c[0] === 'fsync' && c[1] === join(sub, 'b.txt')));
      assert.ok(covered, `${join(sub, 'b.txt')} was not made durable before the session's record: ${JSON.stringify(calls.slice(laid, session + 1))}`);
    });
    if (cannot !== undefined) t.skip(cannot);
  });
});
