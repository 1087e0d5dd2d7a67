import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { DEFAULT_HASH, type HashAlgorithm } from '../chunker/hash.js';
import { MemoryStore } from '../store/memory.js';
import { check } from './check.js';
import { DEFAULT_CHUNKER, DEFAULT_PACK_SIZE, initRepository, openRepository } from './format.js';
import { canonicalJson } from './json.js';
import { entryJson } from './pack.js';
import { encodeTree } from './tree.js';
import { T0, file, keysUnder, makeBlobs, newRepo, rejectsWith } from './testkit.js';
import { FORMAT_VERSION, keys, type Snapshot, type Tree } from './types.js';

// Reference digests computed without sync/chunker/hash.ts, so a mix-up there cannot hide here.
const blake3 = (createRequire(import.meta.url)('@napi-rs/blake-hash') as { blake3(b: Uint8Array): Buffer }).blake3;
const REFERENCE: Record<HashAlgorithm, (b: Uint8Array) => string> = {
  sha256: (b) => createHash('sha256').update(b).digest('hex'),
  blake3: (b) => blake3(b).toString('hex'),
};

describe('format object', () => {
  it('init writes it with the defaults and open reads it back', async () => {
    const store = new MemoryStore();
    const written = await initRepository(store, { id: 'r1', created: T0 });
    assert.deepEqual(written, {
      version: 1,
      id: 'r1',
      created: T0.toISOString(),
      hash: DEFAULT_HASH,
      chunker: { ...DEFAULT_CHUNKER },
      encryption: 'none',
      compression: 'none',
      packSize: DEFAULT_PACK_SIZE,
    });
    const repo = await openRepository(store);
    assert.deepEqual(repo.format, written);
  });

  it('init refuses when a repository exists', async () => {
    const store = new MemoryStore();
    await initRepository(store);
    await rejectsWith(initRepository(store), 'E_REPO_EXISTS', 'config');
  });

  it('open without a repository says to run strata init', async () => {
    const err = await rejectsWith(openRepository(new MemoryStore()), 'E_NO_REPOSITORY', 'config');
    assert.match(err.message, /strata init/);
  });

  const refused: [string, Record<string, unknown>, string][] = [
    ['an unknown hash', { hash: 'md5' }, 'E_UNSUPPORTED_FORMAT'],
    ['encryption', { encryption: 'aes-256-gcm' }, 'E_UNSUPPORTED_FORMAT'],
    ['compression', { compression: 'zstd' }, 'E_UNSUPPORTED_FORMAT'],
    ['a tiny pack size', { packSize: 10 }, 'E_BAD_OBJECT'],
    ['bad chunker parameters', { chunker: { algorithm: 'fastcdc', minSize: 10, avgSize: 5, maxSize: 1 } }, 'E_BAD_CHUNKER_PARAMS'],
    ['an unknown field', { extra: 1 }, 'E_BAD_OBJECT'],
    ['a missing field', { id: undefined }, 'E_BAD_OBJECT'],
  ];
  for (const [name, patch, code] of refused) {
    it(`open refuses a format object with ${name} (${code})`, async () => {
      const store = new MemoryStore();
      const good = await initRepository(store, { created: T0 });
      await store.put('config', Buffer.from(JSON.stringify({ ...good, ...patch })));
      await rejectsWith(openRepository(store), code, 'config');
    });
  }
});

describe('format object: the hash it names is the one every id uses', () => {
  const LAYER = 'user/alice';
  const cases: [string, HashAlgorithm | undefined, HashAlgorithm][] = [
    ['a sha256', 'sha256', 'sha256'],
    ['the default (blake3)', undefined, 'blake3'],
  ];
  for (const [name, asked, algorithm] of cases) {
    it(`${name} repository writes, reads back and checks clean with ${algorithm} ids`, async () => {
      const { store, repo } = await newRepo({ packSize: 4096, hash: asked });
      assert.equal(repo.format.hash, algorithm);
      const ref = REFERENCE[algorithm];
      const blobs = makeBlobs(7, 8, 1500, false, algorithm);
      for (const b of blobs) {
        assert.equal(b.id, ref(b.data));
        assert.equal(repo.blobId(b.data), ref(b.data));
        await repo.addBlob('data', b.id, b.data);
      }
      const tree: Tree = { entries: [file('a.bin', blobs)] };
      const root = await repo.saveTree(tree);
      assert.equal(root, ref(encodeTree(tree)));
      await repo.flush();
      const snapshot: Snapshot = { version: FORMAT_VERSION, layer: LAYER, device: 'laptop', time: T0.toISOString(), root, parents: [] };
      const snapId = await repo.saveSnapshot(snapshot);
      await repo.writeHead(LAYER, 'laptop', snapId);

      // Every content-named object in the store is named by the digest of its bytes.
      const named = [...(await keysUnder(store, 'data/')), ...(await keysUnder(store, 'index/')), ...(await keysUnder(store, 'layers/user/alice/snapshots/'))];
      assert.ok(named.length >= 4);
      for (const key of named) assert.equal(key.slice(-64), ref(await store.get(key)), key);

      const fresh = await openRepository(store);
      assert.deepEqual(fresh.indexErrors, []);
      for (const b of blobs) assert.deepEqual(await fresh.readBlob(b.id), b.data);
      assert.deepEqual(await fresh.loadTree(root), tree);
      assert.deepEqual(await fresh.loadSnapshot(LAYER, snapId), snapshot);
      assert.equal((await fresh.latestSnapshot(LAYER))?.id, snapId);
      const report = await check(fresh, { readData: true });
      assert.deepEqual([report.problems, report.warnings], [[], []]);
      assert.deepEqual(report.counts, { packs: report.counts.packs, indexes: 1, snapshots: 1, heads: 1, trees: 1 });
    });
  }

  it('a format object naming the other hash cannot read the repository (ids are not interchangeable)', async () => {
    const { store, repo } = await newRepo({ hash: 'sha256' });
    const [b] = makeBlobs(8, 1, 100, false, 'sha256');
    assert.ok(b);
    await repo.addBlob('data', b.id, b.data);
    const root = await repo.saveTree({ entries: [file('a', [b])] });
    await repo.flush();
    const snapId = await repo.saveSnapshot({ version: FORMAT_VERSION, layer: LAYER, device: 'laptop', time: T0.toISOString(), root, parents: [] });
    await store.put(keys.config, Buffer.from(JSON.stringify({ ...repo.format, hash: 'blake3' })));
    const wrong = await openRepository(store);
    assert.deepEqual(wrong.indexErrors.map((e) => e.code), ['E_OBJECT_HASH_MISMATCH']);
    await rejectsWith(wrong.loadSnapshot(LAYER, snapId), 'E_OBJECT_HASH_MISMATCH', keys.snapshot(LAYER, snapId));
  });

  it('init refuses an unknown hash (E_UNSUPPORTED_FORMAT)', async () => {
    const store = new MemoryStore();
    await rejectsWith(initRepository(store, { hash: 'md5' as HashAlgorithm }), 'E_UNSUPPORTED_FORMAT', 'config');
    assert.equal(await store.head(keys.config), undefined);
  });
});

describe('pack trailer', () => {
  it('is canonical JSON of the pack entries, as the generic encoder writes it', () => {
    const entries = [
      { id: 'a'.repeat(64), type: 'data' as const, offset: 0, length: 17 },
      { id: 'b'.repeat(64), type: 'tree' as const, offset: 17, length: 123_456_789 },
    ];
    for (const e of entries) assert.equal(entryJson(e), canonicalJson(e));
  });
});
