/**
 * A user layer over org layers (DESIGN §1): the folder shows overlay([org…, user]); the agent
 * writes only the user layer, with copy-ups for edited org files and whiteouts for deleted ones.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { flatten } from '../plan/index.js';
import { openRepository } from '../repo/index.js';
import { takeSnapshot } from '../snapshot/index.js';
import type { ObjectStore } from '../store/index.js';
import { MemoryStore } from '../store/memory.js';
import { makeExcluder } from '../watch/index.js';
import type { FolderOptions } from './folder.js';
import { includeRules } from './include.js';
import { assertSame, converge, Device, initStore, LAYER, listDir, tempRoot } from './testkit.js';

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
  const userTree = async (device: string) => {
    const head = (await repo.listHeads(LAYER)).heads.find((h) => h.device === device)!;
    const snap = await repo.loadSnapshot(LAYER, head.snapshot);
    const trees = new Map();
    const load = async (id: string): Promise<void> => {
      const tree = await repo.loadTree(id);
      trees.set(id, tree);
      for (const e of tree.entries) if (e.type === 'dir') await load(e.subtree);
    };
    await repo.loadIndex();
    await load(snap.root);
    return flatten(trees.get(snap.root), (id) => trees.get(id));
  };
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
