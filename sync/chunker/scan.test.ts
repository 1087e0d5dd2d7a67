// The fast scan (eight bytes per step over aligned words, pre-shifted tables) must cut exactly
// where the plain one-byte rule does, whatever the data, alignment, parameters or read sizes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChunkerParams } from '../repo/types.js';
import { makeRng, testSeed, type Rng } from '../testing/random.js';
import { CutFinder, cutPoints } from './fastcdc.js';
import { DEFAULT_CHUNKER } from './params.js';
import { referenceCuts } from './reference.js';

const MiB = 1024 * 1024;
const fc = (minSize: number, avgSize: number, maxSize: number): ChunkerParams => ({ algorithm: 'fastcdc', minSize, avgSize, maxSize });
const PARAMS: ChunkerParams[] = [DEFAULT_CHUNKER, fc(256, 1024, 4096), fc(1001, 2048, 3001), fc(64, 1024, 1025), fc(4095, 16384, 65537)];

/** `data` copied to byte offset `at` of a fresh ArrayBuffer, so the scan sees every alignment. */
function placed(data: Uint8Array, at: number): Uint8Array {
  const out = new Uint8Array(new ArrayBuffer(at + data.length + 3), at, data.length);
  out.set(data);
  return out;
}

/** Cut points found by feeding a CutFinder pieces of random sizes, as a stream would. */
function streamedCuts(buf: Uint8Array, p: ChunkerParams, rng: Rng, maxPiece: number): number[] {
  const finder = new CutFinder(p);
  const ends: number[] = [];
  for (let at = 0; at < buf.length; ) {
    const to = Math.min(buf.length, at + rng.range(1, maxPiece));
    const piece = buf.subarray(at, to);
    for (let pos = 0; pos < piece.length; ) {
      const end = finder.next(piece, pos, piece.length);
      if (end < 0) break;
      ends.push(at + end);
      pos = end;
    }
    at = to;
  }
  if (finder.pending > 0) ends.push(buf.length);
  return ends;
}

function expectSameCuts(data: Uint8Array, p: ChunkerParams, rng: Rng, what: string): void {
  const expected = referenceCuts(data, p);
  for (let at = 0; at < 4; at++) {
    assert.deepEqual(cutPoints(placed(data, at), p), expected, `${what}, params ${JSON.stringify(p)}, byte offset ${at}`);
  }
  assert.deepEqual(cutPoints(Buffer.from(data), p), expected, `${what} as a Buffer, params ${JSON.stringify(p)}`);
  const maxPiece = rng.pick([7, 100, 5000, p.maxSize * 2].filter((n) => n * 2000 >= data.length));
  assert.deepEqual(streamedCuts(data, p, rng, maxPiece), expected, `${what} streamed in pieces up to ${maxPiece}, params ${JSON.stringify(p)}`);
}

function repeated(pattern: number[], n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = pattern[i % pattern.length]!;
  return out;
}

describe('scan: same cut points as the one-byte reference', () => {
  it('on several MiB of random data', () => {
    const rng = makeRng(testSeed('scan random'));
    expectSameCuts(rng.bytes(6 * MiB + rng.int(64)), DEFAULT_CHUNKER, rng, 'random data');
    for (const p of PARAMS.slice(1)) expectSameCuts(rng.bytes(p.maxSize * 40 + rng.int(64)), p, rng, 'random data');
  });

  it('cuts at every one of the eight positions of a scan step', () => {
    const rng = makeRng(testSeed('scan positions'));
    const buf = placed(rng.bytes(MiB), 0);
    const ends = cutPoints(buf, PARAMS[1]!);
    assert.deepEqual(ends, referenceCuts(buf, PARAMS[1]!));
    assert.equal(new Set(ends.slice(0, -1).map((e) => e % 8)).size, 8);
  });

  it('on low-entropy data: zeros, ones, short and long repeats, two-symbol noise', () => {
    const rng = makeRng(testSeed('scan low entropy'));
    const n = MiB + 5;
    const noise = rng.bytes(4096);
    const cases: Array<[string, Uint8Array]> = [
      ['zeros', new Uint8Array(n)],
      ['0xff bytes', new Uint8Array(n).fill(0xff)],
      ['period 2', repeated([0, 1], n)],
      ['period 3', repeated([7, 200, 33], n)],
      ['period 29', repeated([...noise.subarray(0, 29)], n)],
      ['period 4096', repeated([...noise], n)],
      ['bytes 0/1', rng.bytes(n).map((b) => b & 1)],
      ['text-like', rng.bytes(n).map((b) => 97 + (b % 26))],
    ];
    for (const [what, data] of cases) for (const p of PARAMS) expectSameCuts(data, p, rng, what);
  });

  it('on short inputs of every length around minSize', () => {
    const rng = makeRng(testSeed('scan short'));
    const p = fc(64, 1024, 1025);
    const data = rng.bytes(1200);
    for (let n = 0; n <= 1200; n += rng.range(1, 9)) expectSameCuts(data.subarray(0, n), p, rng, `${n} bytes`);
  });
});
