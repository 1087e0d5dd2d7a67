// A preload whose admin head and the layer's latest snapshot crossed (each holds a snapshot the
// other side wrote meanwhile: a device's pass ran while each of two preloads ran) has two best
// common ancestors; a file the user deleted since must not come back from the one that lacks it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Device, initStore, LAYER, tempRoot } from '../agent/testkit.js';
import { openRepository } from '../repo/index.js';
import { writeFiles } from '../snapshot/testkit.js';
import { MemoryStore } from '../store/memory.js';
import { BeforeSnapshot } from '../testing/before-snapshot.js';
import { preloadUserLayer } from './index.js';

const USER = LAYER.slice('user/'.length);
const at = (minute: number): Date => new Date(Date.UTC(2024, 4, 1, 9, minute));

test("files the user deleted after their device's passes crossed two preloads stay deleted at the next preload", async (t) => {
  const base = await tempRoot(t, 'preload-criss-cross');
  const store = new MemoryStore();
  await initStore(store);
  let clock = at(0);
  const dev = await Device.create(base, 'deva', store, { now: () => clock });
  t.after(() => dev.close());
  const preload = async (name: string, files: Record<string, string>, minute: number, meanwhile?: () => Promise<void>) => {
    const dir = join(base, name);
    await writeFiles(dir, files, at(minute));
    const through = meanwhile ? new BeforeSnapshot(store, LAYER, meanwhile) : store;
    return preloadUserLayer(await openRepository(through), USER, { from: dir, now: () => at(minute) });
  };
  const pass = async (minute: number): Promise<void> => {
    clock = at(minute);
    await dev.pass();
  };

  await pass(0); // the device's first snapshot, empty: the root of both histories
  // While the first preload runs, the device writes g.txt, not seeing the template's t.txt.
  await preload('v1', { 't.txt': 't' }, 1, async () => {
    await dev.write('g.txt', 'g');
    await pass(2);
  });
  // While the second runs (it merges the device's g.txt with its own t.txt), the device takes the
  // first preload's t.txt, then the user deletes both files.
  await preload('v2', { 't.txt': 't', 'u.txt': 'u' }, 3, async () => {
    await pass(4);
    assert.deepEqual(await dev.listing(), { 'g.txt': 'g', 't.txt': 't' });
    await dev.remove('g.txt');
    await dev.remove('t.txt');
    await pass(5);
  });
  // The same template again: its admin head (g.txt and t.txt) and the device's (neither) have two
  // best common ancestors, the device's snapshot with g.txt alone and the first preload's with t.txt alone.
  const third = await preload('v3', { 't.txt': 't', 'u.txt': 'u' }, 6);
  assert.deepEqual(third.kept, []);
  await pass(7);
  assert.deepEqual(await dev.listing(), { 'u.txt': 'u' }, 'neither deleted file came back');
});
