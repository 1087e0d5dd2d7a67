// Live sync over a bucket whose listings lag its writes, as OpenStack Swift's may (store/lagging.ts):
// a pass that meets what a listing does not show yet may fail, but never for good.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LaggingStore } from '../store/lagging.js';
import { MemoryStore } from '../store/memory.js';
import { Device, initStore, tempRoot } from './testkit.js';

test('a device restarted while the listing lags the index objects of its own last pass syncs once the listing catches up', async (t) => {
  const base = await tempRoot(t, 'lag-own');
  const mem = new MemoryStore();
  await initStore(mem);
  let since: number | undefined;
  const store: LaggingStore = new LaggingStore(mem, { lag: (prefix) => (prefix === 'index/' && since !== undefined ? store.writes - since : 0) });
  const a = await Device.create(base, 'deva', store);
  t.after(() => a.close());
  await a.write('f', 'f1');
  since = store.writes;
  const first = await a.pass();
  assert.equal(first.status, 'synced');
  // Restarted before the listing shows the index objects that pass wrote: its own tree is in none it sees.
  await a.close();
  await a.open();
  await a.write('g', 'g1');
  await assert.rejects(a.pass(), (err: { code?: string }) => err.code === 'E_BLOB_NOT_FOUND');
  since = undefined;
  const next = await a.pass();
  assert.ok(next.status === 'synced' && next.snapshot !== undefined, JSON.stringify(next.status));
});
