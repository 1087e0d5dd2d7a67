// Live sync over a bucket whose listings lag its writes, as OpenStack Swift's may (store/lagging.ts):
// a pass that meets what a listing does not show yet may fail, saying so (E_NOT_LISTED_YET), but never for good;
// a blob still missing once the index was loaded again is damage (E_BLOB_NOT_FOUND).
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
  // Said as what it is, not as damage: an object the bucket does not list yet, tried again.
  await assert.rejects(a.pass(), (err: Error & { code?: string }) => err.code === 'E_NOT_LISTED_YET' && /not listed by the bucket yet/.test(err.message) && /tried again/.test(err.message));
  since = undefined;
  const next = await a.pass();
  assert.ok(next.status === 'synced' && next.snapshot !== undefined, JSON.stringify(next.status));
});

test('a blob still in no index once the index objects were loaded again is damage, said as E_BLOB_NOT_FOUND', async (t) => {
  const base = await tempRoot(t, 'lag-damage');
  const mem = new MemoryStore();
  await initStore(mem);
  const a = await Device.create(base, 'deva', mem);
  t.after(() => a.close());
  await a.write('f', 'f1');
  assert.equal((await a.pass()).status, 'synced');
  // The index objects are gone for good (damage), not merely unlisted.
  const keys: string[] = [];
  for await (const o of mem.list('index/')) keys.push(o.key);
  for (const key of keys) await mem.delete(key);
  await a.close();
  await a.open();
  await a.write('g', 'g1');
  // The first miss cannot be told from a listing that lags; the one after the index was loaded again can.
  await assert.rejects(a.pass(), (err: { code?: string }) => err.code === 'E_NOT_LISTED_YET');
  await assert.rejects(a.pass(), (err: Error & { code?: string }) => err.code === 'E_BLOB_NOT_FOUND' && /is in no index/.test(err.message));
  await assert.rejects(a.pass(), (err: { code?: string }) => err.code === 'E_BLOB_NOT_FOUND');
});
