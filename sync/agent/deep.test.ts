/**
 * A synced folder holding a tree nested past PATH_MAX (4,096 bytes): what lies past it cannot be
 * opened by its path, so it is neither synced nor taken for deleted; the rest of that folder
 * syncs, its status names the path, and the other folders never notice.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { FolderStatus } from '../../shared/agent-api.js';
import { TEMP_NAME_BYTES } from '../fsutil.js';
import { MemoryStore } from '../store/memory.js';
import { LONG, pastPathMax, type DeepTree } from '../testing/deep-tree.js';
import { Agent } from './agent.js';
import { BLOCKED_MS } from './folder.js';
import { layerGraph } from './history.js';
import { snapshotTree } from './remote.js';
import { TreeCache } from './trees.js';
import { openRepository } from '../repo/index.js';
import { TOO_LONG_HERE } from '../exec/index.js';
import { Device, initStore, LAYER, listDir } from './testkit.js';

const PATH_MAX = 4096;
const linuxOnly = { skip: process.platform !== 'linux' && 'PATH_MAX of 4,096 bytes is Linux' };

/** The first dir of `tree` (under `top`) whose path the OS refuses. */
function firstTooLong(top: string, tree: DeepTree): string {
  for (let level = 1; ; level++) if (Buffer.byteLength(join(top, tree.dir(level))) >= PATH_MAX) return join(top, tree.dir(level));
}

async function until(what: string, ok: () => boolean, show: () => unknown): Promise<void> {
  const end = Date.now() + 30_000;
  while (!ok()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}: ${JSON.stringify(show())}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A store and device a in `dir`, whose folder holds t/, a tree past PATH_MAX (the caller closes a and undoes the tree). */
async function deepOrigin(dir: string): Promise<{ store: MemoryStore; a: Device; tree: Awaited<ReturnType<typeof pastPathMax>> }> {
  const store = new MemoryStore();
  await initStore(store);
  const a = await Device.create(dir, 'deva', store);
  return { store, a, tree: await pastPathMax(a.path('t'), 14) };
}

/** A fresh dir; each test removes it after the deep tree's names are short again (t.after runs in order). */
function base(name: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `strata-agent-${name}-`));
}

test('a folder holding a tree past PATH_MAX at the start stops no other folder: it syncs what it can read, and its status names the path too deep', linuxOnly, async (t) => {
  const dir = await base('deep-start');
  const [fine, deep] = [join(dir, 'fine'), join(dir, 'deep')];
  await mkdir(fine);
  await mkdir(deep);
  await writeFile(join(fine, 'a.txt'), 'a');
  await writeFile(join(deep, 'top.txt'), 'top');
  const tree = await pastPathMax(join(deep, 'tree'));
  const store = new MemoryStore();
  await initStore(store);
  // The deep folder first: the folders are opened in order.
  const agent = await Agent.start({ stateDir: join(dir, 'state'), folders: [{ root: deep, layer: 'user/deep' }, { root: fine, layer: LAYER }], openStore: () => store, pollMs: 100, debounceMs: 20, stabilityMs: 30 });
  t.after(() => agent.stop());
  t.after(() => tree.undo());
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [deepNow, fineNow] = [(): FolderStatus => agent.status().folders[0]!, (): FolderStatus => agent.status().folders[1]!];
  const show = () => agent.status().folders;

  await until('both folders synced', () => fineNow().syncedPasses > 0 && deepNow().syncedPasses > 0, show);
  assert.equal(fineNow().error, undefined);
  assert.equal(fineNow().files, 1);
  assert.equal(deepNow().error, undefined);
  assert.equal(deepNow().files, 2, 'top.txt and near.txt: all it can read');
  const warning = deepNow().warning;
  assert.equal(warning?.code, 'E_PATH_TOO_LONG', JSON.stringify(warning));
  assert.equal(warning.path, firstTooLong(join(deep, 'tree'), tree));
  assert.doesNotMatch(warning.message, /\n/);
  assert.match(warning.message, /files gone elsewhere in the folder stay in the layer until every path can be read$/);

  // Both watchers run: a change in each folder syncs.
  await writeFile(join(fine, 'b.txt'), 'b');
  await writeFile(join(deep, 'top2.txt'), 'top2');
  await until('the changes synced', () => fineNow().files === 2 && deepNow().files === 3, show);

  // Another machine gets what could be read.
  const b = await Device.create(dir, 'devb', store, { layer: 'user/deep' });
  t.after(() => b.close());
  await b.pass();
  const got = await b.listing();
  assert.equal(got['top.txt'], 'top');
  assert.equal(got[`tree/${tree.dir(1)}/near.txt`], 'near');
});

test('an entry made past PATH_MAX while the agent runs jams no watcher: later changes still sync, and the status names it', linuxOnly, async (t) => {
  const dir = await base('deep-event');
  // Deep, but every dir of it short enough to be watched, the deepest with 100 bytes of room: for
  // end.txt's temp (it is laid), and for one name past PATH_MAX.
  const depth = Math.floor((PATH_MAX - 100 - Buffer.byteLength(dir) - 7) / (LONG.length + 1));
  const root = join(dir, 'a'.repeat(PATH_MAX - 100 - Buffer.byteLength(dir) - 1 - '/tree'.length - depth * (LONG.length + 1)));
  await mkdir(root);
  const tree = await pastPathMax(join(root, 'tree'), depth);
  const store = new MemoryStore();
  await initStore(store);
  const agent = await Agent.start({ stateDir: join(dir, 'state'), folders: [{ root, layer: LAYER }], openStore: () => store, pollMs: 100, debounceMs: 20, stabilityMs: 30 });
  t.after(() => agent.stop());
  t.after(() => tree.undo());
  t.after(() => rm(dir, { recursive: true, force: true }));
  const now = (): FolderStatus => agent.status().folders[0]!;
  const show = () => agent.status().folders;
  await until('the first pass', () => now().syncedPasses > 0, show);
  assert.equal(now().files, 2);
  assert.equal(now().warning, undefined);

  // Made by a name relative to the deepest dir: its path is past PATH_MAX.
  const deepest = join(root, 'tree', tree.dir(depth));
  const name = 'y'.repeat(PATH_MAX - Buffer.byteLength(deepest));
  assert.ok(name.length <= 255, 'a name the OS takes');
  const cwd = process.cwd();
  process.chdir(deepest);
  try {
    await writeFile(name, 'too deep');
  } finally {
    process.chdir(cwd);
  }
  await new Promise((r) => setTimeout(r, 300));
  await writeFile(join(root, 'later.txt'), 'later');
  await until('the later change synced', () => now().files === 3, show);
  await until('the warning', () => now().warning !== undefined, show);
  assert.equal(now().warning?.code, 'E_PATH_TOO_LONG');
  assert.equal(now().warning?.path, join(deepest, name));
});

test('files past PATH_MAX that the layer holds are never taken for deleted: the folder, moved deeper, syncs on and the other machine keeps them', linuxOnly, async (t) => {
  const dir = await base('deep-moved');
  const near = join(dir, 'a');
  const far = join(dir, 'x'.repeat(250), 'x'.repeat(250), 'x'.repeat(250), 'a');
  await mkdir(near);
  await writeFile(join(near, 'top.txt'), 'top');
  const tree = await pastPathMax(join(near, 't'), 14);
  const end = `t/${tree.dir(14)}/end.txt`;
  assert.ok(Buffer.byteLength(join(near, end)) < PATH_MAX && Buffer.byteLength(join(far, end)) >= PATH_MAX, 'end.txt is readable here, not there');
  const store = new MemoryStore();
  await initStore(store);
  const opts = { stateDir: join(dir, 'state'), openStore: () => store, pollMs: 100, debounceMs: 20, stabilityMs: 30 };
  const first = await Agent.start({ ...opts, folders: [{ root: near, layer: LAYER }] });
  await until('the first sync', () => first.status().folders[0]!.files === 3, () => first.status().folders);
  await first.stop();

  await mkdir(join(far, '..'), { recursive: true });
  await rename(near, far);
  const agent = await Agent.start({ ...opts, folders: [{ root: far, layer: LAYER }] });
  t.after(() => agent.stop());
  t.after(() => rename(far, near));
  t.after(() => tree.undo());
  t.after(() => rm(dir, { recursive: true, force: true }));
  const now = (): FolderStatus => agent.status().folders[0]!;
  await until('a pass at the new place', () => now().syncedPasses > 0, () => agent.status().folders);
  await writeFile(join(far, 'new.txt'), 'new');

  const b = await Device.create(dir, 'devb', store);
  t.after(() => b.close());
  const end2 = Date.now() + 30_000;
  while ((await b.listing())['new.txt'] === undefined) {
    if (Date.now() > end2) assert.fail(`new.txt never reached the other machine: ${JSON.stringify(agent.status().folders)}`);
    await new Promise((r) => setTimeout(r, 100));
    b.folder.markAllDirty();
    await b.pass();
  }
  const got = await b.listing();
  assert.equal(got[end], 'end', 'the file past PATH_MAX is still in the layer');
  assert.equal(got[`t/${tree.dir(1)}/near.txt`], 'near');
  assert.equal(now().warning?.code, 'E_PATH_TOO_LONG');
});

test('a path another machine synced that is past PATH_MAX under this one\'s deeper root is left alone: the rest syncs, the status names it, and it is never taken for deleted', linuxOnly, async (t) => {
  const dir = await base('deep-arrives');
  const { store, a, tree } = await deepOrigin(dir);
  const end = `t/${tree.dir(14)}/end.txt`;
  await a.write('top.txt', 'top');
  a.folder.markAllDirty();
  await a.pass();
  const far = join(dir, 'x'.repeat(250), 'x'.repeat(250), 'x'.repeat(250), 'b');
  assert.ok(Buffer.byteLength(a.path(end)) < PATH_MAX && Buffer.byteLength(join(far, end)) >= PATH_MAX, 'end.txt fits on a, not on b');
  await mkdir(far, { recursive: true });
  let later = 0;
  const agent = await Agent.start({ stateDir: join(dir, 'bstate'), folders: [{ root: far, layer: LAYER }], openStore: () => store, now: () => new Date(Date.now() + later), pollMs: 100, debounceMs: 20, stabilityMs: 30 });
  t.after(() => agent.stop());
  t.after(() => a.close());
  t.after(() => tree.undo());
  t.after(() => rm(dir, { recursive: true, force: true }));
  const now = (): FolderStatus => agent.status().folders[0]!;
  const show = () => agent.status().folders;

  await until('b synced', () => now().syncedPasses > 0, show);
  const got = await listDir(far);
  assert.equal(got['top.txt'], 'top');
  assert.equal(got[`t/${tree.dir(1)}/near.txt`], 'near');
  assert.equal(now().error, undefined);
  await until('the warning', () => now().warning !== undefined, show);
  const warning = now().warning!;
  assert.equal(warning.code, 'E_PATH_TOO_LONG', JSON.stringify(warning));
  assert.equal(warning.path, firstTooLong(join(far, 't'), tree));
  assert.doesNotMatch(warning.message, /\n/);

  // Changes both ways sync on, also once b tries the path again.
  await a.write('z-from-a.txt', 'a');
  await a.pass();
  await until('a\'s change on b', () => existsSync(join(far, 'z-from-a.txt')), show);
  later = BLOCKED_MS + 1000;
  await writeFile(join(far, 'z-from-b.txt'), 'b');
  const until2 = Date.now() + 30_000;
  while ((await a.listing())['z-from-b.txt'] === undefined) {
    if (Date.now() > until2) assert.fail(`b's change never reached a: ${JSON.stringify(show())}`);
    await new Promise((r) => setTimeout(r, 100));
    await a.pass();
  }
  await a.pass();
  assert.equal((await a.listing())[end], 'end', 'a keeps the file b cannot lay');
  assert.equal(now().error, undefined);
  assert.equal(now().warning?.code, 'E_PATH_TOO_LONG');
});

test('the warning of a path too long to lay here stays while it is: the pass that tries the path again does not drop it', linuxOnly, async (t) => {
  const dir = await base('deep-stays');
  const { store, a, tree } = await deepOrigin(dir);
  a.folder.markAllDirty();
  await a.pass();
  const far = join(dir, 'x'.repeat(250), 'x'.repeat(250), 'x'.repeat(250), 'b');
  await mkdir(far, { recursive: true });
  let later = 0;
  const agent = await Agent.start({ stateDir: join(dir, 'bstate'), folders: [{ root: far, layer: LAYER }], openStore: () => store, now: () => new Date(Date.now() + later), pollMs: 50, debounceMs: 20, stabilityMs: 30 });
  t.after(() => agent.stop());
  t.after(() => a.close());
  t.after(() => tree.undo());
  t.after(() => rm(dir, { recursive: true, force: true }));
  const show = () => agent.status().folders;
  await until('the warning', () => agent.status().folders[0]!.warning !== undefined, show);
  const dropped: number[] = [];
  agent.subscribe((e) => {
    if (e.type === 'status' && e.status.folders[0]!.warning?.code !== 'E_PATH_TOO_LONG') dropped.push(agent.passCount);
  });
  // The path is tried again once BLOCKED_MS have passed, and found too long again.
  later = BLOCKED_MS + 1000;
  await agent.passesDone(4);
  assert.deepEqual(dropped, [], 'the warning stood at every pass');
  assert.equal(agent.status().folders[0]!.warning?.path, firstTooLong(join(far, 't'), tree));
});

test('a head naming a path past PATH_MAX under this machine\'s root, which the disk lacks (a sign-in could not lay it), is never taken for deleted: no whiteout, the other machine keeps it', linuxOnly, async (t) => {
  const dir = await base('deep-head');
  const { store, a, tree } = await deepOrigin(dir);
  const end = `t/${tree.dir(14)}/end.txt`;
  await a.write('top.txt', 'top');
  a.folder.markAllDirty();
  const first = await a.pass();
  assert.ok(first.status === 'synced' && first.snapshot !== undefined);
  // b's disk holds what a sign-in could lay under its deeper root: all but the dirs past PATH_MAX.
  const far = join(dir, 'x'.repeat(250), 'x'.repeat(250), 'x'.repeat(250), 'b');
  let fits = 0;
  while (Buffer.byteLength(join(far, 't', tree.dir(fits + 1), 't'.repeat(TEMP_NAME_BYTES))) < PATH_MAX) fits++;
  assert.ok(fits >= 1 && fits < 14 && Buffer.byteLength(a.path(end)) < PATH_MAX, 'end.txt fits on a, not on b');
  await mkdir(far, { recursive: true });
  await writeFile(join(far, 'top.txt'), 'top');
  const laid = await pastPathMax(join(far, 't'), fits, false);
  // The sign-in recorded the snapshot it laid as b's head (signin/device-head.ts).
  const b = new Device('devb', far, join(dir, 'bstate'), store);
  await b.open();
  t.after(() => b.close());
  t.after(() => a.close());
  t.after(() => laid.undo());
  t.after(() => tree.undo());
  t.after(() => rm(dir, { recursive: true, force: true }));
  await (await openRepository(store)).writeHead(LAYER, 'devb', first.snapshot);

  const passes = [await b.pass(), await b.pass()];
  const repo = await openRepository(store);
  const heads = (await repo.listHeads(LAYER)).heads;
  const own = heads.find((h) => h.device === 'devb')!.snapshot;
  const tree2 = await snapshotTree({ graph: layerGraph(repo, LAYER), trees: new TreeCache(repo), chunks: new Map() }, own);
  assert.equal(tree2.get(end)?.type, 'file', 'b\'s head still names end.txt');
  assert.ok(![...tree2.values()].some((n) => n.type === 'whiteout'));
  a.folder.markAllDirty();
  await a.pass();
  assert.equal((await a.listing())[end], 'end', 'a keeps the file b cannot lay');
  for (const r of passes) assert.equal(r.status, 'synced', JSON.stringify(r));
  assert.ok([...passes[0]!.scan.skipped.values()].some((why) => why.startsWith(TOO_LONG_HERE)), JSON.stringify([...passes[0]!.scan.skipped]));
  // The second pass is the idle poll of a settled folder, which still names the path for the status.
  assert.ok([...b.folder.leftAlone.values()].some((why) => why.startsWith(TOO_LONG_HERE)), JSON.stringify([...b.folder.leftAlone]));
});

test('a folder holding a path too long to lay here settles like any other: idle polls write nothing, and a new head or a local change is still synced, the path never taken for deleted', linuxOnly, async (t) => {
  const dir = await base('deep-settles');
  const { store, a, tree } = await deepOrigin(dir);
  const end = `t/${tree.dir(14)}/end.txt`;
  a.folder.markAllDirty();
  await a.pass();
  const far = join(dir, 'x'.repeat(250), 'x'.repeat(250), 'x'.repeat(250), 'b');
  await mkdir(far, { recursive: true });
  // A full pass writes its merged tree (a blob already held is not stored again); the idle poll stops before.
  const repo = await openRepository(store);
  let full = 0;
  const addBlob = repo.addBlob.bind(repo);
  repo.addBlob = (...args: Parameters<typeof repo.addBlob>) => {
    if (args[0] === 'tree') full++;
    return addBlob(...args);
  };
  const b = new Device('devb', far, join(dir, 'bstate'), store, { repo });
  await b.open();
  t.after(() => b.close());
  t.after(() => a.close());
  t.after(() => tree.undo());
  t.after(() => rm(dir, { recursive: true, force: true }));
  const tooLongHere = (r: { scan: { skipped: Map<string, string> } }) => [...r.scan.skipped.values()].some((why) => why.startsWith(TOO_LONG_HERE));
  const first = await b.pass();
  assert.equal(first.status, 'synced', JSON.stringify(first));
  assert.ok(tooLongHere(first), JSON.stringify([...first.scan.skipped]));
  assert.equal((await listDir(far))[`t/${tree.dir(1)}/near.txt`], 'near');
  await b.pass();
  full = 0;
  for (let i = 0; i < 3; i++) assert.equal((await b.pass()).status, 'synced');
  assert.equal(full, 0, 'idle polls ran full passes');
  assert.ok([...b.folder.leftAlone.values()].some((why) => why.startsWith(TOO_LONG_HERE)), 'the folder still names the path it leaves alone, for the status');

  // A new head and a local change each make a full pass, which leaves the path alone again.
  await a.write('from-a.txt', 'a');
  await a.pass();
  const r1 = await b.pass();
  assert.ok(r1.status === 'synced' && tooLongHere(r1), JSON.stringify(r1));
  assert.equal(await b.read('from-a.txt'), 'a');
  await b.write('from-b.txt', 'b');
  const r2 = await b.pass();
  assert.ok(r2.status === 'synced' && tooLongHere(r2), JSON.stringify(r2));
  await a.pass();
  assert.equal(await a.read('from-b.txt'), 'b');
  assert.equal(await a.read(end), 'end', 'a keeps the file b cannot lay');
  // b takes in a's merge of its change, then settles again.
  await b.pass();
  full = 0;
  await b.pass();
  await b.pass();
  assert.equal(full, 0, 'settled again');
});

test('files a folder renamed longer takes past PATH_MAX are never taken for deleted: the other machine keeps them until they can be read, then gets the move', linuxOnly, async (t) => {
  const dir = await base('deep-renamed');
  const store = new MemoryStore();
  await initStore(store);
  // end.txt is readable, and can be laid (a temp beside it), until t/ is renamed to a name 254 bytes
  // longer: the deepest dir has 100 bytes of room (`/deva/root/t` and `/devb/root/t`: 12 bytes).
  const depth = Math.floor((PATH_MAX - 100 - Buffer.byteLength(dir) - 14) / (LONG.length + 1));
  const home = join(dir, 'p'.repeat(PATH_MAX - 100 - Buffer.byteLength(dir) - 13 - depth * (LONG.length + 1)));
  const a = await Device.create(home, 'deva', store);
  const b = await Device.create(home, 'devb', store);
  const tree = await pastPathMax(a.path('t'), depth);
  const end = `t/${tree.dir(depth)}/end.txt`;
  const renamed = 'T'.repeat(255);
  assert.equal(Buffer.byteLength(join(a.path('t'), tree.dir(depth))), PATH_MAX - 100);
  t.after(() => a.close());
  t.after(() => b.close());
  t.after(() => (existsSync(a.path(renamed)) ? rename(a.path(renamed), a.path('t')) : undefined));
  t.after(() => tree.undo());
  t.after(() => rm(dir, { recursive: true, force: true }));
  await a.write('top.txt', 'top');
  a.folder.markAllDirty();
  await a.pass();
  await b.pass();
  assert.equal((await b.listing())[end], 'end');

  await rename(a.path('t'), a.path(renamed));
  for (let i = 0; i < 2; i++) {
    a.folder.markAllDirty();
    assert.equal((await a.pass()).status, 'synced');
    b.folder.markAllDirty();
    await b.pass();
    const got = await b.listing();
    assert.equal(got[end], 'end', 'b keeps the file a cannot read');
    assert.equal(got[`t/${tree.dir(1)}/near.txt`], 'near');
  }
  assert.equal(existsSync(a.path('t')), false, 'the old name is not laid again where it was renamed');

  // Renamed shorter again, all of it can be read: the rename reaches b as a move.
  await rename(a.path(renamed), a.path('u'));
  a.folder.markAllDirty();
  await a.pass();
  b.folder.markAllDirty();
  await b.pass();
  const got = await b.listing();
  assert.equal(got[end], undefined);
  assert.equal(got[`u/${tree.dir(depth)}/end.txt`], 'end');
  await rename(a.path('u'), a.path('t'));
});
