import assert from 'node:assert/strict';
import fs, { writeFileSync } from 'node:fs';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { chunkFileHere } from '../chunker/index.js';
import { makeFifo, notWaitingOn } from '../testing/fifo.js';
import { makeRng, testSeed } from '../testing/random.js';
import { restoreTree } from './index.js';
import { walkAgain, walkSeeds } from './seed.js';
import { dir, expectedListing, file, listing, newRepo, saveLayer, tempDir, TEST_CHUNKER, type Spec } from './testkit.js';
import { poolChunkFile, poolChunkFiles } from './chunk.js';
import type { ChunkFileFn, ChunkFilesFn } from './types.js';

function layerFiles(seed: number): { name: string; data: Uint8Array }[] {
  const rng = makeRng(seed);
  return Array.from({ length: 20 }, (_, i) => ({ name: `file-${i}.bin`, data: rng.bytes(rng.range(30, 70) * 1024) }));
}

function specOf(files: { name: string; data: Uint8Array }[]): Spec {
  return { docs: dir(Object.fromEntries(files.slice(0, 10).map((f) => [f.name, file(f.data)]))), media: dir(Object.fromEntries(files.slice(10).map((f) => [f.name, file(f.data)]))) };
}

/** Counts lstatSync calls by path while `work` runs (the restore's walk and folder checks are synchronous). */
async function countingLstats<T>(work: () => Promise<T>): Promise<{ result: T; calls: Map<string, number> }> {
  const calls = new Map<string, number>();
  // node:fs's types declare its functions read-only; the module object takes the replacement all the same.
  const writable = fs as { lstatSync: typeof fs.lstatSync };
  const original = fs.lstatSync;
  writable.lstatSync = ((path: fs.PathLike, ...rest: unknown[]) => {
    calls.set(String(path), (calls.get(String(path)) ?? 0) + 1);
    return (original as (...a: unknown[]) => unknown)(path, ...rest);
  }) as typeof fs.lstatSync;
  syncBuiltinESMExports();
  try {
    return { result: await work(), calls };
  } finally {
    writable.lstatSync = original;
    syncBuiltinESMExports();
  }
}

describe('restore: seeding', () => {
  it('walks each inode once, and knows the lstat of every name of a hard link, walked again or not', async (t) => {
    const root = await tempDir(t, 'seed-links');
    await mkdir(join(root, 'a'));
    writeFileSync(join(root, 'a', 'one.txt'), 'same');
    fs.linkSync(join(root, 'a', 'one.txt'), join(root, 'two.txt'));
    writeFileSync(join(root, 'other.txt'), 'other');
    const walk = await walkSeeds([root], new Set());
    const names = (w: typeof walk): string[] => w.files.map((f) => f.path.slice(root.length + 1)).sort();
    assert.equal(walk.files.length, 2);
    assert.ok(names(walk).includes('other.txt'));
    assert.deepEqual([...walk.stats.keys()].map((p) => p.slice(root.length + 1)).sort(), ['a/one.txt', 'other.txt', 'two.txt']);
    assert.equal(walk.stats.get(join(root, 'two.txt'))?.ino, walk.stats.get(join(root, 'a', 'one.txt'))?.ino);
    // A name written since as another link to a file already listed: that inode is still listed once.
    await rm(join(root, 'two.txt'));
    writeFileSync(join(root, 'two.txt'), 'new');
    const linked = await walkSeeds([root], new Set());
    await rm(join(root, 'other.txt'));
    fs.linkSync(join(root, 'two.txt'), join(root, 'other.txt'));
    const again = walkAgain({ walk: linked, wrote: new Set([join(root, 'other.txt')]) });
    assert.equal(again.files.length, 2);
    assert.equal(again.stats.size, 3);
  });

  it('looks at each folder already on the disk once: the walk takes the lstat its check of the folder made', async (t) => {
    const spec: Spec = { a: dir({ b: dir({ c: dir({ 'f.txt': file('one') }) }), 'g.txt': file('two') }), d: dir({}) };
    const { repo } = await newRepo();
    const root = await saveLayer(repo, spec);
    const target = join(await tempDir(t, 'seed'), 'target');
    await restoreTree(repo, { target, root });
    // Again over the same folders (a golden image, a second sign-in): each is checked, then walked.
    const { calls } = await countingLstats(() => restoreTree(repo, { target, root, quickCheck: true }));
    assert.deepEqual(await listing(target), expectedListing(spec));
    for (const rel of ['a', 'a/b', 'a/b/c', 'd']) assert.equal(calls.get(join(target, rel)), 1, `lstats of folder ${rel}`);
  });

  it('chunks small seed files in batches, and one that changed after the walk listed it by path', async (t) => {
    const rng = makeRng(testSeed('restore seeding small files'));
    const files = Array.from({ length: 100 }, (_, i) => ({ name: `s${i}.txt`, data: rng.bytes(1 + ((i * 613) % 9000)) }));
    const spec: Spec = { small: dir(Object.fromEntries(files.map((f) => [f.name, file(f.data)]))) };
    const { repo } = await newRepo();
    const root = await saveLayer(repo, spec);
    const base = await tempDir(t, 'seed');
    const seedDir = join(base, 'golden');
    await mkdir(seedDir);
    for (const f of files) await writeFile(join(seedDir, f.name), f.data);
    const byPath: string[] = [];
    const batches: number[] = [];
    const chunkFile: ChunkFileFn = (path, params, hash) => (byPath.push(path), poolChunkFile(path, params, hash));
    const chunkFiles: ChunkFilesFn = (batch, params, hash) => {
      // s0.txt changes after the walk listed it: it must not be taken from the batch.
      if (batches.length === 0) writeFileSync(join(seedDir, 's0.txt'), 'changed, and longer than it was');
      batches.push(batch.length);
      return poolChunkFiles(batch, params, hash);
    };
    const stats = await restoreTree(repo, { target: join(base, 'target'), root, seeds: [seedDir], chunkFile, chunkFiles });
    assert.deepEqual(await listing(join(base, 'target')), expectedListing(spec));
    assert.deepEqual(byPath, [join(seedDir, 's0.txt')], 'only the changed file chunked by path');
    assert.deepEqual([...batches].sort(), [36, 64]);
    assert.equal(stats.bytesDownloaded, files[0]!.data.byteLength, 's0.txt downloaded, every other file seeded');
  });

  it('copies chunks of seed files (renamed, moved, edited) and downloads only the rest', async (t) => {
    const seed = testSeed('restore seeding');
    const rng = makeRng(seed);
    const files = layerFiles(seed);
    const spec = specOf(files);
    const { repo } = await newRepo();
    const root = await saveLayer(repo, spec);
    const base = await tempDir(t, 'seed');
    const seedDir = join(base, 'golden');
    await mkdir(join(seedDir, 'moved/elsewhere'), { recursive: true });
    // 80% of the files, under other names and folders; one edited in the middle.
    const shuffled = rng.shuffle(files);
    for (const [i, f] of shuffled.slice(0, 16).entries()) {
      const data = Buffer.from(f.data);
      if (i === 0) data.fill(0x55, data.length >> 1, (data.length >> 1) + 100);
      const where = i % 3 === 0 ? join(seedDir, 'moved/elsewhere', `renamed-${i}`) : join(seedDir, i % 3 === 1 ? `copy-${i}.old` : f.name);
      await writeFile(where, data);
    }
    const target = join(base, 'target');
    const stats = await restoreTree(repo, { target, root, seeds: [seedDir] });
    assert.deepEqual(await listing(target), expectedListing(spec));
    assert.equal(stats.bytesSeeded + stats.bytesDownloaded, stats.bytes);
    // Only the four absent files and the chunks around the edit (at most two max-size chunks) come down.
    const absent = shuffled.slice(16).reduce((sum, f) => sum + f.data.byteLength, 0);
    const allowed = absent + 2 * TEST_CHUNKER.maxSize;
    assert.ok(stats.bytesDownloaded >= absent, `downloaded ${stats.bytesDownloaded}, below the ${absent} absent bytes`);
    assert.ok(stats.bytesDownloaded <= allowed, `downloaded ${stats.bytesDownloaded} of ${stats.bytes}; allowed ${allowed}`);
  });

  it('verifies every seeded chunk: a seed that lies about its content is downloaded instead', async (t) => {
    const files = layerFiles(3);
    const spec = specOf(files);
    const { repo } = await newRepo();
    const root = await saveLayer(repo, spec);
    const base = await tempDir(t, 'seed');
    const seedDir = join(base, 'golden');
    await mkdir(seedDir);
    await writeFile(join(seedDir, 'honest'), (files[0] as { data: Uint8Array }).data);
    await writeFile(join(seedDir, 'liar'), Buffer.alloc((files[1] as { data: Uint8Array }).data.byteLength, 7));
    const lying: ChunkFileFn = (path, params, hash) =>
      path.endsWith('liar') ? chunkOf(files[1] as { data: Uint8Array }, base, params, hash) : chunkFileHere(path, params, hash);
    const target = join(base, 'target');
    const stats = await restoreTree(repo, { target, root, seeds: [seedDir], chunkFile: lying });
    assert.deepEqual(await listing(target), expectedListing(spec));
    assert.equal(stats.bytesSeeded, (files[0] as { data: Uint8Array }).data.byteLength);
  });

  it('a seed swapped for a FIFO after it was chunked is downloaded, not waited on', { skip: process.platform === 'win32' && 'no FIFOs on Windows', timeout: 60_000 }, async (t) => {
    const files = layerFiles(7);
    const spec = specOf(files);
    const { repo } = await newRepo();
    const root = await saveLayer(repo, spec);
    const base = await tempDir(t, 'seed');
    const seedDir = join(base, 'golden');
    await mkdir(seedDir);
    const seed = join(seedDir, 'swapped');
    await writeFile(seed, (files[0] as { data: Uint8Array }).data);
    const swapping: ChunkFileFn = async (path, params, hash) => {
      const chunked = await chunkFileHere(path, params, hash);
      await rm(path);
      makeFifo(path);
      return chunked;
    };
    const stats = await notWaitingOn(seed, restoreTree(repo, { target: join(base, 'target'), root, seeds: [seedDir], chunkFile: swapping }));
    assert.deepEqual(await listing(join(base, 'target')), expectedListing(spec));
    assert.equal(stats.bytesSeeded, 0);
  });

  it('does not follow symlinks in seed folders', async (t) => {
    const files = layerFiles(5);
    const spec = specOf(files);
    const { repo } = await newRepo();
    const root = await saveLayer(repo, spec);
    const base = await tempDir(t, 'seed');
    await mkdir(join(base, 'outside'));
    await mkdir(join(base, 'golden'));
    await writeFile(join(base, 'outside/secret'), (files[0] as { data: Uint8Array }).data);
    await symlink(join(base, 'outside/secret'), join(base, 'golden/link-file'));
    await symlink(join(base, 'outside'), join(base, 'golden/link-dir'));
    const stats = await restoreTree(repo, { target: join(base, 'target'), root, seeds: [join(base, 'golden')] });
    assert.equal(stats.bytesSeeded, 0);
    assert.equal(stats.bytesDownloaded, stats.bytes);
  });
});

/** The true chunk list of `f` (written to a scratch file), as a lying chunker would report it. */
async function chunkOf(f: { data: Uint8Array }, base: string, params: Parameters<ChunkFileFn>[1], hash: Parameters<ChunkFileFn>[2]) {
  const p = join(base, 'scratch');
  await writeFile(p, f.data);
  return chunkFileHere(p, params, hash);
}
