import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import type { ChunkerParams } from '../repo/types.js';
import { makeRng, testSeed } from '../testing/random.js';
import { cutPoints } from './fastcdc.js';
import { blobId } from './hash.js';
import { DEFAULT_CHUNKER } from './params.js';
import { ChunkHasher, Chunker, chunkBytes, chunkStream, type Chunk } from './stream.js';

const SMALL: ChunkerParams = { algorithm: 'fastcdc', minSize: 256, avgSize: 1024, maxSize: 4096 };

function pieces(buf: Uint8Array, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(Buffer.from(buf.subarray(i, i + size)));
  return out;
}

function pushAll(buf: Uint8Array, size: number, p: ChunkerParams): Chunk[] {
  const chunker = new Chunker(p);
  return [...pieces(buf, size).flatMap((piece) => chunker.push(piece)), ...chunker.end()];
}

function expectChunks(buf: Uint8Array, chunks: Array<{ offset: number; length: number }>, p: ChunkerParams): void {
  assert.deepEqual(
    chunks.map((c) => c.offset + c.length),
    cutPoints(buf, p),
  );
  let offset = 0;
  for (const c of chunks) {
    assert.equal(c.offset, offset);
    offset += c.length;
  }
}

describe('streaming chunker', () => {
  it('gives the same chunks and bytes whatever the piece size', () => {
    const rng = makeRng(testSeed('chunker pieces'));
    const cases: Array<[number, ChunkerParams, number]> = [
      [1, SMALL, 200_000],
      [7, DEFAULT_CHUNKER, 3 << 20],
      [4099, SMALL, 300_000],
      [1 << 20, DEFAULT_CHUNKER, 5 << 20],
    ];
    for (const [size, p, n] of cases) {
      const buf = Buffer.from(rng.bytes(n + rng.int(1000)));
      const chunks = pushAll(buf, size, p);
      expectChunks(buf, chunks, p);
      for (const c of chunks) assert.ok(c.data.equals(buf.subarray(c.offset, c.offset + c.length)), `piece size ${size}`);
    }
  });

  it('hashes chunks across pieces without changing their ids', () => {
    const rng = makeRng(testSeed('chunk hasher'));
    const buf = Buffer.from(rng.bytes(3 << 20));
    for (const hash of ['sha256', 'blake3'] as const) {
      for (const size of [13, 65536, 1 << 20]) {
        const hasher = new ChunkHasher(DEFAULT_CHUNKER, hash);
        const refs = [...pieces(buf, size).flatMap((piece) => hasher.push(piece)), ...hasher.end()];
        expectChunks(buf, refs, DEFAULT_CHUNKER);
        for (const r of refs) assert.equal(r.id, blobId(buf.subarray(r.offset, r.offset + r.length), hash));
        assert.equal(hasher.size, buf.length);
        assert.deepEqual(chunkBytes(buf, DEFAULT_CHUNKER, hash).file, { size: buf.length, chunks: refs });
      }
    }
  });

  it('gives nothing for empty input, even pushed as empty pieces', () => {
    const chunker = new Chunker(SMALL);
    assert.deepEqual([...chunker.push(new Uint8Array(0)), ...chunker.end()], []);
    const hasher = new ChunkHasher(SMALL);
    assert.deepEqual([...hasher.push(new Uint8Array(0)), ...hasher.end()], []);
  });

  it('chunks an async byte stream', async () => {
    const rng = makeRng(testSeed('chunkStream'));
    const buf = Buffer.from(rng.bytes(2 << 20));
    const chunks: Chunk[] = [];
    for await (const c of chunkStream(Readable.from(pieces(buf, 100_000)), DEFAULT_CHUNKER)) chunks.push(c);
    expectChunks(buf, chunks, DEFAULT_CHUNKER);
    assert.ok(Buffer.concat(chunks.map((c) => c.data)).equals(buf));
  });

  it('refuses bad parameters', () => {
    assert.throws(() => new Chunker({ ...SMALL, avgSize: 1000 }), { code: 'E_BAD_CHUNKER_PARAMS' });
  });
});
