// A corpus of hostile objects: each case plants bytes in the store (raw, or by corrupting what a
// writer wrote) and names the error code a reader must refuse them with. None may crash.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore } from '../store/memory.js';
import { openRepository } from './format.js';
import { decodeIndex, encodeIndex } from './indexfile.js';
import { canonicalBytes } from './json.js';
import { newRepo, rejectsWith, makeBlobs, T0 } from './testkit.js';
import { keys } from './types.js';
import type { Repository as Repo } from './repository.js';

const ID = 'a'.repeat(64);
const file = (name: unknown, extra: Record<string, unknown> = {}) => ({ name, type: 'file', mode: 420, mtimeMs: 1, size: 0, chunks: [], ...extra });
const tree = (...entries: unknown[]) => JSON.stringify({ entries });

const treeCases: [string, string | Uint8Array, string][] = [
  ["name '..'", tree(file('..')), 'E_BAD_PATH'],
  ["name '.'", tree(file('.')), 'E_BAD_PATH'],
  ['name with /', tree(file('a/b')), 'E_BAD_PATH'],
  ['absolute-looking name', tree(file('/etc')), 'E_BAD_PATH'],
  ['drive-letter name', tree(file('C:')), 'E_BAD_PATH'],
  ['name with backslash', tree(file('..\\x')), 'E_BAD_PATH'],
  ['name with NUL', tree(file('a\u0000b')), 'E_BAD_PATH'],
  ['name with a control character', tree(file('a\nb')), 'E_BAD_PATH'],
  ["name 'CON'", tree(file('CON')), 'E_BAD_PATH'],
  ["name 'lpt1.txt'", tree(file('lpt1.txt')), 'E_BAD_PATH'],
  ['name with trailing dot', tree(file('x.')), 'E_BAD_PATH'],
  ['name with trailing space', tree(file('x ')), 'E_BAD_PATH'],
  ['empty name', tree(file('')), 'E_BAD_PATH'],
  ['name over 255 bytes', tree(file('é'.repeat(128))), 'E_BAD_PATH'],
  ['lone surrogate in name', '{"entries":[{"name":"a\\ud800","type":"whiteout"}]}', 'E_BAD_PATH'],
  ['duplicate names', tree(file('a'), file('a')), 'E_BAD_TREE'],
  ['unsorted entries', tree(file('b'), file('a')), 'E_BAD_TREE'],
  ['name is a number', tree(file(5)), 'E_BAD_TREE'],
  ['mode is a string', tree(file('a', { mode: '644' })), 'E_BAD_TREE'],
  ['mode out of range', tree(file('a', { mode: 1e9 })), 'E_BAD_TREE'],
  ['fractional size', tree(file('a', { size: 1.5 })), 'E_BAD_TREE'],
  ['huge size', tree(file('a', { size: 1e300 })), 'E_BAD_TREE'],
  ['negative size', tree(file('a', { size: -1 })), 'E_BAD_TREE'],
  ['negative mtime', tree(file('a', { mtimeMs: -5 })), 'E_BAD_TREE'],
  ['mtime past what a Date holds', tree(file('a', { mtimeMs: 8.64e15 + 1 })), 'E_BAD_TREE'],
  ['symlink mtime past what a Date holds', tree({ name: 'l', type: 'symlink', mtimeMs: 1e300, target: 'x' }), 'E_BAD_TREE'],
  ['chunks not an array', tree(file('a', { chunks: ID })), 'E_BAD_TREE'],
  ['chunk id not hex', tree(file('a', { chunks: ['z'.repeat(64)] })), 'E_BAD_TREE'],
  ['chunk id upper-case', tree(file('a', { chunks: [ID.toUpperCase()] })), 'E_BAD_TREE'],
  ['chunk id too short', tree(file('a', { chunks: ['abc'] })), 'E_BAD_TREE'],
  ['unknown entry type', tree({ name: 'a', type: 'fifo' }), 'E_BAD_TREE'],
  ['missing type', tree({ name: 'a' }), 'E_BAD_TREE'],
  ['extra field', tree(file('a', { owner: 'root' })), 'E_BAD_TREE'],
  ['__proto__ field', '{"entries":[{"name":"a","type":"whiteout","__proto__":{"x":1}}]}', 'E_BAD_TREE'],
  ['dir without subtree', tree({ name: 'd', type: 'dir', mode: 493, mtimeMs: 1 }), 'E_BAD_TREE'],
  ['dir subtree not an id', tree({ name: 'd', type: 'dir', mode: 493, mtimeMs: 1, subtree: '../../etc' }), 'E_BAD_TREE'],
  ['symlink with empty target', tree({ name: 'l', type: 'symlink', mtimeMs: 1, target: '' }), 'E_BAD_TREE'],
  ['symlink target with NUL', tree({ name: 'l', type: 'symlink', mtimeMs: 1, target: 'a\u0000' }), 'E_BAD_TREE'],
  ['entries not an array', JSON.stringify({ entries: {} }), 'E_BAD_TREE'],
  ['top level is an array', JSON.stringify([file('a')]), 'E_BAD_TREE'],
  ['top level is null', 'null', 'E_BAD_TREE'],
  ['extra top-level field', JSON.stringify({ entries: [], x: 1 }), 'E_BAD_TREE'],
  ['non-JSON', 'this is not json {', 'E_BAD_TREE'],
  ['truncated JSON', tree(file('a')).slice(0, 20), 'E_BAD_TREE'],
  ['invalid UTF-8', Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d]), 'E_BAD_TREE'],
  ['empty bytes', new Uint8Array(0), 'E_BAD_TREE'],
];

async function plantTree(repo: Repo, raw: string | Uint8Array): Promise<string> {
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  const id = repo.blobId(bytes);
  await repo.addBlob('tree', id, bytes);
  await repo.flush();
  return id;
}

describe('hostile trees are refused', () => {
  for (const [name, raw, code] of treeCases) {
    it(`${name} → ${code}`, async () => {
      const { store, repo } = await newRepo();
      const id = await plantTree(repo, raw);
      const reader = await openRepository(store);
      const pack = reader.blobLocation(id)?.pack as string;
      const err = await rejectsWith(reader.loadTree(id), code, keys.pack(pack));
      assert.ok(err.message.includes(id.slice(0, 12)), `message names the tree: ${err.message}`);
      await rejectsWith(reader.loadTrees([id], () => {}), code, keys.pack(pack));
    });
  }

  it('a data blob loaded as a tree → E_BAD_TREE', async () => {
    const { repo } = await newRepo();
    const [b] = makeBlobs(1, 1, 100);
    assert.ok(b);
    await repo.addBlob('data', b.id, b.data);
    await repo.flush();
    await rejectsWith(repo.loadTree(b.id), 'E_BAD_TREE');
  });
});

async function repoWithSnapshot() {
  const { store, repo } = await newRepo();
  const root = await repo.saveTree({ entries: [] });
  await repo.flush();
  const snap = { version: 1 as const, layer: 'user/alice', device: 'pc1', time: T0.toISOString(), root, parents: [] };
  const id = await repo.saveSnapshot(snap);
  await repo.writeHead('user/alice', 'pc1', id);
  return { store, repo, id, snap };
}

describe('hostile snapshots, heads, indexes and format objects are refused', () => {
  it("a snapshot whose bytes don't match its id → E_OBJECT_HASH_MISMATCH", async () => {
    const { store, repo, id } = await repoWithSnapshot();
    const key = keys.snapshot('user/alice', id);
    store.corrupt(key, (b) => Buffer.from(Buffer.from(b).toString().replace('pc1', 'pc2')));
    await rejectsWith(repo.loadSnapshot('user/alice', id), 'E_OBJECT_HASH_MISMATCH', key);
    const { snapshots, errors } = await repo.listSnapshots('user/alice');
    assert.deepEqual(snapshots, []);
    assert.equal(errors[0]?.code, 'E_OBJECT_HASH_MISMATCH');
  });

  const badSnapshots: [string, unknown][] = [
    ['a bad root', { root: 'nope' }],
    ['a bad layer', { layer: 'user/../../x' }],
    ['another layer', { layer: 'user/bob' }],
    ['a bad time', { time: 'yesterday' }],
    ['a parent that is not an id', { parents: [5] }],
    ['a source that is not a hash', { source: '/home/alice' }],
    ['an unknown field', { extra: true }],
  ];
  for (const [name, patch] of badSnapshots) {
    it(`a snapshot with ${name} → E_BAD_OBJECT`, async () => {
      const { store, repo, snap } = await repoWithSnapshot();
      const bytes = canonicalBytes({ ...snap, ...(patch as object) });
      const id = repo.blobId(bytes);
      await store.put(keys.snapshot('user/alice', id), bytes);
      await rejectsWith(repo.loadSnapshot('user/alice', id), 'E_BAD_OBJECT', keys.snapshot('user/alice', id));
    });
  }

  it('a head pointing at a malformed id → E_BAD_OBJECT, and the other heads still list', async () => {
    const { store, repo } = await repoWithSnapshot();
    const key = keys.head('user/alice', 'pc2');
    await store.put(key, Buffer.from(JSON.stringify({ version: 1, layer: 'user/alice', device: 'pc2', snapshot: '../../config', time: T0.toISOString() })));
    await store.put(keys.head('user/alice', 'pc3'), Buffer.from('{not json'));
    await store.put(keys.head('user/alice', 'pc4'), Buffer.from(JSON.stringify({ version: 1, layer: 'user/alice', device: 'pc1', snapshot: ID, time: T0.toISOString() })));
    const { heads, errors } = await repo.listHeads('user/alice');
    assert.deepEqual(heads.map((h) => h.device), ['pc1']);
    assert.deepEqual(errors.map((e) => [e.code, e.key]), [
      ['E_BAD_OBJECT', key],
      ['E_BAD_OBJECT', keys.head('user/alice', 'pc3')],
      ['E_BAD_OBJECT', keys.head('user/alice', 'pc4')],
    ]);
    assert.ok(await repo.latestSnapshot('user/alice'));
  });

  it('a head marked final lists as final; any other value of final is refused', async () => {
    const { store, repo } = await repoWithSnapshot();
    const head = (device: string, final: unknown) => Buffer.from(JSON.stringify({ version: 1, layer: 'user/alice', device, snapshot: ID, time: T0.toISOString(), final }));
    await store.put(keys.head('user/alice', 'pc2'), head('pc2', true));
    await store.put(keys.head('user/alice', 'pc3'), head('pc3', false));
    await store.put(keys.head('user/alice', 'pc4'), head('pc4', 'yes'));
    const { heads, errors } = await repo.listHeads('user/alice');
    assert.deepEqual(heads.map((h) => [h.device, h.final ?? false]), [['pc1', false], ['pc2', true]]);
    assert.deepEqual(errors.map((e) => [e.code, e.key]), [
      ['E_BAD_OBJECT', keys.head('user/alice', 'pc3')],
      ['E_BAD_OBJECT', keys.head('user/alice', 'pc4')],
    ]);
  });

  it('bad layer and device ids → E_BAD_LAYER / E_BAD_DEVICE', async () => {
    const { repo } = await repoWithSnapshot();
    for (const layer of ['', 'user', 'user/', 'user/a/b', 'team/x', 'user/..', 'user/.x', '../user/x']) {
      await rejectsWith(repo.listHeads(layer), 'E_BAD_LAYER');
    }
    await rejectsWith(repo.writeHead('user/alice', 'a/b', ID), 'E_BAD_DEVICE');
  });

  it('a format object with an unknown version → E_UNSUPPORTED_FORMAT naming config', async () => {
    const store = new MemoryStore();
    await store.put('config', Buffer.from(JSON.stringify({ version: 2 })));
    const err = await rejectsWith(openRepository(store), 'E_UNSUPPORTED_FORMAT', 'config');
    assert.match(err.message, /version 2/);
  });

  it('a format object that is not JSON → E_BAD_OBJECT', async () => {
    const store = new MemoryStore();
    await store.put('config', Buffer.from('\u0000garbage'));
    await rejectsWith(openRepository(store), 'E_BAD_OBJECT', 'config');
  });

  it('an index entry past the pack end is refused and skipped, not fatal', async () => {
    const { store, repo } = await newRepo();
    const [b] = makeBlobs(2, 1, 100);
    assert.ok(b);
    await repo.addBlob('data', b.id, b.data);
    await repo.flush();
    const loc = repo.blobLocation(b.id);
    assert.ok(loc);
    const size = (await store.head(keys.pack(loc.pack)))?.size as number;
    const { id, bytes } = encodeIndex([{ id: loc.pack, size, blobs: [{ id: ID, type: 'data', offset: size - 5, length: 100 }] }], repo.format.hash);
    await store.put(keys.index(id), bytes);
    assert.throws(() => decodeIndex(keys.index(id), bytes, repo.format.hash), (e: Error & { code?: string }) => e.code === 'E_BAD_OBJECT');
    const reader = await openRepository(store);
    assert.deepEqual(reader.indexErrors.map((e) => [e.code, e.key]), [['E_BAD_OBJECT', keys.index(id)]]);
    assert.deepEqual(await reader.readBlob(b.id), b.data, 'the good index still works');
    assert.equal(reader.hasBlob(ID), false);
  });

  it('an index that lies about its pack size → E_BAD_PACK on read, not a crash', async () => {
    const { store, repo } = await newRepo();
    const [b] = makeBlobs(3, 1, 100);
    assert.ok(b);
    await repo.addBlob('data', b.id, b.data);
    await repo.flush();
    const pack = repo.blobLocation(b.id)?.pack as string;
    const { id, bytes } = encodeIndex([{ id: pack, size: 1e6, blobs: [{ id: ID, type: 'data', offset: 900_000, length: 100 }] }], repo.format.hash);
    await store.put(keys.index(id), bytes);
    const reader = await openRepository(store);
    await rejectsWith(reader.readBlob(ID), 'E_BAD_PACK', keys.pack(pack));
  });

  const badIndexes: [string, string, string][] = [
    ['invalid JSON', '{"packs":[', 'E_BAD_OBJECT'],
    ['unknown version', '{"packs":[],"version":9}', 'E_UNSUPPORTED_FORMAT'],
    ['a negative offset', `{"packs":[{"blobs":[{"id":"${ID}","length":1,"offset":-1,"type":"data"}],"id":"${ID}","size":100}],"version":1}`, 'E_BAD_OBJECT'],
    ['an unknown blob type', `{"packs":[{"blobs":[{"id":"${ID}","length":1,"offset":0,"type":"exe"}],"id":"${ID}","size":100}],"version":1}`, 'E_BAD_OBJECT'],
    ['a blob over the size cap', `{"packs":[{"blobs":[{"id":"${ID}","length":${2 ** 40},"offset":0,"type":"data"}],"id":"${ID}","size":${2 ** 41}}],"version":1}`, 'E_BAD_OBJECT'],
    ['a pack id that is a path', `{"packs":[{"blobs":[],"id":"../config","size":100}],"version":1}`, 'E_BAD_OBJECT'],
  ];
  for (const [name, raw, code] of badIndexes) {
    it(`an index with ${name} → ${code}`, async () => {
      const { store, repo } = await newRepo();
      const key = keys.index(repo.blobId(Buffer.from(raw)));
      await store.put(key, Buffer.from(raw));
      const reader = await openRepository(store);
      assert.deepEqual(reader.indexErrors.map((e) => [e.code, e.key]), [[code, key]]);
    });
  }

  it("an index whose bytes don't match its key → E_OBJECT_HASH_MISMATCH", async () => {
    const { store } = await newRepo();
    await store.put(keys.index(ID), Buffer.from('{"packs":[],"version":1}'));
    const reader = await openRepository(store);
    assert.deepEqual(reader.indexErrors.map((e) => e.code), ['E_OBJECT_HASH_MISMATCH']);
  });
});

