import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { blobId, DEFAULT_HASH } from '../chunker/hash.js';
import { makeBlobs, newRepo } from '../repo/testkit.js';
import { openRepository, type Repository } from '../repo/index.js';
import type { BlobId } from '../repo/types.js';
import { MemoryStore } from '../store/memory.js';
import { TEMP_PREFIX } from '../temps.js';
import { PackGets, treesOf } from '../testing/tree-gets.js';
import type { Node } from '../plan/index.js';
import { converge, Device, initStore, LAYER, tempRoot } from './testkit.js';
import { KeptTrees, TreeFiles } from './tree-files.js';
import { TreeCache } from './trees.js';

async function headRoot(repo: Repository, device: string): Promise<BlobId> {
  await repo.loadIndex();
  const head = await repo.readHead(LAYER, device);
  return (await repo.loadSnapshot(LAYER, head!.snapshot)).root;
}

/** deva (its trees kept in its state dir, its pack GETs recorded) and devb, synced over 21 folders. */
async function synced(t: TestContext, name: string) {
  const base = await tempRoot(t, name);
  const mem = new MemoryStore();
  await initStore(mem);
  const gets = new PackGets(mem);
  const treeDir = join(base, 'deva', 'state', 'trees');
  const a = await Device.create(base, 'deva', gets, { treeDir });
  const b = await Device.create(base, 'devb', mem);
  t.after(async () => {
    await a.close();
    await b.close();
  });
  for (let i = 0; i < 20; i++) await a.write(`d${i}/sub/f.txt`, `file ${i}`);
  await a.write('x/y/z/f.txt', 'deep');
  await converge([a, b]);
  const repo = await openRepository(mem);
  /** A restart of deva whose first pass must be a full one (no settled record: a racy file, a failed pass, a change). */
  const restart = async (): Promise<void> => {
    await a.close();
    await rm(join(a.state, 'settled.json'), { force: true });
    await a.open();
    gets.ranges = [];
  };
  return { base, mem, gets, treeDir, a, b, repo, restart };
}

test('the first pass after a restart fetches no tree it read before: only those new in the bucket', async (t) => {
  const { gets, a, b, repo, restart } = await synced(t, 'tree-files-restart');
  await restart();
  const quiet = await a.pass();
  assert.equal(quiet.status === 'synced' && quiet.snapshot, undefined, 'nothing changed');
  assert.deepEqual(gets.ranges, [], 'no pack read at all: every tree came from the state dir');

  const before = await treesOf(repo, await headRoot(repo, 'devb'));
  await b.write('x/y/z/f.txt', 'deep, edited');
  await b.pass();
  const after = await treesOf(repo, await headRoot(repo, 'devb'));
  await restart();
  assert.equal((await a.pass()).status, 'synced');
  assert.equal(await a.read('x/y/z/f.txt'), 'deep, edited');
  const fresh = [...after].filter((id) => !before.has(id));
  assert.equal(fresh.length, 4, 'the root, x, x/y and x/y/z');
  assert.deepEqual(gets.fetched(repo, after), new Set(fresh), 'only the trees the edit made were fetched');
});

test('a damaged entry (torn, or holding another tree) is never used: it is fetched again and replaced, and the pass is right', async (t) => {
  const { gets, treeDir, a, b, repo, restart } = await synced(t, 'tree-files-damaged');
  const listing = await a.listing();
  const root = await headRoot(repo, 'deva');
  const trees = await treesOf(repo, root);
  const [, first, second] = [...trees];
  await restart();
  // Torn as a power loss after the rename may leave it; two others swapped, each a valid tree under the other's name.
  await truncate(join(treeDir, root), 10);
  const [one, two] = await Promise.all([readFile(join(treeDir, first!)), readFile(join(treeDir, second!))]);
  await writeFile(join(treeDir, first!), two);
  await writeFile(join(treeDir, second!), one);
  const r = await a.pass();
  assert.equal(r.status === 'synced' && r.snapshot, undefined, 'nothing changed');
  assert.equal(r.status === 'synced' && r.wrote, 0);
  assert.deepEqual(gets.fetched(repo, trees), new Set([root, first, second]), 'the three damaged trees were fetched again, no other');
  for (const name of await readdir(treeDir)) {
    assert.equal(blobId(await readFile(join(treeDir, name)), repo.format.hash), name, `${name} holds its tree again`);
  }
  assert.deepEqual(await a.listing(), listing);
  await converge([a, b]);
  assert.deepEqual(await b.listing(), listing);
});

/** Blobs named by their hash, as TreeFiles keeps trees. */
function entries(n: number, size: number) {
  return makeBlobs(7, n, size);
}

async function bytesIn(dir: string): Promise<number> {
  let n = 0;
  for (const name of await readdir(dir)) n += (await stat(join(dir, name))).size;
  return n;
}

test('the kept trees are bounded: trim keeps the trees in use and drops the least recently used past max(floor, twice those)', async (t) => {
  const dir = join(await tempRoot(t, 'tree-files-bound'), 'trees');
  const blobs = entries(40, 100);
  const files = new TreeFiles(dir, DEFAULT_HASH, { minBytes: 1000 });
  for (const b of blobs) await files.write(b.id, b.data);
  assert.equal(await bytesIn(dir), 4000);
  // Read back in a new order: the last read are the most recently used.
  await files.read(blobs.slice(0, 5).map((b) => b.id));
  await files.trim(new Set(blobs.slice(30, 33).map((b) => b.id)));
  assert.equal(await bytesIn(dir), 1000, 'the floor');
  const left = new Set(await readdir(dir));
  for (const b of blobs.slice(30, 33)) assert.ok(left.has(b.id), 'a tree in use is kept');
  for (const b of blobs.slice(0, 5)) assert.ok(left.has(b.id), 'the recently read are kept');
  assert.ok(!left.has(blobs[5]!.id) && !left.has(blobs[29]!.id), 'the least recently used went');

  // More in use than the floor: twice that is kept.
  const big = makeBlobs(8, 40, 101);
  for (const b of big) await files.write(b.id, b.data);
  await files.trim(new Set(big.slice(0, 8).map((b) => b.id)));
  assert.equal(await bytesIn(dir), 2 * 8 * 101);
  // A new start finds the same entries (oldest first by time), and stays bounded.
  const again = new TreeFiles(dir, DEFAULT_HASH, { minBytes: 1000 });
  await again.trim(new Set());
  assert.equal(await bytesIn(dir), 909, 'the floor, in whole entries');
});

test('a pass prunes the kept trees to those it used and wrote, within the bound, however many passes write new ones', async (t) => {
  const dir = join(await tempRoot(t, 'tree-files-passes'), 'trees');
  const { repo } = await newRepo();
  const cache = new TreeCache(repo, new TreeFiles(dir, repo.format.hash, { minBytes: 2000 }));
  const chunk = makeBlobs(3, 1, 10)[0]!;
  let last = '';
  for (let i = 0; i < 30; i++) {
    const tree = new Map<string, Node>([['d', { type: 'dir', mode: 0o755 }], [`d/f${i}`, { type: 'file', size: 10, mtimeMs: 0, mode: 0o644, content: 'c' }]]);
    last = await cache.write(tree, new Map([['c', [chunk.id]]]));
    await repo.flush();
    await cache.loadAll(last);
    await cache.prune();
  }
  const bytes = await bytesIn(dir);
  assert.ok(bytes <= 2000, `${bytes} bytes kept`);
  const kept = new Set(await readdir(dir));
  assert.ok(kept.has(last), 'the last root is kept');
  for (const e of (await repo.loadTree(last)).entries) if (e.type === 'dir') assert.ok(kept.has(e.subtree), 'and its subtree');
});

test('what a writer killed half-way leaves is never used: its temp goes at the next start, a torn entry is dropped', async (t) => {
  const dir = join(await tempRoot(t, 'tree-files-crash'), 'trees');
  const [whole, torn] = entries(2, 300);
  const files = new TreeFiles(dir, DEFAULT_HASH);
  await files.write(whole!.id, whole!.data);
  await files.write(torn!.id, torn!.data);
  // A dead writer's temp (its pid gone), and an entry cut short (a power loss after the rename).
  const dead = spawnSync(process.execPath, ['-e', '0']).pid;
  const temp = `${TEMP_PREFIX}tree-${dead}-0123456789abcdef`;
  await writeFile(join(dir, temp), torn!.data.subarray(0, 100));
  await truncate(join(dir, torn!.id), 100);
  const again = new TreeFiles(dir, DEFAULT_HASH);
  const read = await again.read([whole!.id, torn!.id]);
  assert.deepEqual([...read.keys()], [whole!.id]);
  assert.ok(Buffer.from(whole!.data).equals(read.get(whole!.id)!));
  assert.deepEqual((await readdir(dir)).sort(), [whole!.id], "the temp and the torn entry are gone");
  // Written again, it is whole.
  await again.write(torn!.id, torn!.data);
  assert.ok(Buffer.from(torn!.data).equals((await new TreeFiles(dir, DEFAULT_HASH).read([torn!.id])).get(torn!.id)!));
});

test('a name that is no tree id is never a path: nothing is written outside the folder, nor kept', async (t) => {
  const base = await tempRoot(t, 'tree-files-names');
  const dir = join(base, 'trees');
  const [tree] = entries(1, 50);
  const files = new TreeFiles(dir, DEFAULT_HASH);
  for (const name of ['../escaped', '/tmp/../escaped', 'not-an-id', tree!.id.toUpperCase()]) await files.write(name, tree!.data);
  assert.ok(!(await readdir(base)).includes('escaped'), 'nothing beside the folder');
  assert.deepEqual(await readdir(dir).catch(() => []), [], 'nothing in it');
  assert.equal((await new TreeFiles(dir, DEFAULT_HASH).read([tree!.id.toUpperCase()])).size, 0);
});

test('KeptTrees reads the entries as found: verified, a bad one removed, and where there is no folder it makes none', async (t) => {
  const base = await tempRoot(t, 'tree-files-kept');
  const dir = join(base, 'trees');
  const none = await KeptTrees.open(dir, DEFAULT_HASH);
  assert.equal(none.has(entries(1, 50)[0]!.id), false);
  assert.deepEqual(await none.read([entries(1, 50)[0]!.id]), new Map());
  assert.ok(!(await readdir(base)).includes('trees'), 'no folder made');
  const [whole, torn, other] = entries(3, 300);
  const files = new TreeFiles(dir, DEFAULT_HASH);
  await files.writeAll([whole!, torn!, other!].map((e) => [e.id, e.data] as const));
  await truncate(join(dir, torn!.id), 100);
  await writeFile(join(dir, other!.id), whole!.data);
  const kept = await KeptTrees.open(dir, DEFAULT_HASH);
  assert.ok([whole, torn, other].every((e) => kept.has(e!.id)));
  const read = await kept.read([whole!.id, torn!.id, other!.id]);
  assert.deepEqual([...read.keys()], [whole!.id]);
  assert.ok(Buffer.from(whole!.data).equals(read.get(whole!.id)!));
  assert.deepEqual(await readdir(dir), [whole!.id], 'the bad ones removed');
  assert.equal(kept.has(torn!.id), false);
});
