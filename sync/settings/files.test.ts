// What a mirror run makes durable, and in which order, seen from outside: the child run
// (mirror-child.ts) runs under strace, which names the file behind every fsync and every rename.
// Linux with strace only; elsewhere the suite skips.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { describeError } from '../errors.js';
import { TEMP_PREFIX } from '../fsutil.js';
import { fillUp, NEEDS_MOUNT, withTmpfs } from '../testing/tmpfs.js';
import { SYNCFS_FROM, writeKeyFiles } from './files.js';
import { childValues, CHILD_DIRS } from './mirror-child.js';
import { SettingsMirror } from './mirror.js';
import { NEEDS_STRACE, traceSyncs } from '../testing/strace.js';
import { MemorySettings } from './testkit.js';

const CHILD = fileURLToPath(new URL('./mirror-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FOLDER = '.strata/settings/dconf';

async function home(t: { after: (fn: () => unknown) => void }) {
  const dir = await mkdtemp(join(tmpdir(), 'strata-mirror-files-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'home'));
  return { dir, root: join(dir, 'home'), stateFile: join(dir, 'state', 'settings.json') };
}

/** The child's syncs and renames, in order: [call, path, second path]. */
async function traceRun(h: { dir: string; root: string; stateFile: string }, count: number, env: NodeJS.ProcessEnv = process.env, store?: Map<string, string>): Promise<string[][]> {
  const args = [h.root, h.stateFile, `${count}`, ...(store === undefined ? [] : [JSON.stringify(Object.fromEntries(store))])];
  const { calls } = await traceSyncs(h.dir, CHILD, args, env);
  // Only what the run did in the test's folders (not tsx's cache, say).
  return calls.filter((c) => c[1]!.startsWith(h.dir));
}

describe('settings mirror: durability of its files', { skip: NEEDS_STRACE }, () => {
  it('a few files: each fsynced before its rename, each folder that changed fsynced once, after the renames and before the record of agreed values', async (t) => {
    const h = await home(t);
    const calls = await traceRun(h, 3);
    const mirror = join(h.root, FOLDER);
    const keyDirs = [...new Set([...childValues(3).keys()].map((k) => join(mirror, k.slice(0, k.lastIndexOf('/')))))];
    const renames = calls.filter((c) => c[0] === 'rename' && c[2]!.startsWith(mirror));
    assert.equal(renames.length, 3);
    for (const [, temp] of renames) {
      const synced = calls.findIndex((c) => c[0] === 'fsync' && c[1] === temp);
      assert.ok(synced >= 0 && synced < calls.findIndex((c) => c[0] === 'rename' && c[1] === temp), `${temp} was not fsynced before its rename`);
    }
    const lastRename = calls.indexOf(renames.at(-1)!);
    const record = calls.findIndex((c) => c[0] === 'rename' && c[2] === h.stateFile);
    assert.ok(record > lastRename, 'the record is written after the files');
    // Every folder that gained an entry, the folders made on the way to the keys' included.
    for (const d of [...keyDirs, join(mirror, 'org/app'), join(mirror, 'org'), mirror, join(h.root, '.strata/settings'), join(h.root, '.strata'), h.root]) {
      const syncs = calls.map((c, i) => (c[0] === 'fsync' && c[1] === d ? i : -1)).filter((i) => i >= 0);
      assert.equal(syncs.length, 1, `${d} fsynced ${syncs.length} times`);
      assert.ok(syncs[0]! > lastRename && syncs[0]! < record, `${d} fsynced out of order`);
    }
    assert.equal(calls.filter((c) => c[0] === 'syncfs').length, 0);
  });

  it(`many files (${SYNCFS_FROM} or more): no fsync per file, one syncfs before the renames and one after, then the record`, async (t) => {
    const h = await home(t);
    const count = SYNCFS_FROM * 3;
    const calls = await traceRun(h, count);
    const mirror = join(h.root, FOLDER);
    assert.deepEqual(calls.filter((c) => c[0] === 'fsync' && c[1]!.startsWith(mirror)), []);
    const syncfs = calls.map((c, i) => (c[0] === 'syncfs' ? i : -1)).filter((i) => i >= 0);
    assert.equal(syncfs.length, 2);
    const renames = calls.map((c, i) => (c[0] === 'rename' && c[2]!.startsWith(mirror) ? i : -1)).filter((i) => i >= 0);
    assert.equal(renames.length, count);
    assert.ok(renames.every((i) => i > syncfs[0]! && i < syncfs[1]!), 'every file is renamed between the two syncs');
    assert.ok(calls.findIndex((c) => c[0] === 'rename' && c[2] === h.stateFile) > syncfs[1]!, 'the record is written after the second sync');
  });

  it(`many files where syncfs fails (no such call, or no sync(1) that makes it): each file fsynced before its rename, each folder after, then the record`, async (t) => {
    const h = await home(t);
    const bin = join(h.dir, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'sync'), `#!/bin/sh\necho "sync: error syncing '$2': Function not implemented" >&2\nexit 1\n`, { mode: 0o755 });
    const count = SYNCFS_FROM * 2;
    const calls = await traceRun(h, count, { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` });
    const mirror = join(h.root, FOLDER);
    const renames = calls.filter((c) => c[0] === 'rename' && c[2]!.startsWith(mirror));
    assert.equal(renames.length, count);
    for (const [, temp] of renames) {
      const synced = calls.findIndex((c) => c[0] === 'fsync' && c[1] === temp);
      assert.ok(synced >= 0 && synced < calls.findIndex((c) => c[0] === 'rename' && c[1] === temp), `${temp} was not fsynced before its rename`);
    }
    const lastRename = calls.indexOf(renames.at(-1)!);
    const record = calls.findIndex((c) => c[0] === 'rename' && c[2] === h.stateFile);
    for (const d of [...new Set([...childValues(count).keys()].map((k) => join(mirror, k.slice(0, k.lastIndexOf('/'))))), mirror]) {
      const synced = calls.findIndex((c, i) => i > lastRename && c[0] === 'fsync' && c[1] === d);
      assert.ok(synced >= 0 && synced < record, `${d} was not fsynced between the renames and the record`);
    }
  });
  // A run killed after its renames, before its sync, leaves files in place that the disk may still
  // lose; so does another writer that does not fsync. The next run that finds such a file agreeing
  // with the store (or takes its value into the store) must make it durable before the record names
  // its value: after a power loss the file would hold the old value again, which the run after
  // would take for a change of the file's and write into the store over the user's setting.
  it('files whose values become agreed without the run writing them: each fsynced with its folders before the record; nothing changed: no sync at all', async (t) => {
    const h = await home(t);
    await traceRun(h, 3);
    const mirror = join(h.root, FOLDER);
    const store = childValues(3);
    // k0: file and store agree on a new value; k1: only the file changed; k2: both removed it.
    await writeFile(join(mirror, 'org/app/d0/k0'), "'new 0'\n");
    store.set('/org/app/d0/k0', "'new 0'");
    await writeFile(join(mirror, 'org/app/d1/k1'), "'new 1'\n");
    await rm(join(mirror, 'org/app/d2/k2'));
    store.delete('/org/app/d2/k2');
    const calls = await traceRun(h, 3, process.env, store);
    const record = calls.findIndex((c) => c[0] === 'rename' && c[2] === h.stateFile);
    assert.ok(record >= 0, 'the record is saved');
    const agreed = (JSON.parse(await readFile(h.stateFile, 'utf8')) as { agreed: Record<string, string> }).agreed;
    assert.deepEqual(agreed, { '/org/app/d0/k0': "'new 0'", '/org/app/d1/k1': "'new 1'" });
    const synced = (path: string) => calls.some((c, i) => i < record && ((c[0] === 'fsync' && c[1] === path) || c[0] === 'syncfs'));
    for (const f of ['org/app/d0/k0', 'org/app/d1/k1']) assert.ok(synced(join(mirror, f)), `${f} was not fsynced before the record`);
    for (const d of ['org/app/d0', 'org/app/d1', 'org/app/d2', 'org/app', 'org', '']) assert.ok(synced(join(mirror, d)), `${join(mirror, d)} was not fsynced before the record`);

    const again = await traceRun(h, 3, process.env, new Map([...store, ['/org/app/d1/k1', "'new 1'"]]));
    assert.deepEqual(again, [], 'a run with nothing to do syncs and saves nothing');
  });

  it(`many files (${SYNCFS_FROM} or more) whose values become agreed without the run writing them: one syncfs before the record, no fsync per file`, async (t) => {
    const h = await home(t);
    const count = SYNCFS_FROM * 2;
    await traceRun(h, count);
    const mirror = join(h.root, FOLDER);
    const store = new Map([...childValues(count)].map(([k, v]) => [k, v.replace('value', 'new')]));
    for (const [k, v] of store) await writeFile(join(mirror, k), `${v}\n`);
    const calls = await traceRun(h, count, process.env, store);
    const record = calls.findIndex((c) => c[0] === 'rename' && c[2] === h.stateFile);
    assert.ok(record >= 0, 'the record is saved');
    assert.deepEqual(calls.filter((c) => c[0] === 'fsync' && c[1]!.startsWith(mirror)), []);
    assert.equal(calls.slice(0, record).filter((c) => c[0] === 'syncfs').length, 1);

    // Where syncfs fails: each file fsynced, and its folder.
    const bin = join(h.dir, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'sync'), `#!/bin/sh\necho "sync: error syncing '$2': Function not implemented" >&2\nexit 1\n`, { mode: 0o755 });
    for (const [k, v] of store) store.set(k, v.replace('new', 'newer'));
    for (const [k, v] of store) await writeFile(join(mirror, k), `${v}\n`);
    const fallback = await traceRun(h, count, { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` }, store);
    const saved = fallback.findIndex((c) => c[0] === 'rename' && c[2] === h.stateFile);
    for (const path of [...[...store.keys()].map((k) => join(mirror, k)), ...[...new Set([...store.keys()].map((k) => join(mirror, k.slice(0, k.lastIndexOf('/')))))]]) {
      const synced = fallback.findIndex((c) => c[0] === 'fsync' && c[1] === path);
      assert.ok(synced >= 0 && synced < saved, `${path} was not fsynced before the record`);
    }
  });
});

describe('settings mirror: a run killed half-way', () => {
  it('the record never names a value its file does not hold, and the next run finishes the work, leaving no temp file', async (t) => {
    const h = await home(t);
    const count = 3000;
    const mirror = join(h.root, FOLDER);
    // Killed once its first files are in place: the renames have begun.
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, h.root, h.stateFile, `${count}`], { cwd: ROOT, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    let ended = false;
    void exited.then(() => (ended = true));
    while (!ended && !(await readdir(join(mirror, 'org/app/d6')).catch(() => [])).some((n) => n.startsWith('k'))) await new Promise((r) => setTimeout(r, 2));
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL', 'the run was killed before it ended');
    const record = await readFile(h.stateFile, 'utf8').then((s) => (JSON.parse(s) as { agreed: Record<string, string> }).agreed, () => ({}));
    for (const [key, value] of Object.entries(record)) assert.equal(await readFile(join(mirror, key), 'utf8'), `${value}\n`, `the record names ${key}`);

    const store = new MemorySettings();
    for (const [k, v] of childValues(count)) store.values.set(k, v);
    const r = await new SettingsMirror({ root: h.root, store, dirs: CHILD_DIRS, stateFile: h.stateFile, device: 'pc', policy: 'keep-both' }).sync();
    assert.deepEqual(r.conflicts, []);
    const agreed = (JSON.parse(await readFile(h.stateFile, 'utf8')) as { agreed: Record<string, string> }).agreed;
    assert.deepEqual(agreed, Object.fromEntries(store.values));
    for (const [key, value] of store.values) assert.equal(await readFile(join(mirror, key), 'utf8'), `${value}\n`);
    assert.deepEqual((await readdir(mirror)).filter((n) => n.startsWith(TEMP_PREFIX)), []);
  });
});

describe('settings mirror: runs in other processes on the same home', () => {
  // The sign-in, the agent and the sign-out each run a mirror: one's start must not take another's temps.
  it('a run leaves alone the temp files of a run in flight in another process', async (t) => {
    const h = await home(t);
    const count = 3000;
    const mirror = join(h.root, FOLDER);
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, h.root, h.stateFile, `${count}`], { cwd: ROOT, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    t.after(() => child.kill('SIGKILL'));
    // Stopped while it has temps written and none renamed yet.
    while (!(await readdir(mirror).catch(() => [])).some((n) => n.startsWith(TEMP_PREFIX))) await new Promise((r) => setTimeout(r, 2));
    child.kill('SIGSTOP');
    const temps = (await readdir(mirror)).filter((n) => n.startsWith(TEMP_PREFIX));
    assert.ok(temps.length > 0);
    const r = await writeKeyFiles(h.root, FOLDER, [{ key: '/org/app/other', rel: `${FOLDER}/org/app/other`, value: "'here'" }]);
    assert.deepEqual(r.failed, new Map());
    for (const name of temps) await access(join(mirror, name));
    child.kill('SIGCONT');
    assert.equal(await exited, 0, 'the other run finished');
    const agreed = (JSON.parse(await readFile(h.stateFile, 'utf8')) as { agreed: Record<string, string> }).agreed;
    assert.deepEqual(agreed, Object.fromEntries(childValues(count)));
  });
});

describe('settings key files on a full disk', { skip: NEEDS_MOUNT }, () => {
  it("a write fails with ENOSPC naming the key's file, and leaves no temp", async (t) => {
    const h = await home(t);
    await withTmpfs(h.root, '64k', async () => {
      await mkdir(join(h.root, FOLDER), { recursive: true });
      await fillUp(h.root);
      const rel = `${FOLDER}/org/app/big`;
      const err = await writeKeyFiles(h.root, FOLDER, [{ key: '/org/app/big', rel, value: `'${'x'.repeat(64 * 1024)}'` }]).catch((e: unknown) => e);
      assert.equal(describeError(err), `ENOSPC ${join(h.root, rel)}: no space left on device (write)`);
      assert.deepEqual(await readdir(join(h.root, FOLDER)), []);
    });
  });
});
