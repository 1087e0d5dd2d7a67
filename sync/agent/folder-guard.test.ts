/**
 * The mass-delete guard over a folder's passes: a renamed folder is no mass delete, deletes are
 * still held when the same bytes survive under fewer names, and a restore puts back the last
 * version of a path deleted twice in the hour.
 */
import assert from 'node:assert/strict';
import { rename } from 'node:fs/promises';
import { test } from 'node:test';
import { MemoryStore } from '../store/memory.js';
import { assertSame, converge, Device, initStore, tempRoot, twoDevices } from './testkit.js';

test('renaming a folder that holds most of the files is not held as a mass delete: its files are all still there', async (t) => {
  const { a, b } = await twoDevices(t, 'rename-guard');
  for (let i = 0; i < 12; i++) await a.write(`docs/f${i}.txt`, `file ${i}`);
  await a.write('notes.txt', 'notes');
  await converge([a, b]);
  await rename(a.path('docs'), a.path('papers'));
  a.folder.markDirty(['docs', 'papers']);
  const r = await a.pass();
  assert.equal(r.status, 'synced', 'a rename deletes nothing');
  await converge([a, b]);
  const listing = await assertSame([a, b]);
  assert.equal(listing['papers/f3.txt'], 'file 3');
  assert.equal(listing['docs/'], undefined);
});

test('deleting most of the files is still held when the same bytes survive under fewer names', async (t) => {
  const base = await tempRoot(t, 'dup-guard');
  const mem = new MemoryStore();
  await initStore(mem);
  const a = await Device.create(base, 'deva', mem);
  t.after(() => a.close());
  // Twelve copies of one template, and one other file: deleting eleven copies is a mass delete.
  for (let i = 0; i < 12; i++) await a.write(`copies/c${i}.txt`, 'same bytes');
  await a.write('other.txt', 'other');
  await a.pass();
  for (let i = 1; i < 12; i++) await a.remove(`copies/c${i}.txt`);
  const r = await a.pass();
  assert.equal(r.status, 'held');
  assert.deepEqual(r.status === 'held' && { ...r.held, id: undefined }, { direction: 'local', files: 11, of: 13, id: undefined });
});

test('a held mass delete restored puts back the last version of a path deleted twice in the hour, not the first', async (t) => {
  const base = await tempRoot(t, 'restore-twice');
  const mem = new MemoryStore();
  await initStore(mem);
  const a = await Device.create(base, 'deva', mem);
  t.after(() => a.close());
  for (let i = 0; i < 20; i++) await a.write(`f${i}.txt`, `file ${i}`);
  await a.write('plan.txt', 'first draft');
  assert.equal((await a.pass()).status, 'synced');
  // Deleted, written again, deleted again: each pass goes through on its own.
  await a.remove('plan.txt');
  assert.equal((await a.pass()).status, 'synced');
  await a.write('plan.txt', 'final plan');
  assert.equal((await a.pass()).status, 'synced');
  await a.remove('plan.txt');
  assert.equal((await a.pass()).status, 'synced');
  for (let i = 0; i < 15; i++) await a.remove(`f${i}.txt`);
  const r = await a.pass();
  assert.equal(r.status, 'held');
  await a.folder.restoreHeld(r.status === 'held' ? r.held : assert.fail('not held'));
  assert.equal((await a.pass()).status, 'synced');
  assert.equal(await a.read('f3.txt'), 'file 3');
  assert.equal(await a.read('plan.txt'), 'final plan', 'the version deleted last comes back');
});
