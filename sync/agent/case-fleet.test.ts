/**
 * One layer, machines whose disks fold case differently: a Linux device writes names that differ
 * only in case side by side; a Windows or macOS device cannot hold both. These tests pin what each
 * does with them (casefold.ts), and what a case-sensitive disk does under a case-insensitive policy.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { hasCaseCollisions } from '../plan/index.js';
import { openRepository } from '../repo/index.js';
import { MemoryStore } from '../store/memory.js';
import { snapshotTree } from './remote.js';
import { layerGraph } from './history.js';
import { TreeCache } from './trees.js';
import { assertSame, converge, Device, initStore, LAYER, tempRoot } from './testkit.js';

/** A device on a case-sensitive disk (`lin`, case-insensitive or not as `linFolds` says) and one that folds case (`win`). */
async function linuxAndWindows(t: TestContext, name: string, linFolds: boolean): Promise<{ mem: MemoryStore; lin: Device; win: Device }> {
  const base = await tempRoot(t, name);
  const mem = new MemoryStore();
  await initStore(mem);
  const lin = await Device.create(base, 'lin', mem, { caseInsensitive: linFolds });
  const win = await Device.create(base, 'win', mem, { caseInsensitive: true });
  t.after(async () => {
    await lin.close();
    await win.close();
  });
  return { mem, lin, win };
}

/** The paths of a device's head in the layer. */
async function headPaths(mem: MemoryStore, device: string): Promise<string[]> {
  const repo = await openRepository(mem);
  const head = (await repo.listHeads(LAYER)).heads.find((h) => h.device === device);
  assert.ok(head, `${device} has a head`);
  const tree = await snapshotTree({ graph: layerGraph(repo, LAYER), trees: new TreeCache(repo), chunks: new Map() }, head.snapshot);
  return [...tree.keys()];
}

const copies = (listing: Record<string, string>): string[] => Object.keys(listing).filter((p) => p.includes('.sync-conflict-'));

test('a case-insensitive device keeps the first of two names that differ only in case and sets the other aside, for every device, each time the other is written again', async (t) => {
  const { mem, lin, win } = await linuxAndWindows(t, 'case-fleet-today', false);
  await lin.write('README.txt', 'upper');
  await lin.write('Readme.txt', 'mixed');
  await lin.pass();
  assert.ok(hasCaseCollisions(await headPaths(mem, 'lin')), 'the case-sensitive device uploads both names');
  const w = await win.pass();
  assert.deepEqual(w.status === 'synced' && w.conflicts.map((c) => [c.path, c.reason, c.device]), [['Readme.txt', 'case', 'lin']]);
  await converge([lin, win]);
  let listing = await assertSame([lin, win]);
  assert.equal(listing['README.txt'], 'upper');
  assert.equal(listing['Readme.txt'], undefined, 'the case-sensitive device loses the name too');
  assert.equal(copies(listing).length, 1);
  // Saved again on the case-sensitive device: one more copy everywhere, and the name goes again.
  await lin.write('Readme.txt', 'mixed again', new Date(Date.now() + 5000));
  await converge([lin, win]);
  listing = await assertSame([lin, win]);
  assert.equal(listing['Readme.txt'], undefined);
  assert.deepEqual(copies(listing).map((p) => listing[p]).sort(), ['mixed', 'mixed again']);
});

test('a case-sensitive disk under a case-insensitive policy sets the second name aside itself: the layer never holds both', async (t) => {
  const { mem, lin, win } = await linuxAndWindows(t, 'case-fleet-policy', true);
  await lin.write('docs/README.txt', 'upper');
  await lin.write('docs/Readme.txt', 'mixed');
  const r = await lin.pass();
  assert.equal(r.status, 'synced');
  assert.deepEqual(r.status === 'synced' && r.conflicts.map((c) => [c.path, c.reason, c.device]), [['docs/Readme.txt', 'case', 'lin']]);
  assert.ok(!hasCaseCollisions(await headPaths(mem, 'lin')), 'the layer holds one of the names');
  let listing = await lin.listing();
  assert.equal(listing['docs/README.txt'], 'upper');
  assert.equal(listing['docs/Readme.txt'], undefined);
  assert.deepEqual(copies(listing).map((p) => listing[p]), ['mixed']);
  const w = await win.pass();
  assert.deepEqual(w.status === 'synced' && w.conflicts, [], 'nothing left for the case-insensitive device to set aside');
  await converge([lin, win]);
  // Made again beside it later (with a change from the other device to merge at the same time): set aside again.
  await lin.write('docs/Readme.txt', 'mixed again', new Date(Date.now() + 5000));
  await win.write('other.txt', 'from win');
  await win.pass();
  const again = await lin.pass();
  assert.deepEqual(again.status === 'synced' && again.conflicts.map((c) => [c.path, c.reason]), [['docs/Readme.txt', 'case']]);
  await converge([lin, win]);
  listing = await assertSame([lin, win]);
  assert.equal(listing['docs/README.txt'], 'upper');
  assert.deepEqual(copies(listing).map((p) => listing[p]).sort(), ['mixed', 'mixed again']);
});
