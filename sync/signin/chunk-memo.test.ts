import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChunkerParams } from '../repo/types.js';
import type { ChunkFileFn, ChunkedFile } from '../restore/index.js';
import { ChunkMemo } from './chunk-memo.js';

const params: ChunkerParams = { algorithm: 'fastcdc', minSize: 256, avgSize: 1024, maxSize: 4096 };

/** A fake chunker that says which files it read: one chunk named after the call count. */
function fakeChunker(): { fn: ChunkFileFn; reads: string[] } {
  const reads: string[] = [];
  const fn: ChunkFileFn = async (path) => {
    reads.push(path);
    return { size: 0, chunks: [{ id: `c${reads.length}`, offset: 0, length: 1 }] };
  };
  return { fn, reads };
}

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-memo-'));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('ChunkMemo', () => {
  it('reads a file once while it is unchanged, and again after it changed', () =>
    withDir(async (dir) => {
      const f = join(dir, 'a');
      await writeFile(f, 'hello');
      const { fn, reads } = fakeChunker();
      const memo = new ChunkMemo(fn);
      const first = await memo.chunkFile(f, params, 'sha256');
      assert.deepEqual(await memo.chunkFile(f, params, 'sha256'), first);
      assert.equal(reads.length, 1);
      await writeFile(f, 'hello, world');
      await utimes(f, 1, 1);
      assert.notDeepEqual(await memo.chunkFile(f, params, 'sha256'), first);
      assert.equal(reads.length, 2);
    }));

  it('only(worth) does not read a file of a size it rejects, and offers no chunks from it', () =>
    withDir(async (dir) => {
      const small = join(dir, 'small');
      const large = join(dir, 'large');
      await writeFile(small, 'x'.repeat(10));
      await writeFile(large, 'y'.repeat(5000));
      const { fn, reads } = fakeChunker();
      const memo = new ChunkMemo(fn);
      const chunk = memo.only((size) => size === 10);
      assert.deepEqual(await chunk(large, params, 'sha256'), { size: 5000, chunks: [] });
      assert.equal((await chunk(small, params, 'sha256')).chunks.length, 1);
      assert.deepEqual(reads, [small]);
      // The rejected file is read, once, by the unrestricted chunker; then only() knows it too.
      const full = await memo.chunkFile(large, params, 'sha256');
      assert.deepEqual(await chunk(large, params, 'sha256'), full);
      assert.deepEqual(reads, [small, large]);
    }));

  it('remember() answers for a file as it is, without reading it, until it changes', () =>
    withDir(async (dir) => {
      const f = join(dir, 'laid');
      await writeFile(f, 'z'.repeat(300));
      const { fn, reads } = fakeChunker();
      const memo = new ChunkMemo(fn);
      const known: ChunkedFile = { size: 300, chunks: [{ id: 'k', offset: 0, length: 300 }] };
      await memo.remember(f, params, 'sha256', known);
      assert.deepEqual(await memo.chunkFile(f, params, 'sha256'), known);
      assert.deepEqual(reads, []);
      await memo.remember(join(dir, 'missing'), params, 'sha256', known).then(
        () => assert.fail('a missing file cannot be remembered'),
        (err: NodeJS.ErrnoException) => assert.equal(err.code, 'ENOENT'),
      );
      await writeFile(f, 'w'.repeat(301));
      assert.notDeepEqual(await memo.chunkFile(f, params, 'sha256'), known);
      assert.equal(reads.length, 1);
    }));

  it('remember() ignores a list whose size is not the file size', () =>
    withDir(async (dir) => {
      const f = join(dir, 'other');
      await writeFile(f, 'abc');
      const { fn, reads } = fakeChunker();
      const memo = new ChunkMemo(fn);
      await memo.remember(f, params, 'sha256', { size: 4, chunks: [{ id: 'k', offset: 0, length: 4 }] });
      await memo.chunkFile(f, params, 'sha256');
      assert.equal(reads.length, 1);
    }));
});
