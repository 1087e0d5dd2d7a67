/**
 * The two-way sync scenarios of issue #4, written once and run on every store: the MemoryStore
 * (folder.test.ts) and the real Swift S3 server (folder-s3.test.ts). Each device has its own
 * folder, state dir and Repository; they share only the store.
 */
import assert from 'node:assert/strict';
import { rename, symlink } from 'node:fs/promises';
import { test, type TestContext } from 'node:test';
import type { ObjectStore } from '../store/index.js';
import { assertSame, converge, Device, initStore, tempRoot } from './testkit.js';

export interface ScenarioOptions {
  /** A fresh, empty store, and how to dispose of it. */
  makeStore: () => Promise<{ store: ObjectStore; cleanup?: () => Promise<void> }>;
  skip?: string | false;
}

async function devices(t: TestContext, opts: ScenarioOptions, names: string[]): Promise<Device[]> {
  const base = await tempRoot(t, 'scenario');
  const { store, cleanup } = await opts.makeStore();
  await initStore(store);
  const out: Device[] = [];
  for (const n of names) out.push(await Device.create(base, n, store));
  t.after(async () => {
    for (const d of out) await d.close();
    await cleanup?.();
  });
  return out;
}

async function keys(store: ObjectStore): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list('')) out.push(o.key);
  return out.sort();
}

export function defineScenarios(label: string, opts: ScenarioOptions): void {
  const skip = opts.skip;

  test(`${label}: creates, edits, deletes and renames propagate between three devices`, { skip }, async (t) => {
    const [a, b, c] = await devices(t, opts, ['deva', 'devb', 'devc']) as [Device, Device, Device];
    await a.write('docs/report.txt', 'v1');
    await a.write('notes.md', 'hello');
    await symlink('docs/report.txt', a.path('link'));
    await converge([a, b, c]);
    assert.deepEqual(await assertSame([a, b, c]), { 'docs/': '', 'docs/report.txt': 'v1', link: '->docs/report.txt', 'notes.md': 'hello' });

    await b.write('docs/report.txt', 'v2 from b');
    await c.remove('notes.md');
    await c.write('new/deep/file.txt', 'from c');
    await rename(b.path('docs'), b.path('documents'));
    b.folder.markDirty(['docs', 'documents']);
    await converge([a, b, c]);
    assert.deepEqual(await assertSame([a, b, c]), {
      'documents/': '',
      'documents/report.txt': 'v2 from b',
      link: '->docs/report.txt',
      'new/': '',
      'new/deep/': '',
      'new/deep/file.txt': 'from c',
    });
  });

  test(`${label}: a concurrent edit gives exactly one conflict copy, the same on every device`, { skip }, async (t) => {
    const [a, b, c] = await devices(t, opts, ['deva', 'devb', 'devc']) as [Device, Device, Device];
    await a.write('f.txt', 'base');
    await converge([a, b, c]);
    await a.write('f.txt', 'from a', new Date('2024-06-01T10:00:00Z'));
    await b.write('f.txt', 'from b', new Date('2024-06-01T11:00:00Z'));
    await a.pass();
    await b.pass();
    await converge([a, b, c]);
    const listing = await assertSame([a, b, c]);
    assert.deepEqual(listing, { 'f.sync-conflict-20240601-100000-deva.txt': 'from a', 'f.txt': 'from b' }, 'the newer edit keeps the name');
  });

  test(`${label}: edit against delete keeps the edit; identical edits give no conflict`, { skip }, async (t) => {
    const [a, b] = await devices(t, opts, ['deva', 'devb']) as [Device, Device];
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

  test(`${label}: once in agreement, a pass writes nothing to the store`, { skip }, async (t) => {
    const [a, b] = await devices(t, opts, ['deva', 'devb']) as [Device, Device];
    await a.write('x', '1');
    await converge([a, b]);
    const before = await keys(a.store);
    a.folder.markAllDirty();
    const r = await a.pass();
    assert.equal(r.status, 'synced');
    assert.equal(r.status === 'synced' ? r.snapshot : 'x', undefined);
    assert.deepEqual(await keys(a.store), before);
  });
}
