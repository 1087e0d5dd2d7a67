import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cutPoints } from '../chunker/fastcdc.js';
import { blobId } from '../chunker/hash.js';
import { DEFAULT_CHUNKER } from '../chunker/params.js';
import type { ChunkerParams } from '../repo/types.js';
import { makeRng, testSeed } from '../testing/random.js';
import { InProcessChunker } from './chunker.js';
import { withTmp } from './testkit.js';

function expected(buf: Uint8Array, params: ChunkerParams) {
  let start = 0;
  return cutPoints(buf, params).map((end) => {
    const c = { id: blobId(buf.subarray(start, end), 'sha256'), offset: start, length: end - start };
    start = end;
    return c;
  });
}

describe('InProcessChunker', () => {
  const small: ChunkerParams = { algorithm: 'fastcdc', minSize: 256, avgSize: 1024, maxSize: 4096 };

  for (const [label, params, size] of [
    ['small params', small, 200_000],
    ['default params across read pieces', DEFAULT_CHUNKER, 9 * 1024 * 1024 + 12_345],
  ] as const) {
    it(`cuts and hashes exactly like cutPoints on the whole buffer (${label})`, async () => {
      const rng = makeRng(testSeed(`chunker ${label}`));
      const data = rng.bytes(size);
      await withTmp(async (dir) => {
        const path = join(dir, 'f');
        await writeFile(path, data);
        const got = await new InProcessChunker().chunkFile(path, params, { hash: 'sha256' });
        assert.equal(got.size, size);
        assert.ok(got.chunks.length > 1);
        assert.deepEqual(got.chunks, expected(data, params));
      });
    });
  }

  it('gives an empty file no chunks and a tiny file one', async () => {
    await withTmp(async (dir) => {
      await writeFile(join(dir, 'empty'), '');
      await writeFile(join(dir, 'tiny'), 'hello');
      const c = new InProcessChunker();
      assert.deepEqual(await c.chunkFile(join(dir, 'empty'), small, { hash: 'sha256' }), { size: 0, chunks: [] });
      assert.deepEqual(await c.chunkFile(join(dir, 'tiny'), small, { hash: 'sha256' }), { size: 5, chunks: [{ id: blobId(Buffer.from('hello'), 'sha256'), offset: 0, length: 5 }] });
    });
  });
});
