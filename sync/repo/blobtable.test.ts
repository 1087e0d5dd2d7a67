// The compact blob table behind Repository's index (blobtable.ts), checked against a Map.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeRng, testSeed, type Rng } from '../testing/random.js';
import { BlobTable } from './blobtable.js';
import { ForwardingStore } from '../store/forwarding.js';
import { openRepository } from './format.js';
import { encodeIndex } from './indexfile.js';
import { newRepo } from './testkit.js';
import { keys, type BlobLocation } from './types.js';

const hexId = (rng: Rng) => Buffer.from(rng.bytes(32)).toString('hex');

describe('blob table', () => {
  it('holds many ids through growth, each at its own location, and finds no other', () => {
    const seed = testSeed('blob table many ids');
    const rng = makeRng(seed);
    const table = new BlobTable(seed);
    const model = new Map<string, BlobLocation>();
    const packs = Array.from({ length: 300 }, () => hexId(rng));
    // Past several pages (4096 entries) and bucket doublings (from 1024).
    for (let i = 0; i < 30_000; i++) {
      const id = hexId(rng);
      const loc: BlobLocation = { pack: rng.pick(packs), type: rng.chance(0.1) ? 'tree' : 'data', offset: rng.int(2 ** 32) * 256 + rng.int(256), length: rng.int(64 * 1024 * 1024 + 1) };
      assert.equal(table.add(id, loc.pack, loc.type, loc.offset, loc.length), true);
      model.set(id, loc);
      assert.equal(table.size, model.size);
    }
    for (const [id, loc] of model) {
      assert.equal(table.has(id), true);
      assert.deepEqual(table.get(id), loc);
    }
    for (let i = 0; i < 10_000; i++) {
      const id = hexId(rng);
      assert.equal(table.has(id), model.has(id));
      assert.deepEqual(table.get(id), model.get(id));
    }
  });

  it('keeps the first location of an id added twice', () => {
    const rng = makeRng(7);
    const table = new BlobTable(7);
    const ids = Array.from({ length: 5000 }, () => hexId(rng));
    ids.forEach((id, i) => table.add(id, 'a'.repeat(64), 'data', i, 10));
    ids.forEach((id, i) => assert.equal(table.add(id, 'b'.repeat(64), 'tree', i + 1, 20), false));
    assert.equal(table.size, ids.length);
    ids.forEach((id, i) => assert.deepEqual(table.get(id), { pack: 'a'.repeat(64), type: 'data', offset: i, length: 10 }));
  });

  it('tells apart ids that differ in one digit anywhere', () => {
    // Of the 192,000 near misses, a few hundred land in their id's bucket and are compared with it.
    const rng = makeRng(3);
    const table = new BlobTable(3);
    const ids = Array.from({ length: 1000 }, () => hexId(rng));
    for (const id of ids) table.add(id, 'p'.repeat(64), 'data', 0, 1);
    for (const id of ids) {
      for (let i = 0; i < 64; i++) {
        for (const d of ['0', '7', 'f']) {
          const other = id.slice(0, i) + d + id.slice(i + 1);
          if (other !== id) assert.equal(table.has(other), false, `${id} digit ${i}`);
        }
      }
    }
  });

  it('holds no string that is not an id', () => {
    const table = new BlobTable(1);
    const id = 'c'.repeat(64);
    table.add(id, 'p'.repeat(64), 'data', 0, 1);
    for (const bad of ['C'.repeat(64), id.slice(1), `${id}c`, '', 'g'.repeat(64), `${'c'.repeat(63)}\u0063\u0301`, 'ｃ'.repeat(64)]) {
      assert.equal(table.has(bad), false, JSON.stringify(bad));
      assert.equal(table.get(bad), undefined);
    }
    assert.throws(() => table.add('C'.repeat(64), 'p', 'data', 0, 1), { code: 'E_BAD_OBJECT' });
    assert.equal(table.size, 1);
  });

  it('finds every id whatever the seed (the seed only places ids in buckets)', () => {
    const ids = Array.from({ length: 3000 }, (_, i) => i.toString(16).padStart(64, '0'));
    for (const seed of [0, 1, 0xffffffff, 0x80000000]) {
      const table = new BlobTable(seed);
      for (const id of ids) table.add(id, 'p'.repeat(64), 'data', 0, 1);
      assert.equal(ids.every((id) => table.has(id)), true, `seed ${seed}`);
      assert.equal(table.has('f'.repeat(64)), false);
    }
  });
});

describe('blob table against a Map (property)', () => {
  // Sizes where a page fills (4096 entries) or the buckets double (1024, 2048, …): the table is
  // compared whole with the model at one less, at, and one past each.
  const BOUNDARIES = [1, 2, 1023, 1024, 1025, 2047, 2048, 2049, 4095, 4096, 4097, 8191, 8192, 8193, 12287, 12288, 12289, 16383, 16384, 16385];

  /** An id that differs from `id` only in word `w` (8 hex digits): the same prefix or suffix. */
  const nearId = (rng: Rng, id: string) => {
    const w = rng.int(8);
    let other = id;
    while (other === id) other = id.slice(0, 8 * w) + Buffer.from(rng.bytes(4)).toString('hex') + id.slice(8 * w + 8);
    return other;
  };

  it('adds, re-adds and looks up as a Map keeping the first location does, across pages and growth', () => {
    const seed = testSeed('blob table property');
    const rng = makeRng(seed);
    const table = new BlobTable(rng.int(2 ** 32));
    const model = new Map<string, BlobLocation>();
    const ids: string[] = [];
    const packs = Array.from({ length: 50 }, () => hexId(rng));
    const location = (): BlobLocation => ({ pack: rng.pick(packs), type: rng.chance(0.2) ? 'tree' : 'data', offset: rng.chance(0.1) ? Number.MAX_SAFE_INTEGER - rng.int(1000) : rng.int(2 ** 32) * 64 + rng.int(64), length: rng.int(64 * 1024 * 1024 + 1) });
    const wholeEqual = (at: string) => {
      assert.equal(table.size, model.size, `${at} seed ${seed}`);
      for (const [id, loc] of model) assert.deepEqual(table.get(id), loc, `${at}: ${id} seed ${seed}`);
    };
    let boundary = 0;
    while (model.size <= (BOUNDARIES.at(-1) as number)) {
      const op = rng.int(100);
      if (op < 60 || ids.length === 0) {
        // A new id: random, or one word away from one held.
        const id = ids.length > 0 && rng.chance(0.3) ? nearId(rng, rng.pick(ids)) : hexId(rng);
        const loc = location();
        const fresh = !model.has(id);
        assert.equal(table.add(id, loc.pack, loc.type, loc.offset, loc.length), fresh, `add ${id} seed ${seed}`);
        if (fresh) {
          model.set(id, loc);
          ids.push(id);
        }
      } else if (op < 75) {
        const id = rng.pick(ids);
        const loc = location();
        assert.equal(table.add(id, loc.pack, loc.type, loc.offset, loc.length), false, `re-add ${id} seed ${seed}`);
      } else {
        const id = rng.chance(0.5) ? rng.pick(ids) : nearId(rng, rng.pick(ids));
        assert.equal(table.has(id), model.has(id), `has ${id} seed ${seed}`);
        assert.deepEqual(table.get(id), model.get(id), `get ${id} seed ${seed}`);
      }
      if (model.size === BOUNDARIES[boundary]) {
        wholeEqual(`at ${model.size}`);
        boundary++;
      }
    }
    wholeEqual('at the end');
  });

  it('keeps the first of two locations per id when an id comes again after the table grew', () => {
    const seed = testSeed('blob table first after growth');
    const rng = makeRng(seed);
    const table = new BlobTable(seed);
    const first = new Map<string, BlobLocation>();
    for (let round = 0; round < 5; round++) {
      // Each round adds 3000 new ids, then every id held again at another place.
      for (let i = 0; i < 3000; i++) {
        const id = hexId(rng);
        const loc: BlobLocation = { pack: hexId(rng), type: 'data', offset: rng.int(1000), length: rng.int(1000) };
        table.add(id, loc.pack, loc.type, loc.offset, loc.length);
        first.set(id, loc);
      }
      for (const id of first.keys()) assert.equal(table.add(id, hexId(rng), 'tree', 1, 2), false, `seed ${seed}`);
      assert.equal(table.size, first.size);
    }
    for (const [id, loc] of first) assert.deepEqual(table.get(id), loc, `seed ${seed}`);
  });
});

describe('repository index: the first location seen wins', () => {
  it('reads a blob an index names in two packs from the first of them', async () => {
    const { store, repo } = await newRepo();
    const blob = 'e'.repeat(64);
    const [a, b] = ['a'.repeat(64), 'b'.repeat(64)];
    const { id, bytes } = encodeIndex(
      [
        { id: a, size: 100, blobs: [{ id: blob, type: 'data', offset: 0, length: 10 }] },
        { id: b, size: 100, blobs: [{ id: blob, type: 'tree', offset: 20, length: 30 }] },
      ],
      repo.format.hash,
    );
    await store.put(keys.index(id), bytes);
    await repo.loadIndex();
    assert.deepEqual(repo.blobLocation(blob), { pack: a, type: 'data', offset: 0, length: 10 });
    assert.equal(repo.indexedBlobs, 1);
    assert.deepEqual(repo.treesInPack(b), []);
  });
});

describe('repository index: loading', () => {
  it('adds each index to the table once it is fetched, not once every index is', async () => {
    const { store, repo: writer } = await newRepo();
    const blob = (i: number) => i.toString(16).padStart(64, '0');
    const pack = (i: number, n: number) => ({ id: 'a'.repeat(63) + i.toString(), size: 1000, blobs: Array.from({ length: n }, (_, j) => ({ id: blob(10 * i + j), type: 'data' as const, offset: 10 * j, length: 10 })) });
    // Listed largest first, the three-blob index is fetched alone, the others in the next round.
    for (const [i, n] of [[1, 3], [2, 1], [3, 1]] as const) {
      const { id, bytes } = encodeIndex([pack(i, n)], writer.format.hash);
      await store.put(keys.index(id), bytes);
    }
    const heldAtGet: number[] = [];
    let held = () => -1;
    const watching = new (class extends ForwardingStore {
      override get(key: string) {
        if (key.startsWith('index/')) heldAtGet.push(held());
        return super.get(key);
      }
    })(store);
    const repo = await openRepository(watching, { loadIndex: false });
    held = () => repo.indexedBlobs;
    await repo.loadIndex();
    assert.equal(heldAtGet.length, 3);
    assert.equal(heldAtGet[0], 0);
    assert.equal(heldAtGet[1], 3, 'the first index is in the table before the next is fetched');
    assert.equal(repo.indexedBlobs, 5);
  });
});
