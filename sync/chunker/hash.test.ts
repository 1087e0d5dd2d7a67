import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blobId, createHasher, DEFAULT_HASH, isBlobId, isHashAlgorithm } from './hash.js';

// Published test vectors for "abc".
const ABC = {
  sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  blake3: '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85',
} as const;

describe('content ids', () => {
  for (const algorithm of ['sha256', 'blake3'] as const) {
    it(`${algorithm}: matches the published vector, one-shot and incremental`, () => {
      assert.equal(blobId(Buffer.from('abc'), algorithm), ABC[algorithm]);
      const h = createHasher(algorithm);
      h.update(Buffer.from('a'));
      h.update(new Uint8Array(0));
      h.update(Buffer.from('bc'));
      assert.equal(h.digestHex(), ABC[algorithm]);
      assert.ok(isBlobId(ABC[algorithm]));
    });
  }

  it('defaults new repositories to BLAKE3', () => {
    assert.equal(DEFAULT_HASH, 'blake3');
    assert.equal(blobId(Buffer.from('abc'), DEFAULT_HASH), ABC.blake3);
  });

  it('recognises ids and algorithms', () => {
    assert.ok(!isBlobId(ABC.sha256.toUpperCase()));
    assert.ok(!isBlobId(ABC.sha256.slice(1)));
    assert.ok(!isBlobId(42));
    assert.ok(isHashAlgorithm('blake3') && isHashAlgorithm('sha256') && !isHashAlgorithm('md5'));
  });
});
