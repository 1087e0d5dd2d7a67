import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isStrataError } from '../errors.js';
import { DEFAULT_CHUNKER, masksFor, validateChunkerParams } from './params.js';

function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v; v >>>= 1) n += v & 1;
  return n;
}

describe('chunker params', () => {
  it('accepts the defaults', () => {
    assert.deepEqual(validateChunkerParams({ ...DEFAULT_CHUNKER }), DEFAULT_CHUNKER);
    assert.deepEqual(DEFAULT_CHUNKER, { algorithm: 'fastcdc', minSize: 32768, avgSize: 131072, maxSize: 524288 });
  });

  const bad: Array<[string, unknown]> = [
    ['not an object', 'fastcdc'],
    ['null', null],
    ['unknown algorithm', { ...DEFAULT_CHUNKER, algorithm: 'rabin' }],
    ['avg not a power of two', { ...DEFAULT_CHUNKER, avgSize: 200000 }],
    ['min >= avg', { ...DEFAULT_CHUNKER, minSize: 131072 }],
    ['avg >= max', { ...DEFAULT_CHUNKER, maxSize: 131072 }],
    ['fractional size', { ...DEFAULT_CHUNKER, minSize: 1.5 }],
    ['string size', { ...DEFAULT_CHUNKER, maxSize: '1048576' }],
    ['negative size', { ...DEFAULT_CHUNKER, minSize: -1 }],
    ['min too small', { algorithm: 'fastcdc', minSize: 16, avgSize: 1024, maxSize: 4096 }],
    ['avg too small', { algorithm: 'fastcdc', minSize: 64, avgSize: 512, maxSize: 4096 }],
    ['avg too large', { algorithm: 'fastcdc', minSize: 64, avgSize: 32 << 20, maxSize: 64 << 20 }],
    ['max too large', { algorithm: 'fastcdc', minSize: 64, avgSize: 1024, maxSize: 128 << 20 }],
  ];
  for (const [name, value] of bad) {
    it(`refuses ${name} with E_BAD_CHUNKER_PARAMS naming the object`, () => {
      assert.throws(
        () => validateChunkerParams(value, { key: 'config' }),
        (err: unknown) => isStrataError(err, 'E_BAD_CHUNKER_PARAMS') && err.key === 'config',
      );
    });
  }

  it('derives normalization level 2 masks', () => {
    const { hard, easy } = masksFor(DEFAULT_CHUNKER);
    assert.equal(popcount(hard), 19);
    assert.equal(popcount(easy), 15);
    assert.equal(hard & easy, easy, 'the easy mask is a subset of the hard one');
    assert.equal((hard >>> 29) & 7, 0, 'the top three bits stay free for the unrolled scan');
  });
});
