import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { isStrataError } from '../errors.js';
import type { Node } from '../plan/index.js';
import { openRepository } from '../repo/index.js';
import { MemoryStore } from '../store/memory.js';
import { loadPending, resolvePending, savePending } from './pending.js';
import { Device, initStore, LAYER, tempRoot } from './testkit.js';

const dir: Node = { type: 'dir', mode: 0o755 };
const file = (content: string, mtimeMs = 1000): Node => ({ type: 'file', size: content.length, mtimeMs, mode: 0o644, content });
const tree = (entries: Record<string, Node>) => new Map(Object.entries(entries));

test('paths the executor wrote or had yet to write take the pending merge; what the user changed stays', () => {
  const base = tree({ a: file('old-a'), b: file('old-b'), c: file('old-c') });
  const merged = tree({ a: file('theirs'), b: file('old-b'), c: file('theirs-c'), d: dir, 'd/x': file('x'), 'd/y': file('y') });
  // The executor wrote `a` and created `d` with `d/x`, then stopped; the user then edited `b`.
  const disk = tree({ a: file('theirs'), b: file('user'), c: file('old-c'), d: dir, 'd/x': file('x') });
  const r = resolvePending(base, disk, merged, 'deva');
  assert.deepEqual(r.merged, tree({ a: file('theirs'), b: file('user'), c: file('theirs-c'), d: dir, 'd/x': file('x'), 'd/y': file('y') }));
  assert.deepEqual(r.conflicts, []);
});

test('a user edit to a path the merge changed and the executor had not reached keeps both versions', () => {
  const base = tree({ x: file('x0') });
  const merged = tree({ x: file('x from devb', 2000) });
  const disk = tree({ x: file('x by the user', 3000) });
  const r = resolvePending(base, disk, merged, 'deva');
  const contents = [...r.merged.values()].map((n) => (n.type === 'file' ? n.content : n.type)).sort();
  assert.deepEqual(contents, ['x by the user', 'x from devb']);
  assert.equal(r.merged.get('x')?.type === 'file' && (r.merged.get('x') as { content: string }).content, 'x by the user', 'the newer version keeps the name');
  assert.equal(r.conflicts.length, 1);
});

test('a file the user made where the merge makes a dir: the dir keeps its files and the file is a conflict copy', () => {
  const merged = tree({ d: dir, 'd/f': file('f in d') });
  const disk = tree({ d: file('a file named d') });
  const r = resolvePending(new Map(), disk, merged, 'deva');
  assert.equal(r.merged.get('d')?.type, 'dir');
  assert.equal(r.merged.get('d/f')?.type, 'file');
  assert.ok([...r.merged.values()].some((n) => n.type === 'file' && n.content === 'a file named d'));
});

test('the pending record round-trips, and a damaged one is refused with its path', async (t) => {
  const dirPath = await tempRoot(t, 'pending');
  const file = join(dirPath, 'pending.json');
  assert.equal(await loadPending(file), undefined);
  const p = { parents: ['a'.repeat(64)], root: 'b'.repeat(64), base: 'c'.repeat(64) };
  await savePending(file, p);
  assert.deepEqual(await loadPending(file), p);
  const overruling = { ...p, overruled: true as const };
  await savePending(file, overruling);
  assert.deepEqual(await loadPending(file), overruling);
  await writeFile(file, JSON.stringify({ parents: p.parents, root: p.root }));
  await assert.rejects(loadPending(file), (err: Error & { code?: string }) => err.code === 'E_BAD_STATE' && err.message.includes('damaged'));
});

// A pending record naming a tree no index holds (an index deleted or refused, a record from another
// bucket): the one line must say which record and which folder, or nobody knows what to move aside.
test('a pending merge whose tree is in no index fails naming the record and the folder', async (t) => {
  const base = await tempRoot(t, 'pending-missing');
  const mem = new MemoryStore();
  await initStore(mem);
  const a = await Device.create(base, 'deva', mem);
  t.after(() => a.close());
  await a.write('doc.txt', 'hello');
  await a.pass();
  const pendingFile = join(a.state, 'pending.json');
  const repo = await openRepository(mem);
  const head = (await repo.listHeads(LAYER)).heads[0]!;
  const laid = (await repo.loadSnapshot(LAYER, head.snapshot)).root;
  const missing = 'f'.repeat(64);
  for (const [p, which] of [[{ root: missing, base: laid }, 'merged tree'], [{ root: laid, base: missing }, 'tree of the disk it began on']] as const) {
    await savePending(pendingFile, { parents: [], ...p });
    await a.close();
    await a.open();
    // The first miss may be an index object the bucket does not list yet; once the index is loaded again, it is damage.
    await assert.rejects(a.pass(), (err) => isStrataError(err, 'E_NOT_LISTED_YET') && err.path === pendingFile);
    await assert.rejects(a.pass(), (err) => {
      assert.ok(isStrataError(err, 'E_BLOB_NOT_FOUND'), String(err));
      const line = String(err);
      assert.ok(line.startsWith(`E_BLOB_NOT_FOUND ${pendingFile}: `), line);
      assert.ok(line.includes(`${which} ${missing.slice(0, 12)}`), line);
      assert.ok(line.includes(a.root), line);
      assert.ok(!line.includes('\n'), line);
      return true;
    });
  }
});
