// Point in time (issue #5 item 4): list a layer's snapshots, restore one file or folder from any
// of them, in place or beside the current version.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { constants } from 'node:fs';
import { mkdtemp, open, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cleanEnv, describeRun, listFiles, strata, writeTree } from './testkit.js';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('strata restore --path: one file or folder from any snapshot', () => {
  let tmp: string;
  let work: string;
  let store: string;
  let first: string;
  const cli = (...args: string[]) => strata(['--store', store, '--device', 'laptop', ...args]);

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'strata-pit-'));
    work = join(tmp, 'work');
    store = pathToFileURL(join(tmp, 'store')).href;
    await writeTree(work, { 'report.txt': 'version 1', docs: { 'a.txt': 'a1', 'b.txt': 'b1' } });
    assert.equal((await cli('init')).code, 0);
    const r1 = await cli('snapshot', work, '--layer', 'user/alice', '--json');
    first = JSON.parse(r1.stdout).snapshot;
    await writeFile(join(work, 'report.txt'), 'version 2');
    await rm(join(work, 'docs', 'a.txt'));
    await writeFile(join(work, 'docs', 'c.txt'), 'added later');
    assert.equal((await cli('snapshot', work, '--layer', 'user/alice')).code, 0);
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  it('log lists both snapshots', async () => {
    const r = await cli('log', '--layer', 'user/alice', '--json');
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(JSON.parse(r.stdout).snapshots.length, 2);
  });

  it('--beside puts the old version next to the current one and changes nothing else', async () => {
    const r = await cli('restore', work, '--layer', 'user/alice', '--snapshot', first.slice(0, 12), '--path', 'report.txt', '--beside', '--json');
    assert.equal(r.code, 0, describeRun(r));
    const out = JSON.parse(r.stdout);
    assert.match(out.restoredAs, /^report\.restored-\d{8}-\d{6}\.txt$/);
    assert.equal(await readFile(join(work, out.restoredAs), 'utf8'), 'version 1');
    assert.equal(await readFile(join(work, 'report.txt'), 'utf8'), 'version 2');
    assert.ok(!(await readdir(work)).some((n) => n.startsWith('.strata-tmp')), 'no temp dir left');
    const again = JSON.parse((await cli('restore', work, '--layer', 'user/alice', '--snapshot', first, '--path', 'report.txt', '--beside', '--json')).stdout);
    assert.notEqual(again.restoredAs, out.restoredAs, 'a second restore never overwrites the first');
  });

  it('--beside removes the temp folder a killed --beside left (its process gone, an hour old), never a running one\'s', async () => {
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    const temp = (name: string) => join(work, `.strata-tmp-restore-${name}`);
    const [left, older, running, recent] = [temp(`${gone}-aaaaaa`), temp('bbbbbb'), temp(`${process.pid}-cccccc`), temp(`${gone}-dddddd`)];
    for (const d of [left, older, running, recent]) await writeTree(d, { docs: { 'a.txt': 'half' } });
    // `older`: made before the name held a process id, left a day ago.
    const dayAgo = new Date(Date.now() - 25 * 3600_000);
    for (const d of [left, older, running]) await utimes(d, dayAgo, dayAgo);
    const r = await cli('restore', work, '--layer', 'user/alice', '--snapshot', first, '--path', 'report.txt', '--beside', '--json');
    assert.equal(r.code, 0, describeRun(r));
    await rm(join(work, JSON.parse(r.stdout).restoredAs));
    const temps = (await readdir(work)).filter((n) => n.startsWith('.strata-tmp')).sort();
    assert.deepEqual(temps, [running, recent].map((d) => d.slice(work.length + 1)).sort());
    for (const d of temps) await rm(join(work, d), { recursive: true });
  });

  it("in place, and a whole snapshot, remove a killed --beside's temp folder above the path, never a running one's", async () => {
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    const temp = (name: string) => join(work, `.strata-tmp-restore-${name}`);
    const [left, running, recent] = [temp(`${gone}-aaaaaa`), temp(`${process.pid}-bbbbbb`), temp(`${gone}-cccccc`)];
    const dayAgo = new Date(Date.now() - 25 * 3600_000);
    for (const args of [['--path', 'docs/b.txt'], []]) {
      for (const d of [left, running, recent]) await writeTree(d, { docs: { 'a.txt': 'half' } });
      for (const d of [left, running]) await utimes(d, dayAgo, dayAgo);
      // An in-place restore's own temp file, left by a killed one: its process gone, it goes.
      await writeFile(join(work, `.strata-tmp-${gone}-0123456789abcdef`), 'half');
      const r = await cli('restore', work, '--layer', 'user/alice', ...args);
      assert.equal(r.code, 0, describeRun(r));
      const temps = (await readdir(work)).filter((n) => n.startsWith('.strata-tmp')).sort();
      assert.deepEqual(temps, [running, recent].map((d) => d.slice(work.length + 1)).sort(), `restore ${args.join(' ')}`);
      for (const d of temps) await rm(join(work, d), { recursive: true });
    }
  });

  it('--beside of a folder keeps its whole name, dots and all; a file keeps its extension last', async () => {
    const src = join(tmp, 'dotted');
    await writeTree(src, { 'my.photos': { 'a.jpg': 'photo' }, 'notes.v2.txt': 'notes' });
    const snap = JSON.parse((await cli('snapshot', src, '--layer', 'user/dotted', '--json')).stdout).snapshot;
    const folder = await cli('restore', src, '--layer', 'user/dotted', '--snapshot', snap, '--path', 'my.photos', '--beside', '--json');
    assert.equal(folder.code, 0, describeRun(folder));
    const dir = JSON.parse(folder.stdout).restoredAs;
    assert.match(dir, /^my\.photos\.restored-\d{8}-\d{6}$/);
    assert.equal(await readFile(join(src, dir, 'a.jpg'), 'utf8'), 'photo');
    const again = JSON.parse((await cli('restore', src, '--layer', 'user/dotted', '--snapshot', snap, '--path', 'my.photos', '--beside', '--json')).stdout).restoredAs;
    assert.equal(again, `${dir}-2`);
    const file = JSON.parse((await cli('restore', src, '--layer', 'user/dotted', '--snapshot', snap, '--path', 'notes.v2.txt', '--beside', '--json')).stdout).restoredAs;
    assert.match(file, /^notes\.v2\.restored-\d{8}-\d{6}\.txt$/);
  });

  it('--beside of a name near the longest a file system takes cuts the stem, as a conflict copy does, and keeps it', async () => {
    const src = join(tmp, 'long');
    const file = `${'f'.repeat(246)}.txt`;
    const folder = 'd'.repeat(250);
    await writeTree(src, { [file]: 'long file', [folder]: { 'x.txt': 'in a long folder' } });
    const snap = JSON.parse((await cli('snapshot', src, '--layer', 'user/long', '--json')).stdout).snapshot;
    for (const [name, inside] of [[file, ''], [folder, 'x.txt']] as const) {
      const names: string[] = [];
      for (let i = 0; i < 2; i++) {
        const r = await cli('restore', src, '--layer', 'user/long', '--snapshot', snap, '--path', name, '--beside', '--json');
        assert.equal(r.code, 0, describeRun(r));
        const placed = JSON.parse(r.stdout).restoredAs as string;
        assert.ok(Buffer.byteLength(placed) <= 255, placed);
        assert.match(placed, /\.restored-\d{8}-\d{6}(-2)?(\.txt)?$/);
        assert.equal(await readFile(join(src, placed, inside), 'utf8'), inside === '' ? 'long file' : 'in a long folder');
        names.push(placed);
      }
      assert.notEqual(names[0], names[1], 'a second restore never overwrites the first');
    }
    assert.deepEqual((await readdir(src)).filter((n) => n.startsWith('.strata-tmp')), []);
  });

  it('--beside never writes through a link or over a file that stands where a folder on the way was', async () => {
    const src = join(tmp, 'linked');
    const outside = join(tmp, 'outside');
    await writeTree(src, { docs: { 'a.txt': 'a1' } });
    const snap = JSON.parse((await cli('snapshot', src, '--layer', 'user/linked', '--json')).stdout).snapshot;
    await writeTree(outside, {});
    await rm(join(src, 'docs'), { recursive: true });
    await symlink(outside, join(src, 'docs'));
    const r = await cli('restore', src, '--layer', 'user/linked', '--snapshot', snap, '--path', 'docs/a.txt', '--beside');
    assert.equal(r.code, 1, describeRun(r));
    assert.match(r.stderr, /^strata: E_BAD_TARGET .*docs: /);
    assert.deepEqual(await readdir(outside), [], 'nothing is written through the link');
    assert.deepEqual((await readdir(src)).sort(), ['docs']);
    await rm(join(src, 'docs'));
    await writeFile(join(src, 'docs'), 'a file now');
    const file = await cli('restore', src, '--layer', 'user/linked', '--snapshot', snap, '--path', 'docs/a.txt', '--beside');
    assert.equal(file.code, 1, describeRun(file));
    assert.match(file.stderr, /^strata: E_BAD_TARGET .*docs: /);
    assert.deepEqual((await readdir(src)).sort(), ['docs']);
  });

  it('log --limit <n> lists the newest n, reading only those (an older damaged one is not read, so not named)', async () => {
    const src = join(tmp, 'limited');
    const ids: string[] = [];
    for (const v of ['one', 'two', 'three']) {
      await writeTree(src, { 'a.txt': v });
      ids.push(JSON.parse((await cli('snapshot', src, '--layer', 'user/limited', '--json')).stdout).snapshot);
    }
    const key = join(fileURLToPath(store), `layers/user/limited/snapshots/${ids[0]}`);
    await writeFile(key, '{"not": "a snapshot"}');
    // Written (the listing's date) in the order made, as a store gives them.
    for (const [i, id] of ids.entries()) await utimes(join(fileURLToPath(store), `layers/user/limited/snapshots/${id}`), 1_700_000_000 + i, 1_700_000_000 + i);
    const log = await cli('log', '--layer', 'user/limited', '--limit', '2', '--json');
    assert.equal(log.code, 0, describeRun(log));
    assert.deepEqual(JSON.parse(log.stdout).snapshots.map((s: { id: string }) => s.id), [ids[2], ids[1]]);
    assert.equal(log.stderr, '', 'the damaged one is older than the two asked for: not read');
    const one = await cli('log', '--layer', 'user/limited', '--limit', '1');
    assert.equal(one.code, 0, describeRun(one));
    assert.equal(one.stdout.trim().split('\n').length, 2, describeRun(one));
    for (const bad of ['0', '-1', 'x', '1.5']) assert.equal((await cli('log', '--layer', 'user/limited', '--limit', bad)).code, 2, bad);
  });

  it('a damaged snapshot: log lists the others and names it; a prefix of its id names it too, not "no snapshot"', async () => {
    const src = join(tmp, 'damaged');
    await writeTree(src, { 'a.txt': 'one' });
    const bad = JSON.parse((await cli('snapshot', src, '--layer', 'user/damaged', '--json')).stdout).snapshot;
    await writeFile(join(src, 'a.txt'), 'two');
    const good = JSON.parse((await cli('snapshot', src, '--layer', 'user/damaged', '--json')).stdout).snapshot;
    const key = `layers/user/damaged/snapshots/${bad}`;
    await writeFile(join(fileURLToPath(store), key), '{"not": "a snapshot"}');
    const log = await cli('log', '--layer', 'user/damaged', '--json');
    assert.equal(log.code, 0, describeRun(log));
    assert.deepEqual(JSON.parse(log.stdout).snapshots.map((s: { id: string }) => s.id), [good]);
    assert.match(log.stderr, new RegExp(`^strata: warning: E_[A-Z_]+ ${key}: [^\\n]+\\n$`));
    for (const cmd of [['ls'], ['restore', src, '--path', 'a.txt', '--beside']]) {
      const r = await cli(...cmd, '--layer', 'user/damaged', '--snapshot', bad.slice(0, 12));
      assert.equal(r.code, 1, describeRun(r));
      assert.match(r.stderr, new RegExp(`^strata: E_[A-Z_]+ ${key}: `));
    }
    const ok = await cli('ls', '--layer', 'user/damaged', '--snapshot', good.slice(0, 12), '--json');
    assert.equal(ok.code, 0, describeRun(ok));
  });

  it('in place restores a folder as it was, keeping what was added since', async () => {
    const r = await cli('restore', work, '--layer', 'user/alice', '--snapshot', first, '--path', 'docs');
    assert.equal(r.code, 0, describeRun(r));
    assert.deepEqual((await readdir(join(work, 'docs'))).sort(), ['a.txt', 'b.txt', 'c.txt']);
    assert.equal(await readFile(join(work, 'docs', 'a.txt'), 'utf8'), 'a1');
    assert.equal(await readFile(join(work, 'report.txt'), 'utf8'), 'version 2', 'outside --path nothing changes');
  });

  it('in place keeps a folder the user made where the snapshot has a file, as a conflict copy', async () => {
    await rm(join(work, 'docs', 'b.txt'));
    await writeTree(join(work, 'docs', 'b.txt'), { 'mine.txt': 'made after the snapshot' });
    const r = await cli('restore', work, '--layer', 'user/alice', '--snapshot', first, '--path', 'docs', '--json');
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(await readFile(join(work, 'docs', 'b.txt'), 'utf8'), 'b1');
    const copies = (await readdir(join(work, 'docs'))).filter((n) => n.startsWith('b.sync-conflict-'));
    assert.equal(copies.length, 1, 'the folder is moved aside');
    assert.match(copies[0] as string, /^b\.sync-conflict-\d{8}-\d{6}-laptop\.txt$/);
    assert.equal(await readFile(join(work, 'docs', copies[0] as string, 'mine.txt'), 'utf8'), 'made after the snapshot');
    assert.deepEqual(JSON.parse(r.stdout).movedAside, [{ path: 'docs/b.txt', copy: `docs/${copies[0]}` }]);
  });

  it('in place keeps a file the user made where the snapshot has a folder, as a conflict copy', async () => {
    await rm(join(work, 'docs'), { recursive: true });
    await writeFile(join(work, 'docs'), 'a file now');
    const r = await cli('restore', work, '--layer', 'user/alice', '--snapshot', first, '--path', 'docs/a.txt');
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(await readFile(join(work, 'docs', 'a.txt'), 'utf8'), 'a1');
    const copies = (await readdir(work)).filter((n) => n.startsWith('docs.sync-conflict-'));
    assert.equal(copies.length, 1, 'the file is moved aside');
    assert.equal(await readFile(join(work, copies[0] as string), 'utf8'), 'a file now');
    assert.match(r.stdout, /moved aside/);
  });

  it('a whole snapshot laid onto a folder keeps what the user made in the way, as a conflict copy', async () => {
    const target = join(tmp, 'whole');
    await writeTree(target, { 'report.txt': { 'draft.txt': 'a folder where the snapshot has a file' }, 'own.txt': 'not in the snapshot' });
    const r = await cli('restore', target, '--layer', 'user/alice', '--snapshot', first, '--json');
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(await readFile(join(target, 'report.txt'), 'utf8'), 'version 1');
    assert.equal(await readFile(join(target, 'own.txt'), 'utf8'), 'not in the snapshot');
    const [copy] = JSON.parse(r.stdout).movedAside.map((m: { copy: string }) => m.copy);
    assert.match(copy, /^report\.sync-conflict-\d{8}-\d{6}-laptop\.txt$/);
    assert.equal(await readFile(join(target, copy, 'draft.txt'), 'utf8'), 'a folder where the snapshot has a file');
  });

  it('--beside that fails (a path the snapshot lacks) leaves no temp folder behind', async () => {
    const r = await cli('restore', work, '--layer', 'user/alice', '--snapshot', first, '--path', 'no-such.txt', '--beside');
    assert.equal(r.code, 1, describeRun(r));
    assert.match(r.stderr, /^strata: E_NOT_IN_SNAPSHOT no-such\.txt: /);
    assert.deepEqual((await readdir(work)).filter((n) => n.startsWith('.strata-tmp')), []);
  });

  it('--beside into a folder that does not exist yet creates it, as a restore does', async () => {
    const fresh = join(tmp, 'fresh', 'home');
    const r = await cli('restore', fresh, '--layer', 'user/alice', '--snapshot', first, '--path', 'docs/a.txt', '--beside', '--json');
    assert.equal(r.code, 0, describeRun(r));
    const out = JSON.parse(r.stdout);
    assert.equal(await readFile(join(fresh, out.restoredAs), 'utf8'), 'a1');
    assert.deepEqual(await readdir(fresh), ['docs']);
  });

  it('--path may be given as ./p, p/ or an absolute path inside the folder; one outside it is a usage error', async () => {
    for (const path of ['./docs/a.txt', 'docs/a.txt/', join(work, 'docs', 'a.txt')]) {
      await rm(join(work, 'docs', 'a.txt'), { recursive: true, force: true });
      const r = await cli('restore', work, '--layer', 'user/alice', '--snapshot', first, '--path', path, '--json');
      assert.equal(r.code, 0, `${path}: ${describeRun(r)}`);
      assert.equal(JSON.parse(r.stdout).path, 'docs/a.txt');
      assert.equal(await readFile(join(work, 'docs', 'a.txt'), 'utf8'), 'a1');
    }
    const outside = await cli('restore', work, '--layer', 'user/alice', '--snapshot', first, '--path', join(tmp, 'elsewhere', 'a.txt'));
    assert.equal(outside.code, 2, describeRun(outside));
    assert.match(outside.stderr, /^strata: E_USAGE --path ".*elsewhere\/a\.txt" is not inside .*work/);
  });

  it('a bad --path or --beside without --path is a usage error', async () => {
    assert.equal((await cli('restore', work, '--layer', 'user/alice', '--path', '../etc')).code, 2);
    assert.equal((await cli('restore', work, '--layer', 'user/alice', '--beside')).code, 2);
  });
});

describe('strata restore --path in place over versions made since', () => {
  let tmp: string;
  let work: string;
  let first: string;
  let cli: (...args: string[]) => ReturnType<typeof strata>;
  const copiesIn = async (dir: string) => (await readdir(dir)).filter((n) => n.includes('.sync-conflict-')).sort();

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'strata-pit-kept-'));
    work = join(tmp, 'work');
    const store = pathToFileURL(join(tmp, 'store')).href;
    cli = (...args: string[]) => strata(['--store', store, '--device', 'laptop', ...args]);
    await writeTree(work, { 'report.txt': 'version 1', docs: { 'a.txt': 'a1', 'b.txt': 'b1' } });
    assert.equal((await cli('init')).code, 0);
    first = JSON.parse((await cli('snapshot', work, '--layer', 'user/alice', '--json')).stdout).snapshot;
    await writeTree(work, { 'report.txt': 'version 2', docs: { 'a.txt': 'a2', 'b.txt': 'b2' } });
    assert.equal((await cli('snapshot', work, '--layer', 'user/alice')).code, 0);
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  it('a folder: a file changed since the last snapshot is kept as a conflict copy, one the layer has is replaced', async () => {
    await writeFile(join(work, 'docs', 'b.txt'), 'b3, in no snapshot');
    const r = await cli('restore', work, '--layer', 'user/alice', '--snapshot', first, '--path', 'docs', '--json');
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(await readFile(join(work, 'docs', 'a.txt'), 'utf8'), 'a1');
    assert.equal(await readFile(join(work, 'docs', 'b.txt'), 'utf8'), 'b1');
    const copies = await copiesIn(join(work, 'docs'));
    assert.equal(copies.length, 1, `only b.txt's unsaved version is kept: ${copies.join(', ')}`);
    assert.match(copies[0] as string, /^b\.sync-conflict-\d{8}-\d{6}-laptop\.txt$/);
    assert.equal(await readFile(join(work, 'docs', copies[0] as string), 'utf8'), 'b3, in no snapshot');
    assert.deepEqual(JSON.parse(r.stdout).movedAside, [{ path: 'docs/b.txt', copy: `docs/${copies[0]}`, changed: true }]);
  });

  it('a file: the version edited since the last snapshot is kept as a conflict copy', async () => {
    await writeFile(join(work, 'report.txt'), 'version 3, in no snapshot');
    const r = await cli('restore', work, '--layer', 'user/alice', '--snapshot', first, '--path', 'report.txt');
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(await readFile(join(work, 'report.txt'), 'utf8'), 'version 1');
    const copies = await copiesIn(work);
    assert.equal(copies.length, 1);
    assert.equal(await readFile(join(work, copies[0] as string), 'utf8'), 'version 3, in no snapshot');
    assert.match(r.stdout, /moved aside: report\.txt → report\.sync-conflict-.*changed since/);
  });
});

describe('strata restore cut off by Ctrl-C', { skip: process.platform === 'win32' && 'FIFOs and SIGINT are POSIX' }, () => {
  let tmp: string;
  let work: string;
  let storeDir: string;
  let stuck: string;

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'strata-pit-int-'));
    work = join(tmp, 'work');
    storeDir = join(tmp, 'store');
    const store = pathToFileURL(storeDir).href;
    // One file over several 8 MiB packs: its temp file is open while its chunks arrive.
    await writeTree(work, { big: { 'data.bin': randomBytes(40 * 1024 * 1024) } });
    assert.equal((await strata(['--store', store, 'init'])).code, 0);
    const r = await strata(['--store', store, '--device', 'laptop', 'snapshot', work, '--layer', 'user/alice']);
    assert.equal(r.code, 0, describeRun(r));
    // One data pack becomes a FIFO: a read of it waits until the test lets it go, so the restore
    // is surely half-way when Ctrl-C comes.
    const packs = (await listFiles(join(storeDir, 'data'))).map((p) => join(storeDir, 'data', p));
    const sizes = await Promise.all(packs.map(async (p) => (await stat(p)).size));
    stuck = packs[sizes.indexOf(Math.max(...sizes))] as string;
    await rm(stuck);
    execFileSync('mkfifo', [stuck]);
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  for (const [beside, inTheWay] of [[false, false], [true, false], [false, true]]) {
    it(`${beside ? '--beside' : 'in place'}${inTheWay ? ', a file in the way moved aside' : ''}: stops, and leaves no temp file behind`, { timeout: 60_000 }, async () => {
      await rm(join(work, 'big'), { recursive: true, force: true });
      for (const n of await readdir(work)) if (n.startsWith('big.sync-conflict-')) await rm(join(work, n));
      if (inTheWay) await writeFile(join(work, 'big'), 'a file where the snapshot has a folder');
      const args = ['--store', pathToFileURL(storeDir).href, 'restore', work, '--layer', 'user/alice', '--path', 'big', ...(beside ? ['--beside'] : [])];
      const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: REPO_ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      const exited = once(child, 'close');
      const temps = async () => (await readdir(work, { recursive: true })).filter((p) => p.includes('.strata-tmp'));
      // Half-way: a temp file is being filled, and the stuck pack holds the rest.
      while (!(await temps()).some((p) => /\.strata-tmp-\d+-[0-9a-f]{16}$/.test(p))) {
        assert.equal(child.exitCode, null, stderr);
        await new Promise((r) => setTimeout(r, 20));
      }
      child.kill('SIGINT');
      // Then the stuck read is let go (it fails: the pack is no file), as a slow GET would end.
      while (child.exitCode === null && child.signalCode === null) {
        await new Promise((r) => setTimeout(r, 100));
        const writer = await open(stuck, constants.O_WRONLY | constants.O_NONBLOCK).catch(() => undefined);
        await writer?.close();
      }
      const [code] = (await exited) as [number | null];
      assert.equal(code, 1, stderr);
      assert.match(stderr, /^strata: E_INTERRUPTED /);
      assert.deepEqual(await temps(), []);
      if (inTheWay) {
        // What was moved aside is named, so the user can find it: the restore did not finish.
        const copies = (await readdir(work)).filter((n) => n.startsWith('big.sync-conflict-'));
        assert.equal(copies.length, 1, stderr);
        assert.equal(await readFile(join(work, copies[0] as string), 'utf8'), 'a file where the snapshot has a folder');
        assert.match(stderr, new RegExp(`; moved aside: 1 \\(first: \\S*/big → ${copies[0]?.replace(/\./g, '\\.')}\\)\n$`));
      }
    });
  }
});
