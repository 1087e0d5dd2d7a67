/**
 * What a folder keeps in memory between passes must not grow with the passes (the agent runs for
 * weeks in a tray): bounded by the layer and the devices syncing it now, not by their history.
 * Nor what a pass adds to the bucket beyond what changed: each index object costs every later
 * start and sign-in a GET.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keys } from '../repo/types.js';
import { MemoryStore } from '../store/memory.js';
import type { SnapshotGraph } from './history.js';
import { assertSame, Device, initStore, LAYER, tempRoot, twoDevices } from './testkit.js';

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

test('a pass that changes files writes one index object, for its chunks and its trees together; a merge of it writes none', async (t) => {
  const { mem, a, b } = await twoDevices(t, 'growth-index');
  const indexes = async (): Promise<number> => {
    let n = 0;
    for await (const o of mem.list('index/')) if (o.key.startsWith('index/')) n++;
    return n;
  };
  await a.write('docs/a.txt', 'one');
  await a.pass();
  await b.pass();
  const changes: [string, () => Promise<void>][] = [
    ['an edit', () => a.write('docs/a.txt', 'two')],
    ['a new file in new folders', () => a.write('new/deep/b.txt', 'b')],
    ['a delete', () => a.remove('docs/a.txt')],
  ];
  for (const [what, change] of changes) {
    let before = await indexes();
    await change();
    assert.equal((await a.pass()).status, 'synced');
    assert.equal((await indexes()) - before, 1, `index objects written by a pass with ${what}`);
    before = await indexes();
    assert.equal((await b.pass()).status, 'synced');
    assert.equal((await indexes()) - before, 0, `index objects written by the pass merging ${what}`);
  }
  {
    const n = await indexes();
    assert.equal((await a.pass()).status, 'synced');
    assert.equal(await indexes(), n, 'index objects written by a pass with no change');
  }
  await assertSame([a, b]);
});
