import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChunkerParams } from '../repo/types.js';
import type { ChunkFileFn, ChunkFilesFn, ChunkedFile } from '../restore/index.js';
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

/** A fake batch chunker: says which batches it got; a path in `refuse` is answered undefined (changed as it was read). */
function fakeBatches(refuse: ReadonlySet<string> = new Set()): { fn: ChunkFilesFn; batches: string[][] } {
  const batches: string[][] = [];
  const fn: ChunkFilesFn = async (files) => {
    batches.push(files.map((f) => f.path));
    return files.map((f) => (refuse.has(f.path) ? undefined : { size: f.st.size, chunks: [{ id: `b${batches.length}:${f.path}`, offset: 0, length: f.st.size }] }));
  };
  return { fn, batches };
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

  it('filesOnly(worth) chunks a batch in one call, answers repeats and files chunked one by one from memory, and reads no rejected size', () =>
    withDir(async (dir) => {
      const [a, b, c, big] = ['a', 'b', 'c', 'big'].map((n) => join(dir, n)) as [string, string, string, string];
      for (const f of [a, b, c]) await writeFile(f, `${f}!`);
      await writeFile(big, 'q'.repeat(5000));
      const { fn, reads } = fakeChunker();
      const many = fakeBatches();
      const memo = new ChunkMemo(fn, many.fn);
      const known = await memo.chunkFile(c, params, 'sha256');
      const batch = memo.filesOnly((size) => size < 1000)!;
      const files = await Promise.all([a, b, c, big].map(async (path) => ({ path, st: await lstat(path) })));
      const first = await batch(files, params, 'sha256');
      assert.deepEqual(many.batches, [[a, b]]);
      assert.deepEqual(first[2], known);
      assert.deepEqual(first[3], { size: 5000, chunks: [] });
      // Repeats come from memory, by batch or one by one.
      assert.deepEqual(await batch(files, params, 'sha256'), first);
      assert.deepEqual(await memo.chunkFile(a, params, 'sha256'), first[0]);
      assert.equal(many.batches.length, 1);
      assert.deepEqual(reads, [c]);
      // A file changed since is chunked again.
      await writeFile(a, 'changed, longer');
      const again = await batch([{ path: a, st: await lstat(a) }], params, 'sha256');
      assert.deepEqual(many.batches, [[a, b], [a]]);
      assert.notDeepEqual(again[0], first[0]);
    }));

  it('filesOnly leaves a file the batch could not take, or that is gone, to the caller, and remembers neither', () =>
    withDir(async (dir) => {
      const [a, gone] = [join(dir, 'a'), join(dir, 'gone')];
      await writeFile(a, 'abc');
      await writeFile(gone, 'def');
      const files = await Promise.all([a, gone].map(async (path) => ({ path, st: await lstat(path) })));
      await rm(gone);
      const many = fakeBatches(new Set([a]));
      const memo = new ChunkMemo(fakeChunker().fn, many.fn);
      assert.deepEqual(await memo.filesOnly()!(files, params, 'sha256'), [undefined, undefined]);
      assert.deepEqual(many.batches, [[a]]);
      await memo.filesOnly()!(files.slice(0, 1), params, 'sha256');
      assert.deepEqual(many.batches, [[a], [a]]);
    }));

  it('filesOnly is undefined without a batch chunker', () => {
    assert.equal(new ChunkMemo(fakeChunker().fn).filesOnly(), undefined);
  });
});
