import assert from 'node:assert/strict';
import { rename, symlink } from 'node:fs/promises';
import { test, type TestContext } from 'node:test';
import { MemoryStore } from '../store/memory.js';
import { assertSame, converge, Device, initStore, tempRoot } from './testkit.js';

async function twoDevices(t: TestContext) {
  const base = await tempRoot(t, 'folder');
  const store = new MemoryStore();
  await initStore(store);
  const a = await Device.create(base, 'deva', store);
  const b = await Device.create(base, 'devb', store);
  t.after(async () => {
    await a.close();
    await b.close();
  });
  return { a, b, store };
}

test('creates, edits, deletes and renames propagate both ways', async (t) => {
  const { a, b } = await twoDevices(t);
  await a.write('docs/report.txt', 'v1');
  await a.write('notes.md', 'hello');
  await symlink('docs/report.txt', a.path('link'));
  await converge([a, b]);
  assert.deepEqual(await assertSame([a, b]), { 'docs/': '', 'docs/report.txt': 'v1', link: '->docs/report.txt', 'notes.md': 'hello' });

  await b.write('docs/report.txt', 'v2 from b');
  await b.remove('notes.md');
  await rename(b.path('docs'), b.path('documents'));
  b.folder.markDirty(['docs', 'documents']);
  await converge([a, b]);
  assert.deepEqual(await assertSame([a, b]), { 'documents/': '', 'documents/report.txt': 'v2 from b', link: '->docs/report.txt' });
});

test('a concurrent edit gives exactly one conflict copy, the same on both devices', async (t) => {
  const { a, b } = await twoDevices(t);
  await a.write('f.txt', 'base');
  await converge([a, b]);
  await a.write('f.txt', 'from a', new Date('2024-06-01T10:00:00Z'));
  await b.write('f.txt', 'from b', new Date('2024-06-01T11:00:00Z'));
  await a.pass();
  await b.pass();
  await converge([a, b]);
  const listing = await assertSame([a, b]);
  const names = Object.keys(listing).sort();
  assert.equal(names.length, 2, JSON.stringify(listing));
  assert.equal(listing['f.txt'], 'from b', 'the newer edit keeps the name');
  const copy = names.find((n) => n.includes('.sync-conflict-'))!;
  assert.match(copy, /^f\.sync-conflict-20240601-100000-deva\.txt$/);
  assert.equal(listing[copy], 'from a');
});

test('edit against delete keeps the edit; identical edits give no conflict', async (t) => {
  const { a, b } = await twoDevices(t);
  await a.write('keep.txt', 'base');
  await a.write('same.txt', 'base');
  await converge([a, b]);
  await a.remove('keep.txt');
  await b.write('keep.txt', 'edited on b');
  await a.write('same.txt', 'identical', new Date('2024-06-01T10:00:00Z'));
  await b.write('same.txt', 'identical', new Date('2024-06-01T10:00:00Z'));
  await a.pass();
  await b.pass();
  await converge([a, b]);
  assert.deepEqual(await assertSame([a, b]), { 'keep.txt': 'edited on b', 'same.txt': 'identical' });
});

test('a pass that changes nothing writes nothing', async (t) => {
  const { a, b, store } = await twoDevices(t);
  await a.write('x', '1');
  await converge([a, b]);
  const before = await keys(store);
  const r = await a.pass();
  assert.equal(r.status, 'synced');
  assert.equal(r.status === 'synced' ? r.snapshot : 'x', undefined);
  assert.deepEqual(await keys(store), before);
});

async function keys(store: MemoryStore): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list('')) out.push(o.key);
  return out.sort();
}
