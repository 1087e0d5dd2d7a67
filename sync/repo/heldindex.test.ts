// gc's compact form of an index (heldindex.ts) must give back exactly what the index said.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeRng, testSeed } from '../testing/random.js';
import { HeldIndex } from './heldindex.js';
import { decodeIndexFile, encodeIndex, type IndexedPack } from './indexfile.js';
import { MAX_BLOB_BYTES } from './pack.js';
import { keys } from './types.js';

describe('held index', () => {
  it('gives back every pack and blob entry as decoded, in order', () => {
    const seed = testSeed('held index round trip');
    const rng = makeRng(seed);
    const hex = () => Buffer.from(rng.bytes(32)).toString('hex');
    const packs: IndexedPack[] = [];
    for (let p = 0; p < 20; p++) {
      const size = 2 ** 40;
      const blobs = Array.from({ length: rng.int(5) }, () => ({ id: hex(), type: rng.chance(0.3) ? ('tree' as const) : ('data' as const), offset: rng.int(2 ** 32) * 128 + rng.int(128), length: rng.chance(0.1) ? MAX_BLOB_BYTES : rng.int(1000) }));
      packs.push({ id: hex(), size, blobs });
    }
    packs.push({ ...(packs[0] as IndexedPack), blobs: [] }); // a pack named twice, the second time empty
    const { id, bytes } = encodeIndex(packs, 'sha256', ['1'.repeat(64)]);
    const key = keys.index(id);
    const decoded = decodeIndexFile(key, bytes, 'sha256');
    const held = new HeldIndex({ key, ...decoded });
    assert.deepEqual(held.decoded(), decoded, `seed ${seed}`);
    assert.equal(held.blobs, packs.reduce((s, p) => s + p.blobs.length, 0));
    assert.deepEqual(held.pack(3), decoded.packs[3]);
    assert.deepEqual(held.packs, decoded.packs.map((p) => ({ id: p.id, size: p.size })));
  });
});
