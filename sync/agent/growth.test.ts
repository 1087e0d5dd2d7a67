/**
 * What a folder keeps in memory between passes must not grow with the passes (the agent runs for
 * weeks in a tray): bounded by the layer and the devices syncing it now, not by their history.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keys } from '../repo/types.js';
import { MemoryStore } from '../store/memory.js';
import type { SnapshotGraph } from './history.js';
import { assertSame, Device, initStore, LAYER, tempRoot } from './testkit.js';

/** The folder's private state, as these tests measure it. */
const inside = (d: Device) => d.folder as unknown as { graph: SnapshotGraph; considered: Map<string, string> };

test('the snapshots a folder keeps in memory stay bounded however many passes wrote them', async (t) => {
  const base = await tempRoot(t, 'growth-graph');
  const mem = new MemoryStore();
  await initStore(mem);
  const a = await Device.create(base, 'deva', mem, { snapshotsKept: 8 });
  const b = await Device.create(base, 'devb', mem, { snapshotsKept: 8 });
  t.after(async () => {
    await a.close();
    await b.close();
  });
  for (let i = 0; i < 40; i++) {
    await a.write(`f${i % 5}.txt`, `version ${i}`);
    assert.equal((await a.pass()).status, 'synced');
    assert.equal((await b.pass()).status, 'synced');
  }
  await assertSame([a, b]);
  // 80 snapshots were written (each of a's passes, and b's merge of it); a pass uses a few.
  assert.ok(inside(a).graph.loaded <= 8, `deva keeps ${inside(a).graph.loaded} snapshots`);
  assert.ok(inside(b).graph.loaded <= 8, `devb keeps ${inside(b).graph.loaded} snapshots`);
});

test('a folder forgets the devices whose heads are gone (VDI sessions, their final heads dropped)', async (t) => {
  const base = await tempRoot(t, 'growth-devices');
  const mem = new MemoryStore();
  await initStore(mem);
  const b = await Device.create(base, 'devb', mem);
  t.after(() => b.close());
  for (let i = 0; i < 10; i++) {
    const session = await Device.create(base, `vdi-${i}`, mem);
    await session.write(`s${i}.txt`, `session ${i}`);
    await session.pass();
    await session.close();
    assert.equal((await b.pass()).status, 'synced');
    // A later sign-in drops the final head of a session that signed out (signin/device-head.ts).
    await mem.delete(keys.head(LAYER, `vdi-${i}`));
  }
  assert.equal((await b.pass()).status, 'synced');
  assert.equal(Object.keys(await b.listing()).length, 10);
  assert.deepEqual([...inside(b).considered.keys()], []);
});
