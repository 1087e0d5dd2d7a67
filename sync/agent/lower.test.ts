/**
 * A user layer over org layers (DESIGN §1): the folder shows overlay([org…, user]); the agent
 * writes only the user layer, with copy-ups for edited org files and whiteouts for deleted ones.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { flatten, type Node } from '../plan/index.js';
import { openRepository, type Repository } from '../repo/index.js';
import type { BlobId, Tree } from '../repo/types.js';
import { takeSnapshot } from '../snapshot/index.js';
import type { ObjectStore } from '../store/index.js';
import { MemoryStore } from '../store/memory.js';
import { makeExcluder } from '../watch/index.js';
import type { FolderOptions } from './folder.js';
import { includeRules } from './include.js';
import { assertSame, converge, Device, initStore, LAYER, listDir, tempRoot } from './testkit.js';

/** The user layer as `device`'s head has it. */
async function userTreeOf(repo: Repository, device: string): Promise<Map<string, Node>> {
  const head = (await repo.listHeads(LAYER)).heads.find((h) => h.device === device)!;
  const snap = await repo.loadSnapshot(LAYER, head.snapshot);
  const trees = new Map<string, Tree>();
  const load = async (id: string): Promise<void> => {
    const tree = await repo.loadTree(id);
    trees.set(id, tree);
    for (const e of tree.entries) if (e.type === 'dir') await load(e.subtree);
  };
  await repo.loadIndex();
  await load(snap.root);
  return flatten(trees.get(snap.root)!, (id) => trees.get(id)!);
}

type MachineSpec = [name: string, opts: Partial<FolderOptions>];

/** Two machines the sign-in laid the org layer (the folder `org`) onto, in sync; closed after the test. */
async function laidMachines(t: TestContext, base: string, store: ObjectStore, org: string, specs: [MachineSpec, MachineSpec]): Promise<[Device, Device]> {
  const make = async ([name, opts]: MachineSpec): Promise<Device> => {
    const d = await Device.create(base, name, store, opts);
    t.after(() => d.close());
    await cp(org, d.root, { recursive: true, preserveTimestamps: true });
    return d;
  };
  const pair: [Device, Device] = [await make(specs[0]), await make(specs[1])];
  await converge(pair);
  return pair;
}

test('org files edited become copy-ups, deleted ones whiteouts, and a second machine shows both', async (t) => {
  const base = await tempRoot(t, 'lower');
  const store = new MemoryStore();
  await initStore(store);
  const org = join(base, 'org');
  await mkdir(join(org, 'settings'), { recursive: true });
  await writeFile(join(org, 'settings', 'app.conf'), 'org default');
  await writeFile(join(org, 'bookmarks.html'), 'org bookmarks');
  await writeFile(join(org, 'readme.txt'), 'org readme');
  const repo = await openRepository(store);
  const published = await takeSnapshot(repo, { root: org, layer: 'org/finance', device: 'admin' });
  const lower = [published.snapshot.root];

  const [a, b] = await laidMachines(t, base, store, org, [
    ['deva', { lower }],
    ['devb', { lower }],
  ]);
  const userTree = (device: string) => userTreeOf(repo, device);
  assert.deepEqual([...(await userTree('deva')).keys()], [], 'untouched org files are not copied up');

  await a.write('settings/app.conf', 'my settings');
  await a.remove('bookmarks.html');
  await a.write('notes.txt', 'mine');
  await converge([a, b]);
  const listing = await assertSame([a, b]);
  assert.deepEqual(listing, { 'notes.txt': 'mine', 'readme.txt': 'org readme', 'settings/': '', 'settings/app.conf': 'my settings' });
  const user = await userTree('deva');
  assert.equal(user.get('bookmarks.html')?.type, 'whiteout');
  assert.equal(user.get('settings/app.conf')?.type, 'file');
  assert.equal(user.get('notes.txt')?.type, 'file');
  assert.equal(user.has('readme.txt'), false);
  assert.deepEqual(await listDir(org), { 'bookmarks.html': 'org bookmarks', 'readme.txt': 'org readme', 'settings/': '', 'settings/app.conf': 'org default' }, 'nothing below is really deleted');
});

test('with an include list, only the listed folders sync; the rest of the root is never touched', async (t) => {
  const base = await tempRoot(t, 'include');
  const store = new MemoryStore();
  await initStore(store);
  const exclude = makeExcluder(includeRules(['Documents', '.config/app']));
  const a = await Device.create(base, 'deva', store, { exclude });
  const b = await Device.create(base, 'devb', store, { exclude });
  t.after(async () => {
    await a.close();
    await b.close();
  });
  await a.write('Documents/report.txt', 'doc');
  await a.write('.config/app/settings.json', '{}');
  await a.write('.config/other/secret', 'not synced');
  await a.write('Downloads/big.iso', 'not synced');
  await b.write('Downloads/mine.txt', 'b only');
  await converge([a, b]);
  assert.deepEqual(await b.listing(), {
    '.config/': '',
    '.config/app/': '',
    '.config/app/settings.json': '{}',
    'Documents/': '',
    'Documents/report.txt': 'doc',
    'Downloads/': '',
    'Downloads/mine.txt': 'b only',
  });
  assert.equal((await a.listing())['Downloads/mine.txt'], undefined);
  assert.equal((await a.listing())['.config/other/secret'], 'not synced');
});

test('on a case-insensitive disk, an org file and a user file whose names differ only in case are both kept', async (t) => {
  const base = await tempRoot(t, 'lower-case');
  const store = new MemoryStore();
  await initStore(store);
  const org = join(base, 'org');
  await mkdir(org, { recursive: true });
  await writeFile(join(org, 'Readme.txt'), 'org readme');
  const repo = await openRepository(store);
  const lower = [(await takeSnapshot(repo, { root: org, layer: 'org/finance', device: 'admin' })).snapshot.root];
  // `linux` keeps names apart by case; `mac` cannot (its disk here is case-sensitive, so the
  // checks below are what a case-insensitive one would need: no two names that fold together).
  const [linux, mac] = await laidMachines(t, base, store, org, [
    ['linux', { lower, caseInsensitive: false }],
    ['mac', { lower, caseInsensitive: true }],
  ]);
  await linux.write('readme.txt', 'my readme');
  await converge([linux, mac]);
  const onMac = await mac.listing();
  const folds = Object.keys(onMac).map((p) => p.toLowerCase());
  assert.equal(new Set(folds).size, folds.length, `two names fold together: ${Object.keys(onMac).join(', ')}`);
  assert.deepEqual(Object.values(onMac).sort(), ['my readme', 'org readme']);
  assert.equal(onMac['Readme.txt'], 'org readme', 'the name that sorts first stays');
  // The user's file was laid beside it as a conflict copy, which the user layer now holds.
  const copy = Object.keys(onMac).find((p) => p.startsWith('readme.sync-conflict-'));
  assert.ok(copy, Object.keys(onMac).join(', '));
  const onLinux = await linux.listing();
  assert.equal(onLinux[copy], 'my readme', 'the copy reached the other machine');
  assert.equal(onLinux['readme.txt'], undefined, 'where it replaces the name, as a case conflict copy of a merge does');
});

/** Publishes `files` written into `dir` as a version of org/finance; answers its root tree. */
function publisher(repo: Repository): (dir: string, files: Record<string, string>) => Promise<BlobId> {
  return async (dir, files) => {
    for (const [rel, text] of Object.entries(files)) {
      await mkdir(dirname(join(dir, rel)), { recursive: true });
      await writeFile(join(dir, rel), text);
    }
    return (await takeSnapshot(repo, { root: dir, layer: 'org/finance', device: 'admin' })).snapshot.root;
  };
}

/** Org v1 laid on two machines, the user's changes to it synced, and v2 published (not laid yet). */
async function orgV2Published(t: TestContext, name: string) {
  const base = await tempRoot(t, name);
  const store = new MemoryStore();
  await initStore(store);
  const repo = await openRepository(store);
  const publish = publisher(repo);
  const org = join(base, 'org');
  const v1 = await publish(org, { 'settings/app.conf': 'conf v1', 'bookmarks.html': 'bookmarks v1', 'readme.txt': 'readme v1', 'dropped.txt': 'dropped in v2', 'kept-by-me.txt': 'dropped in v2, edited here', 'same.txt': 'same in both', 'renamed.txt': 'renamed in v2' });
  const [a, b] = await laidMachines(t, base, store, org, [
    ['deva', { lower: [v1] }],
    ['devb', { lower: [v1] }],
  ]);
  await a.write('settings/app.conf', 'my settings');
  await a.remove('bookmarks.html');
  await a.write('kept-by-me.txt', 'mine');
  await a.write('notes.txt', 'my notes');
  await converge([a, b]);
  const v2 = await publish(join(base, 'org-v2'), { 'settings/app.conf': 'conf v2', 'bookmarks.html': 'bookmarks v2', 'readme.txt': 'readme v2', 'new.txt': 'new in v2', 'same.txt': 'same in both', 'renamed-v2.txt': 'renamed in v2', 'renamed.txt': 'replaced in v2' });
  return { base, store, repo, a, b, v1, v2 };
}

/** What both machines must show once on v2: the user's changes over v2. */
const ON_V2 = { 'kept-by-me.txt': 'mine', 'new.txt': 'new in v2', 'notes.txt': 'my notes', 'readme.txt': 'readme v2', 'renamed-v2.txt': 'renamed in v2', 'renamed.txt': 'replaced in v2', 'same.txt': 'same in both', 'settings/': '', 'settings/app.conf': 'my settings' };

/** The user layer holds the user's changes only: no org file, old or new, is copied up. */
async function assertOnlyUserChanges(repo: Repository, device: string): Promise<void> {
  const user = await userTreeOf(repo, device);
  assert.deepEqual(
    [...user].map(([p, n]) => `${p} ${n.type}`),
    ['bookmarks.html whiteout', 'kept-by-me.txt file', 'notes.txt file', 'settings dir', 'settings/app.conf file'],
  );
}

test('a new org layer version is switched to by a pass: untouched files update or go, the user\'s changes stay on top', async (t) => {
  const { repo, a, b, v1, v2 } = await orgV2Published(t, 'switch');
  a.folder.switchLower([v2], [v1]);
  assert.equal(a.folder.switching, true);
  const r = await a.pass();
  assert.equal(r.status, 'synced');
  assert.equal(a.folder.switching, false, 'a synced pass ends the switch');
  assert.deepEqual(await a.listing(), ON_V2);
  await assertOnlyUserChanges(repo, 'deva');

  // The other machine, still on v1, shows the same user layer over v1 until it switches too.
  await converge([a, b]);
  assert.equal((await b.listing())['readme.txt'], 'readme v1');
  b.folder.switchLower([v2], [v1]);
  await converge([a, b]);
  assert.deepEqual(await b.listing(), ON_V2);
  await assertOnlyUserChanges(repo, 'devb');
});

test('a switch cut off half-way is finished by the next pass, even after a restart, without copying up what it laid', async (t) => {
  const { repo, a, v1, v2 } = await orgV2Published(t, 'switch-cut');
  // The pass is aborted as soon as it has fetched its first file of v2.
  const abort = new AbortController();
  await a.restart({ onPhase: (p) => p.state === 'downloading' && p.bytes > 0 && abort.abort() });
  // A pass after the restart: the switch's pass merges no other head (it records a merge on its own).
  assert.equal((await a.pass()).status, 'synced');
  a.folder.switchLower([v2], [v1]);
  await assert.rejects(a.folder.pass(abort.signal));
  const listing = await a.listing();
  assert.notDeepEqual(listing, ON_V2, 'the switch was cut off before it finished');
  assert.ok(Object.values(listing).some((text) => text.endsWith('v2')), `nothing of v2 was laid: ${JSON.stringify(listing)}`);

  // A restart: the switch is still in progress (the caller kept both sets of roots).
  await a.restart({ lower: [v2], lowerBefore: [v1], onPhase: undefined });
  assert.equal((await a.pass()).status, 'synced');
  assert.equal(a.folder.switching, false);
  assert.deepEqual(await a.listing(), ON_V2);
  await assertOnlyUserChanges(repo, 'deva');
});

test('a switch that arrives while a pass runs is made by the next pass of the same run', async (t) => {
  const { repo, a, b, v1, v2 } = await orgV2Published(t, 'switch-in-flight');
  // The pass in flight began on v1: the follower's switch comes while it fetches the other
  // machine's new file. Its end must not call the folder settled, nor record v2 as laid.
  let switched = false;
  await a.restart({
    onPhase: (p) => {
      if (switched || p.state !== 'downloading') return;
      switched = true;
      a.folder.switchLower([v2], [v1]);
    },
  });
  await b.write('later.txt', 'written before the switch');
  assert.equal((await b.pass()).status, 'synced');
  assert.equal((await a.pass()).status, 'synced');
  assert.equal(switched, true, 'the switch came while the pass ran');
  assert.equal(a.folder.switching, true, 'the pass in flight did not make the switch');
  assert.equal((await a.listing())['readme.txt'], 'readme v1');
  assert.equal((await a.pass()).status, 'synced');
  assert.equal(a.folder.switching, false);
  assert.deepEqual(await a.listing(), { ...ON_V2, 'later.txt': 'written before the switch' });
  assert.equal((await userTreeOf(repo, 'deva')).has('readme.txt'), false, 'an untouched org file is not copied up');
});

test('a switch that arrives before the pass in flight reads the org layers waits for the next pass, whose index names the new version', async (t) => {
  const { base, repo, a, v1 } = await orgV2Published(t, 'switch-before-read');
  let switchTo: BlobId | undefined;
  await a.restart({
    onPhase: (p) => {
      if (switchTo === undefined || p.state !== 'scanning') return;
      a.folder.switchLower([switchTo], [v1]);
      switchTo = undefined;
    },
  });
  assert.equal((await a.pass()).status, 'synced');
  // Published after this machine last loaded the index: only a load made after the switch names it.
  const dir = join(base, 'org-v3');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'readme.txt'), 'readme v3');
  const v3 = (await takeSnapshot(repo, { root: dir, layer: 'org/finance', device: 'admin' })).snapshot.root;
  // The switch comes as the pass scans the user's edit, after the pass chose not to load the index.
  switchTo = v3;
  await a.write('notes.txt', 'my notes, edited');
  assert.equal((await a.pass()).status, 'synced');
  assert.equal(switchTo, undefined, 'the switch came while the pass ran');
  assert.equal(a.folder.switching, true, 'the pass in flight did not make the switch');
  assert.equal(await a.read('readme.txt'), 'readme v1');
  assert.equal((await a.pass()).status, 'synced');
  assert.equal(a.folder.switching, false);
  assert.equal(await a.read('readme.txt'), 'readme v3');
  assert.equal(await a.read('notes.txt'), 'my notes, edited');
  assert.equal((await userTreeOf(repo, 'deva')).has('readme.txt'), false, 'an untouched org file is not copied up');
});

test('a held mass delete of org files and the user\'s own, restored: the files come back, and the user layer drops its whiteouts', async (t) => {
  const base = await tempRoot(t, 'lower');
  const store = new MemoryStore();
  await initStore(store);
  const org = join(base, 'org');
  await mkdir(join(org, 'forms'), { recursive: true });
  for (let i = 0; i < 8; i++) await writeFile(join(org, 'forms', `form${i}.txt`), `org form ${i}`);
  const repo = await openRepository(store);
  const lower = [(await takeSnapshot(repo, { root: org, layer: 'org/finance', device: 'admin' })).snapshot.root];
  const [a, b] = await laidMachines(t, base, store, org, [
    ['deva', { lower }],
    ['devb', { lower }],
  ]);
  for (let i = 0; i < 6; i++) await a.write(`mine${i}.txt`, `mine ${i}`);
  await a.write('forms/form0.txt', 'my copy-up');
  await converge([a, b]);
  const before = await assertSame([a, b]);

  for (let i = 0; i < 8; i++) await a.remove(`forms/form${i}.txt`);
  for (let i = 0; i < 4; i++) await a.remove(`mine${i}.txt`);
  const held = await a.pass();
  assert.equal(held.status, 'held');
  const { id, ...counts } = held.status === 'held' ? held.held : assert.fail('not held');
  assert.deepEqual(counts, { direction: 'local', files: 12, of: 14 });
  await a.folder.restoreHeld({ ...counts, id });
  assert.equal((await a.pass()).status, 'synced');
  assert.deepEqual(await listDir(a.root), before);
  await converge([a, b]);
  assert.deepEqual(await assertSame([a, b]), before);
  const user = await userTreeOf(repo, 'deva');
  assert.deepEqual([...user].filter(([, n]) => n.type === 'whiteout'), [], 'no whiteout left');
  assert.equal(user.get('forms/form0.txt')?.type, 'file', 'the copy-up stays');
  assert.equal(user.has('forms/form1.txt'), false, 'the org files are the org layer\'s again');
});

test('edits of org files the agent has not scanned yet when a new version comes are the user\'s: none is overwritten or dropped', async (t) => {
  const { repo, a, v1, v2 } = await orgV2Published(t, 'switch-unscanned');
  // Written behind the watcher's back (its debounce not over yet): no pass has seen them.
  const { rm } = await import('node:fs/promises');
  await writeFile(a.path('readme.txt'), 'my readme, not scanned');
  await writeFile(a.path('dropped.txt'), 'my dropped, not scanned');
  await rm(a.path('same.txt'));
  a.folder.switchLower([v2], [v1]);
  for (let i = 0; i < 5 && a.folder.switching; i++) await a.pass();
  assert.equal(a.folder.switching, false);
  const listing = await a.listing();
  assert.equal(listing['readme.txt'], 'my readme, not scanned');
  assert.equal(listing['dropped.txt'], 'my dropped, not scanned');
  assert.equal(listing['same.txt'], undefined, 'the user\'s delete stands');
  assert.equal(listing['new.txt'], 'new in v2');
  const user = await userTreeOf(repo, 'deva');
  assert.equal(user.get('readme.txt')?.type, 'file');
  assert.equal(user.get('dropped.txt')?.type, 'file');
  assert.equal(user.get('same.txt')?.type, 'whiteout');
});

test('org layers reordered, then one unassigned: the new top wins, and only the untouched files of the one gone go', async (t) => {
  const base = await tempRoot(t, 'reorder');
  const store = new MemoryStore();
  await initStore(store);
  const repo = await openRepository(store);
  const publish = async (name: string, files: Record<string, string>): Promise<BlobId> => {
    const dir = join(base, name);
    for (const [rel, text] of Object.entries(files)) {
      await mkdir(dirname(join(dir, rel)), { recursive: true });
      await writeFile(join(dir, rel), text);
    }
    return (await takeSnapshot(repo, { root: dir, layer: `org/${name}`, device: 'admin' })).snapshot.root;
  };
  const A = await publish('a', { 'shared.txt': 'from a', 'a/only.txt': 'a only', 'a/edited.txt': 'a edited' });
  const B = await publish('b', { 'shared.txt': 'from b', 'b.txt': 'b' });
  const laid = join(base, 'laid');
  await cp(join(base, 'a'), laid, { recursive: true, preserveTimestamps: true });
  await cp(join(base, 'b'), laid, { recursive: true, preserveTimestamps: true, force: true });
  const [d] = await laidMachines(t, base, store, laid, [
    ['deva', { lower: [A, B] }],
    ['devb', { lower: [A, B] }],
  ]);
  assert.equal(await d.read('shared.txt'), 'from b');
  await d.write('a/edited.txt', 'mine');
  await d.write('a/mine.txt', 'my own');
  assert.equal((await d.pass()).status, 'synced');

  d.folder.switchLower([B, A], [A, B]);
  for (let i = 0; i < 5 && d.folder.switching; i++) await d.pass();
  assert.equal(d.folder.switching, false);
  assert.deepEqual(await d.listing(), { 'a/': '', 'a/edited.txt': 'mine', 'a/mine.txt': 'my own', 'a/only.txt': 'a only', 'b.txt': 'b', 'shared.txt': 'from a' });

  d.folder.switchLower([B], [B, A]);
  for (let i = 0; i < 5 && d.folder.switching; i++) await d.pass();
  assert.equal(d.folder.switching, false);
  assert.deepEqual(await d.listing(), { 'a/': '', 'a/edited.txt': 'mine', 'a/mine.txt': 'my own', 'b.txt': 'b', 'shared.txt': 'from b' });
  assert.deepEqual([...(await userTreeOf(repo, 'deva'))].map(([p, n]) => `${p} ${n.type}`), ['a dir', 'a/edited.txt file', 'a/mine.txt file']);
});

/** Org v1 (`forms/form0..10.txt` and a readme) laid on two machines, the user's ten files and a copy-up synced, and v2 published without the forms. */
async function formsDroppedInV2(t: TestContext, name: string) {
  const base = await tempRoot(t, name);
  const store = new MemoryStore();
  await initStore(store);
  const repo = await openRepository(store);
  const publish = publisher(repo);
  const forms = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`forms/form${i}.txt`, `org form ${i}`]));
  const org = join(base, 'org');
  const v1 = await publish(org, { ...forms, 'readme.txt': 'readme v1' });
  const [a, b] = await laidMachines(t, base, store, org, [
    ['deva', { lower: [v1] }],
    ['devb', { lower: [v1] }],
  ]);
  for (let i = 0; i < 10; i++) await a.write(`mine${i}.txt`, `mine ${i}`);
  await a.write('forms/form0.txt', 'my copy-up');
  await converge([a, b]);
  const v2 = await publish(join(base, 'org-v2'), { 'readme.txt': 'readme v2' });
  const mine = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`mine${i}.txt`, `mine ${i}`]));
  return { repo, a, b, v1, v2, mine };
}

/** The user layer's paths and kinds, as `device`'s head has it. */
async function userPaths(repo: Repository, device: string): Promise<string[]> {
  return [...(await userTreeOf(repo, device))].map(([p, n]) => `${p} ${n.type}`).sort();
}

const USER_FILES = ['forms dir', 'forms/form0.txt file', ...Array.from({ length: 10 }, (_, i) => `mine${i}.txt file`)].sort();

test('a new org version that drops most of the files is switched to without a hold: its untouched files go, uncounted, and none is copied up', async (t) => {
  const { repo, a, b, v1, v2, mine } = await formsDroppedInV2(t, 'switch-drops');
  a.folder.switchLower([v2], [v1]);
  const r = await a.pass();
  assert.equal(r.status, 'synced', JSON.stringify(r.status === 'held' ? r.held : r.status));
  assert.equal(a.folder.switching, false);
  assert.deepEqual(await a.listing(), { ...mine, 'forms/': '', 'forms/form0.txt': 'my copy-up', 'readme.txt': 'readme v2' });
  assert.deepEqual(await userPaths(repo, 'deva'), USER_FILES);
  // The switch's deletes do not count towards the hour's: another device deleting six of the
  // user's ten files is no mass delete (six alone are under the minimum).
  for (let i = 0; i < 6; i++) await b.remove(`mine${i}.txt`);
  assert.equal((await b.pass()).status, 'synced');
  const after = await a.pass();
  assert.equal(after.status, 'synced', JSON.stringify(after.status === 'held' ? after.held : after.status));
  assert.equal((await a.listing())['mine0.txt'], undefined);
});

test('a hold of the user\'s files deleted elsewhere while a switch drops org files, restored: the user\'s files come back, the dropped org files do not become the user\'s', async (t) => {
  const { repo, a, b, v1, v2, mine } = await formsDroppedInV2(t, 'switch-drops-held');
  for (let i = 0; i < 10; i++) await b.remove(`mine${i}.txt`);
  assert.equal((await b.pass()).status, 'synced');
  a.folder.switchLower([v2], [v1]);
  const held = await a.pass();
  assert.equal(held.status, 'held');
  const { id, ...counts } = held.status === 'held' ? held.held : assert.fail('not held');
  assert.deepEqual(counts, { direction: 'remote', files: 10, of: 12 }, 'the switch\'s deletes are not counted');
  await a.folder.restoreHeld({ ...counts, id });
  assert.equal((await a.pass()).status, 'synced');
  assert.equal(a.folder.switching, false);
  assert.deepEqual(await a.listing(), { ...mine, 'forms/': '', 'forms/form0.txt': 'my copy-up', 'readme.txt': 'readme v2' });
  assert.deepEqual(await userPaths(repo, 'deva'), USER_FILES);
});

test('on a case-insensitive disk, a user folder spelled otherwise than an org folder is united with it, on every machine, and nothing flaps', async (t) => {
  const base = await tempRoot(t, 'lower-case-dir');
  const store = new MemoryStore();
  await initStore(store);
  const org = join(base, 'org');
  await mkdir(join(org, 'Templates'), { recursive: true });
  await writeFile(join(org, 'Templates', 'letter.dotx'), 'org letter');
  const repo = await openRepository(store);
  const lower = [(await takeSnapshot(repo, { root: org, layer: 'org/finance', device: 'admin' })).snapshot.root];
  const [linux, win] = await laidMachines(t, base, store, org, [
    ['linux', { lower, caseInsensitive: false }],
    ['win', { lower, caseInsensitive: true }],
  ]);
  await linux.write('templates/memo.dotx', 'my memo');
  await converge([linux, win]);
  const onWin = await win.listing();
  assert.deepEqual(onWin, { 'Templates/': '', 'Templates/letter.dotx': 'org letter', 'Templates/memo.dotx': 'my memo' }, 'the folder that sorts first takes the other one\'s files');
  assert.deepEqual(await linux.listing(), onWin, 'the other machine shows the same');
  for (const d of [linux, win]) {
    const r = await d.pass();
    assert.equal(r.status === 'synced' && r.snapshot, undefined, `${d.name}'s next pass writes nothing`);
  }
});

test('under a case-insensitive policy, an org file edited keeps its spelling in the user layer, and a user file spelled otherwise beside it is set aside as a case copy, nothing flapping', async (t) => {
  const base = await tempRoot(t, 'lower-case-copyup');
  const store = new MemoryStore();
  await initStore(store);
  const org = join(base, 'org');
  await mkdir(join(org, 'Docs'), { recursive: true });
  await writeFile(join(org, 'Docs', 'Report.txt'), 'org report');
  const repo = await openRepository(store);
  const lower = [(await takeSnapshot(repo, { root: org, layer: 'org/finance', device: 'admin' })).snapshot.root];
  const [linux, folds] = await laidMachines(t, base, store, org, [
    ['linux', { lower, caseInsensitive: false }],
    ['folds', { lower, caseInsensitive: true }],
  ]);
  await folds.write('Docs/Report.txt', 'my report');
  await converge([linux, folds]);
  assert.deepEqual(await assertSame([linux, folds]), { 'Docs/': '', 'Docs/Report.txt': 'my report' });
  assert.deepEqual([...(await userTreeOf(repo, 'folds')).keys()], ['Docs', 'Docs/Report.txt'], 'the copy-up keeps the org\'s spelling');

  await linux.write('docs/report.txt', 'lower case', new Date(Date.now() + 5000));
  const results = await converge([linux, folds]);
  const cases = results.flatMap((r) => (r.status === 'synced' ? r.conflicts : [])).filter((c) => c.reason === 'case');
  assert.equal(cases.length, 1, JSON.stringify(cases));
  const listing = await assertSame([linux, folds]);
  const copy = Object.keys(listing).find((p) => p.includes('.sync-conflict-'));
  assert.deepEqual(Object.keys(listing).length, 3, Object.keys(listing).join(', '));
  assert.equal(listing['Docs/Report.txt'], 'my report', 'the name that sorts first stays');
  assert.ok(copy?.startsWith('Docs/report.sync-conflict-'), copy);
  assert.equal(listing[copy!], 'lower case');
  for (const d of [linux, folds]) {
    const r = await d.pass();
    assert.equal(r.status === 'synced' && r.snapshot, undefined, `${d.name}'s next pass writes nothing`);
  }
});

test('two org layers that spell a folder differently: a case-insensitive device unites them, a case-sensitive one follows, and nothing flaps', async (t) => {
  const base = await tempRoot(t, 'lower-case-orgs');
  const store = new MemoryStore();
  await initStore(store);
  const repo = await openRepository(store);
  const publish = async (name: string, rel: string, text: string): Promise<BlobId> => {
    const dir = join(base, name);
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), text);
    return (await takeSnapshot(repo, { root: dir, layer: `org/${name}`, device: 'admin' })).snapshot.root;
  };
  const lower = [await publish('a', 'Templates/letter.dotx', 'letter'), await publish('b', 'templates/memo.dotx', 'memo')];
  const linux = await Device.create(base, 'linux', store, { lower, caseInsensitive: false });
  t.after(() => linux.close());
  const folds = await Device.create(base, 'folds', store, { lower, caseInsensitive: true });
  t.after(() => folds.close());
  // As each sign-in laid them: both folders on the case-sensitive disk, one on the other.
  await cp(join(base, 'a'), linux.root, { recursive: true, preserveTimestamps: true });
  await cp(join(base, 'b'), linux.root, { recursive: true, preserveTimestamps: true });
  await cp(join(base, 'a'), folds.root, { recursive: true, preserveTimestamps: true });
  await cp(join(base, 'b', 'templates'), join(folds.root, 'Templates'), { recursive: true, preserveTimestamps: true });
  await converge([folds, linux]);
  assert.deepEqual(await assertSame([linux, folds]), { 'Templates/': '', 'Templates/letter.dotx': 'letter', 'Templates/memo.dotx': 'memo' });
  for (const d of [linux, folds]) {
    const r = await d.pass();
    assert.equal(r.status === 'synced' && r.snapshot, undefined, `${d.name}'s next pass writes nothing`);
  }
});

test('a whiteout spelled otherwise than the org file it meets (a new org version respelled it) hides it on no machine, and a case-insensitive one keeps syncing', async (t) => {
  const base = await tempRoot(t, 'lower-case-whiteout');
  const store = new MemoryStore();
  await initStore(store);
  const repo = await openRepository(store);
  const publish = publisher(repo);
  const org = join(base, 'org');
  const v1 = await publish(org, { 'docs/report.txt': 'report v1', 'docs/keep.txt': 'keep' });
  const [linux, folds] = await laidMachines(t, base, store, org, [
    ['linux', { lower: [v1], caseInsensitive: false }],
    ['folds', { lower: [v1], caseInsensitive: true }],
  ]);
  await folds.remove('docs/report.txt');
  await converge([linux, folds]);
  assert.equal((await userTreeOf(repo, 'folds')).get('docs/report.txt')?.type, 'whiteout');
  const v2 = await publish(join(base, 'org-v2'), { 'Docs/Report.txt': 'report v2' });
  for (const d of [linux, folds]) d.folder.switchLower([v2], [v1]);
  await converge([linux, folds]);
  const listing = await assertSame([linux, folds]);
  assert.equal(listing['Docs/Report.txt'], 'report v2', 'a whiteout hides its own spelling only, as on a case-sensitive machine');
  assert.deepEqual(Object.keys(listing).filter((p) => p.toLowerCase().startsWith('docs/')), ['Docs/', 'Docs/Report.txt'], Object.keys(listing).join(', '));
  for (const d of [linux, folds]) {
    const r = await d.pass();
    assert.equal(r.status === 'synced' && r.snapshot, undefined, `${d.name}'s next pass writes nothing`);
  }
});
