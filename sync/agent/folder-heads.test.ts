/**
 * Other devices' heads as a folder merges them: a new device over a chain of VDI sessions (each a
 * device of its own) merges the newest head only, and a snapshot lost from the bucket behind an
 * old head merged long ago does not stop the passes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keys } from '../repo/types.js';
import { MemoryStore } from '../store/memory.js';
import { converge, Device, initStore, LAYER, listDir, tempRoot } from './testkit.js';

test('a new device over a chain of VDI sessions (each a device of its own) merges the newest head only, reading the others\' snapshots together', async (t) => {
  const base = await tempRoot(t, 'vdi-chain');
  const store = new MemoryStore();
  await initStore(store);
  for (let s = 0; s < 30; s++) {
    const d = await Device.create(base, `vdi${s}`, store);
    await d.pass();
    await d.write(`docs/f${s % 7}.txt`, `edit ${s}`);
    await d.pass();
    await d.close();
  }
  let inFlight = 0;
  let peak = 0;
  const packs: string[] = [];
  const get = store.get.bind(store);
  store.get = async (key, range) => {
    if (key.startsWith('data/')) packs.push(key);
    if (!key.includes('/snapshots/')) return get(key, range);
    peak = Math.max(peak, ++inFlight);
    await new Promise((r) => setTimeout(r, 2));
    inFlight--;
    return get(key, range);
  };
  const fresh = await Device.create(base, 'fresh', store);
  t.after(() => fresh.close());
  assert.equal((await fresh.pass()).status, 'synced');
  assert.deepEqual(Object.keys(await listDir(fresh.root)).sort(), ['docs/', ...Array.from({ length: 7 }, (_, i) => `docs/f${i}.txt`)].sort());
  assert.equal(await fresh.read('docs/f1.txt'), 'edit 29');
  assert.ok(peak > 1, `snapshot reads in flight at once: ${peak}`);
  // The newest head's trees and the files' chunks; merged one by one, every head's trees were read.
  assert.ok(packs.length <= 12, `pack reads: ${packs.length}`);
});

test("a snapshot missing from the bucket behind an old head this device merged long ago does not stop its passes", async (t) => {
  const base = await tempRoot(t, 'lost-snapshot');
  const mem = new MemoryStore();
  await initStore(mem);
  const a = await Device.create(base, 'deva', mem);
  const b = await Device.create(base, 'devb', mem);
  const c = await Device.create(base, 'devc', mem);
  t.after(async () => {
    await a.close();
    await b.close();
    await c.close();
  });
  await c.write('z', 'z1');
  const first = await c.pass();
  const lost = first.status === 'synced' && first.snapshot !== undefined ? first.snapshot : assert.fail('no snapshot');
  await c.write('z', 'z2');
  await c.pass();
  // devc goes away; deva merges its head, devb deva's; then devb writes on.
  await converge([a, b]);
  await b.write('y', 'from b');
  await b.pass();
  await mem.delete(keys.snapshot(LAYER, lost));
  await a.close();
  await a.open();
  assert.equal((await a.pass()).status, 'synced');
  assert.equal(await a.read('y'), 'from b');
});
