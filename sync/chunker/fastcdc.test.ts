import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { ChunkerParams } from '../repo/types.js';
import { makeRng, testSeed } from '../testing/random.js';
import { cutPoints } from './fastcdc.js';
import { GEAR } from './gear.js';
import { DEFAULT_CHUNKER } from './params.js';
import { referenceCuts } from './reference.js';
import { fixedData } from './testdata.js';

const SMALL: ChunkerParams = { algorithm: 'fastcdc', minSize: 256, avgSize: 1024, maxSize: 4096 };

function lengths(ends: number[]): number[] {
  return ends.map((e, i) => e - (i === 0 ? 0 : ends[i - 1]!));
}

describe('fastcdc: format', () => {
  it('keeps the gear table derived from its documented seed', () => {
    const bytes = Buffer.alloc(1024);
    GEAR.forEach((g, i) => bytes.writeInt32BE(g, i * 4));
    assert.equal(createHash('sha256').update(bytes).digest('hex').slice(0, 16), 'c0e6c0ffc646a218');
    assert.equal(GEAR[0], createHash('sha256').update('strata/fastcdc/gear/v1/0').digest().readInt32BE(0));
  });

  it('cuts fixed input at fixed points (an accidental format change fails here)', () => {
    assert.deepEqual(cutPoints(fixedData(4 << 20, 0x12345678), DEFAULT_CHUNKER).slice(0, 4), [137694, 285929, 425392, 576528]);
    assert.deepEqual(cutPoints(fixedData(20000, 0x9abcdef), SMALL).slice(0, 6), [926, 2120, 2960, 4159, 5202, 6435]);
  });

  it('matches the one-byte reference rule', () => {
    const rng = makeRng(testSeed('fastcdc reference'));
    for (const p of [SMALL, DEFAULT_CHUNKER, { algorithm: 'fastcdc', minSize: 1000, avgSize: 2048, maxSize: 3001 } as ChunkerParams]) {
      const buf = rng.bytes(p.maxSize * 12 + rng.int(p.maxSize));
      assert.deepEqual(cutPoints(buf, p), referenceCuts(buf, p), `params ${JSON.stringify(p)}`);
    }
  });
});

describe('fastcdc: sizes', () => {
  it('gives no chunks for empty input and one for input up to minSize', () => {
    assert.deepEqual(cutPoints(new Uint8Array(0), DEFAULT_CHUNKER), []);
    assert.deepEqual(cutPoints(new Uint8Array(10), DEFAULT_CHUNKER), [10]);
    assert.deepEqual(cutPoints(fixedData(SMALL.minSize, 7), SMALL), [SMALL.minSize]);
  });

  it('keeps every chunk within min/max (only the last may be shorter)', () => {
    const rng = makeRng(testSeed('fastcdc sizes'));
    for (const p of [SMALL, DEFAULT_CHUNKER]) {
      const sizes = lengths(cutPoints(rng.bytes(p.maxSize * 40), p));
      for (const s of sizes.slice(0, -1)) assert.ok(s > p.minSize && s <= p.maxSize, `chunk of ${s} bytes`);
      assert.ok(sizes.at(-1)! <= p.maxSize);
    }
  });

  it('cuts constant data at maxSize', () => {
    assert.deepEqual(lengths(cutPoints(new Uint8Array(3 * 4096 + 5), SMALL)), [4096, 4096, 4096, 5]);
  });

  it('averages near the target size on random data', () => {
    const rng = makeRng(testSeed('fastcdc average'));
    const buf = rng.bytes(4 << 20);
    const mean = buf.length / cutPoints(buf, { algorithm: 'fastcdc', minSize: 1024, avgSize: 4096, maxSize: 16384 }).length;
    assert.ok(mean > 4096 && mean < 6144, `mean chunk ${mean}`);
  });
});
