import assert from 'node:assert/strict';
import type { Stats } from 'node:fs';
import { lstat, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { ChunkPool } from '../chunker/pool.js';
import { chunkBytes } from '../chunker/stream.js';
import type { ChunkerParams } from '../repo/types.js';
import { newRepo } from '../repo/testkit.js';
import type { ChunkedFile, ChunkFileOptions, FileChunker } from '../snapshot/index.js';
import type { IndexEntry } from '../state/index.js';
import { makeRng, testSeed } from '../testing/random.js';
import { BATCH_FILES } from '../chunker/small.js';
import { RepoUploader, type UploadOutcome } from './upload.js';

/** The worker pool, counting what it is asked: one call of chunkBuffers is one message to a worker. */
class CountingPool implements FileChunker {
  readonly pool = new ChunkPool({ size: 2, inlineBelow: 0 });
  readonly size = 2;
  files: string[] = [];
  batches: number[] = [];

  chunkFile(path: string, params: ChunkerParams, opts?: ChunkFileOptions): Promise<ChunkedFile> {
    this.files.push(path);
    return this.pool.chunkFile(path, params, opts);
  }

  chunkBuffers(files: readonly Uint8Array[], params: ChunkerParams, opts?: ChunkFileOptions): Promise<ChunkedFile[]> {
    this.batches.push(files.length);
    return this.pool.chunkBuffers(files, params, opts);
  }
}

async function setUp(t: TestContext) {
  const root = await mkdtemp(join(tmpdir(), 'strata-upload-'));
  const chunker = new CountingPool();
  t.after(async () => {
    await chunker.pool.close();
    await rm(root, { recursive: true, force: true });
  });
  const { repo } = await newRepo();
  const outcomes = new Map<string, UploadOutcome>();
  const uploader = new RepoUploader(repo, root, { chunker });
  const add = async (rel: string, st?: Stats) => uploader.add(rel, st ?? (await lstat(join(root, rel))), (o) => void outcomes.set(rel, o));
  return { root, chunker, repo, uploader, outcomes, add };
}

function chunksOf(o: UploadOutcome): readonly string[] | undefined {
  return o !== undefined && !('skipped' in o) ? (o as IndexEntry).chunks : undefined;
}

test('small files are read whole and chunked in batches, one message to a worker per batch, and their bytes stored as read', async (t) => {
  const { root, chunker, repo, uploader, outcomes, add } = await setUp(t);
  const rng = makeRng(testSeed('upload batches'));
  const content = new Map<string, Buffer>();
  for (let i = 0; i < 200; i++) content.set(`f${i}`, Buffer.from(rng.bytes(i === 7 ? 0 : 100 + (i * 37) % 4000)));
  content.set('large', Buffer.from(rng.bytes(300_000)));
  for (const [name, data] of content) await writeFile(join(root, name), data);

  for (const name of content.keys()) await add(name);
  uploader.walked();
  await uploader.idle();
  await repo.flush();

  assert.deepEqual(chunker.batches, [64, 64, 64, 8], `${BATCH_FILES} small files a batch, the last one partial`);
  assert.deepEqual(chunker.files, [join(root, 'large')], 'only the large file is chunked by path');
  const params = repo.format.chunker;
  for (const [name, data] of content) {
    const want = chunkBytes(data, params, repo.format.hash);
    assert.deepEqual(chunksOf(outcomes.get(name)), want.file.chunks.map((c) => c.id), name);
    for (const [i, c] of want.file.chunks.entries()) assert.ok(Buffer.from(await repo.readBlob(c.id)).equals(want.data[i]!), `${name} chunk ${i}`);
  }
});

test('a small file that changed after it was listed is not taken from the batch: it is read again and stored as it is now', async (t) => {
  const { root, chunker, repo, uploader, outcomes, add } = await setUp(t);
  await writeFile(join(root, 'a.txt'), 'first version');
  const listed = await lstat(join(root, 'a.txt'));
  await writeFile(join(root, 'a.txt'), 'the second, longer version');

  await add('a.txt', listed);
  uploader.walked();
  await uploader.idle();

  assert.deepEqual(chunker.batches, [], 'not batched');
  // The ordinary way: chunked by path, and again once the size it read differs from the listed one.
  assert.deepEqual(chunker.files, [join(root, 'a.txt'), join(root, 'a.txt')], 'read again by path');
  const e = outcomes.get('a.txt') as IndexEntry;
  assert.equal(e.size, 'the second, longer version'.length);
  assert.deepEqual(e.chunks, chunkBytes(Buffer.from('the second, longer version'), repo.format.chunker, repo.format.hash).file.chunks.map((c) => c.id));
});
