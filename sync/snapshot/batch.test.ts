import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ChunkPool } from '../chunker/pool.js';
import { newRepo, T0 } from '../repo/testkit.js';
import type { ChunkerParams } from '../repo/types.js';
import { makeRng, testSeed } from '../testing/random.js';
import { InProcessChunker } from './chunker.js';
import { takeSnapshot } from './snapshot.js';
import { listDisk, listTree, withTmp, writeFiles } from './testkit.js';
import type { ChunkedFile, ChunkFileOptions, FileChunker } from './types.js';

const base = { layer: 'user/alice', device: 'laptop', now: () => T0 };
const pool = new ChunkPool({ size: 2, inlineBelow: 0 });
after(() => pool.close());

/** The worker pool, counting what it is asked: files by path, and the size of each batch. */
class CountingPool implements FileChunker {
  readonly size = 2;
  files: string[] = [];
  batches: number[] = [];
  chunkFile(path: string, params: ChunkerParams, opts?: ChunkFileOptions): Promise<ChunkedFile> {
    this.files.push(path);
    return pool.chunkFile(path, params, opts);
  }
  chunkBuffers(files: readonly Uint8Array[], params: ChunkerParams, opts?: ChunkFileOptions): Promise<ChunkedFile[]> {
    this.batches.push(files.length);
    return pool.chunkBuffers(files, params, opts);
  }
}

/** Chunks every file by path, one by one: the way without batches. */
class ByPath implements FileChunker {
  private readonly inner = new InProcessChunker();
  chunkFile(path: string, params: ChunkerParams, opts?: ChunkFileOptions): Promise<ChunkedFile> {
    return this.inner.chunkFile(path, params, opts);
  }
}

describe('takeSnapshot: small files in batches', () => {
  it('stores the same tree, byte for byte, as chunking file by file, with a batch per worker message', async () => {
    await withTmp(async (root) => {
      const rng = makeRng(testSeed('snapshot batches'));
      const files: Record<string, Uint8Array> = {};
      for (let i = 0; i < 150; i++) files[`d${i % 3}/sub${i % 2}/f${i}`] = rng.bytes(i === 0 ? 0 : 1 + ((i * 911) % 20_000));
      files['edge/just-small'] = rng.bytes(64 * 1024 - 1);
      files['edge/not-small'] = rng.bytes(64 * 1024);
      files['large'] = rng.bytes(300_000);
      await writeFiles(root, files);
      const batched = new CountingPool();
      const a = await takeSnapshot((await newRepo()).repo, { ...base, root, chunker: batched });
      const b = await takeSnapshot((await newRepo()).repo, { ...base, root, chunker: new ByPath() });
      assert.equal(a.snapshot.root, b.snapshot.root, 'same root tree id, so every tree is byte-identical');
      assert.deepEqual(
        batched.files.map((p) => p.slice(root.length + 1)).sort(),
        ['edge/not-small', 'large'],
        'no small file chunked by path',
      );
      assert.equal(batched.batches.reduce((x, y) => x + y, 0), 151);
      assert.ok(batched.batches.length <= 12, `${batched.batches.length} batches for 151 small files in 6 folders`);
      assert.equal(a.stats.files, 153);
    });
  });

  it('stores what is on disk, and reads again a small file that changed after it was listed', async () => {
    await withTmp(async (root) => {
      await writeFiles(root, { 'a.txt': 'first version', 'b.txt': 'b' });
      const chunker = new CountingPool();
      const { repo } = await newRepo();
      // exclude runs between the walk's lstat of an entry and its read.
      const exclude = (rel: string): boolean => {
        if (rel === 'a.txt' && chunker.files.length === 0) writeFileSync(join(root, 'a.txt'), 'the second, longer version');
        return false;
      };
      const { snapshot, stats } = await takeSnapshot(repo, { ...base, root, chunker, exclude });
      assert.deepEqual(stats.skipped, []);
      assert.deepEqual(await listTree(repo, snapshot.root), await listDisk(root));
      // The ordinary way: chunked by path, and again once the size it read differs from the listed one.
      assert.deepEqual(chunker.files, [join(root, 'a.txt'), join(root, 'a.txt')], 'read again by path');
      assert.deepEqual(chunker.batches, [1], 'b.txt in a batch');
    });
  });
});
