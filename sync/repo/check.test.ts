import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openRepository } from './format.js';
import { check, type CheckProgress, type CheckReport } from './check.js';
import { encodeIndex } from './indexfile.js';
import { PackBuilder } from './pack.js';
import { T0, file, makeBlobs, newRepo } from './testkit.js';
import { keys, type Tree } from './types.js';
import type { ObjectStore } from '../store/index.js';
import type { Repository } from './repository.js';

const LAYER = 'org/finance';

/** A pack of one chunk stored with no index naming it (what an interrupted writer leaves); its bytes. */
async function putUnindexedPack(store: ObjectStore, repo: Repository): Promise<Uint8Array> {
  const builder = new PackBuilder();
  const orphan = Buffer.from('orphan');
  builder.add('data', repo.blobId(orphan), orphan);
  const bytes = builder.seal();
  await store.put(keys.pack(repo.blobId(bytes)), bytes);
  return bytes;
}

async function populated() {
  const { store, repo } = await newRepo({ packSize: 4096 });
  const blobs = makeBlobs(21, 12, 1500);
  for (const b of blobs) await repo.addBlob('data', b.id, b.data);
  const sub = await repo.saveTree({ entries: [file('inner.bin', blobs.slice(6))] });
  const root = await repo.saveTree({ entries: [file('a.bin', blobs.slice(0, 6)), { name: 'sub', type: 'dir', mode: 0o755, mtimeMs: 1, subtree: sub }] });
  await repo.flush();
  const snap = await repo.saveSnapshot({ version: 1, layer: LAYER, device: 'admin', time: T0.toISOString(), root, parents: [] });
  await repo.writeHead(LAYER, 'admin', snap);
  return { store, repo, blobs, root, sub, snap };
}

const codes = (r: CheckReport) => r.problems.map((p) => p.code).sort();

describe('check', () => {
  it('finds nothing wrong with a healthy repository', async () => {
    const { store } = await populated();
    const phases = new Set<string>();
    const report = await check(await openRepository(store), { readData: true, onProgress: (p: CheckProgress) => void phases.add(p.phase) });
    assert.deepEqual(report.problems, []);
    assert.deepEqual(report.warnings, []);
    assert.equal(report.counts.snapshots, 1);
    assert.equal(report.counts.heads, 1);
    assert.equal(report.counts.trees, 2);
    assert.ok(report.counts.packs >= 4);
    assert.deepEqual([...phases].sort(), ['data', 'indexes', 'packs', 'snapshots', 'trees']);
  });

  it('detects a missing pack', async () => {
    const { store, repo, blobs } = await populated();
    const pack = repo.blobLocation((blobs[0] as { id: string }).id)?.pack as string;
    await store.delete(keys.pack(pack));
    const report = await check(repo, { readData: false });
    assert.ok(report.problems.some((p) => p.code === 'E_PACK_MISSING' && p.key === keys.pack(pack)), JSON.stringify(report.problems));
    assert.ok(report.problems.some((p) => p.code === 'E_BLOB_MISSING'), 'the file that used the pack is reported too');
    const lost = report.problems.filter((p) => p.code === 'E_BLOB_MISSING');
    for (const p of lost) assert.match(p.message, new RegExp(`is in ${keys.pack(pack)}, which does not exist$`));
  });

  it('detects a flipped byte in a data pack only with readData', async () => {
    const { store, repo, blobs } = await populated();
    const loc = repo.blobLocation((blobs[3] as { id: string }).id);
    assert.ok(loc);
    store.corrupt(keys.pack(loc.pack), (b) => {
      b[loc.offset + 7] = (b[loc.offset + 7] as number) ^ 0x40;
      return b;
    });
    assert.deepEqual((await check(repo, { readData: false })).problems, []);
    const report = await check(repo, { readData: true });
    assert.deepEqual(codes(report), ['E_CHUNK_HASH_MISMATCH', 'E_PACK_HASH_MISMATCH']);
    assert.ok(report.problems.every((p) => p.key === keys.pack(loc.pack)));
  });

  it('detects a flipped byte in a tree without readData', async () => {
    const { store, repo, sub } = await populated();
    const loc = repo.blobLocation(sub);
    assert.ok(loc);
    store.corrupt(keys.pack(loc.pack), (b) => {
      b[loc.offset + 3] = (b[loc.offset + 3] as number) ^ 1;
      return b;
    });
    const report = await check(repo, { readData: false });
    assert.deepEqual(codes(report), ['E_CHUNK_HASH_MISMATCH']);
    // Reading the data finds the pack's hash wrong too, but the tree only once.
    assert.deepEqual(codes(await check(repo, { readData: true })), ['E_CHUNK_HASH_MISMATCH', 'E_PACK_HASH_MISMATCH']);
  });

  it('detects a corrupt index object and an index entry past the end of its pack', async () => {
    const { store, repo, blobs } = await populated();
    const garbage = Buffer.from('{"packs": [ oops');
    await store.put(keys.index(repo.blobId(garbage)), garbage);
    const pack = repo.blobLocation((blobs[0] as { id: string }).id)?.pack as string;
    const size = (await store.head(keys.pack(pack)))?.size as number;
    const past = encodeIndex([{ id: pack, size, blobs: [{ id: 'b'.repeat(64), type: 'data', offset: size, length: 10 }] }], repo.format.hash);
    await store.put(keys.index(past.id), past.bytes);
    const report = await check(repo, { readData: false });
    assert.deepEqual(
      report.problems.map((p) => [p.code, p.key]).sort(),
      [
        ['E_BAD_OBJECT', keys.index(repo.blobId(garbage))],
        ['E_BAD_OBJECT', keys.index(past.id)],
      ].sort(),
    );
  });

  it('detects an index that disagrees with the pack (size, trailer)', async () => {
    const { store, repo, blobs } = await populated();
    const pack = repo.blobLocation((blobs[0] as { id: string }).id)?.pack as string;
    const size = (await store.head(keys.pack(pack)))?.size as number;
    const wrongSize = encodeIndex([{ id: pack, size: size + 1, blobs: [] }], repo.format.hash);
    await store.put(keys.index(wrongSize.id), wrongSize.bytes);
    const wrongEntry = encodeIndex([{ id: pack, size, blobs: [{ id: 'c'.repeat(64), type: 'data', offset: 0, length: 1 }] }], repo.format.hash);
    await store.put(keys.index(wrongEntry.id), wrongEntry.bytes);
    const report = await check(repo, { readData: true });
    assert.ok(report.problems.some((p) => p.code === 'E_PACK_SIZE_MISMATCH' && p.key === keys.pack(pack)));
    const mismatch = report.problems.filter((p) => p.code === 'E_INDEX_MISMATCH');
    assert.equal(mismatch.length, 1, JSON.stringify(report.problems));
    assert.match(mismatch[0]?.message ?? '', new RegExp(wrongEntry.id));
  });

  it('warns about a pack no index names, and reports a head pointing at a missing snapshot', async () => {
    const { store, repo } = await populated();
    const bytes = await putUnindexedPack(store, repo);
    await store.put(keys.head(LAYER, 'ghost'), Buffer.from(JSON.stringify({ version: 1, layer: LAYER, device: 'ghost', snapshot: 'd'.repeat(64), time: T0.toISOString() })));
    const report = await check(repo, { readData: true });
    assert.deepEqual(report.warnings.map((w) => [w.code, w.key]), [['E_PACK_UNINDEXED', keys.pack(repo.blobId(bytes))]]);
    assert.deepEqual(report.problems.map((p) => [p.code, p.key]), [['E_SNAPSHOT_NOT_FOUND', keys.head(LAYER, 'ghost')]]);
  });

  it('detects a file whose size disagrees with its chunks', async () => {
    const { repo, blobs } = await populated();
    const bad: Tree = { entries: [{ ...file('f', blobs.slice(0, 2)), size: 1 }] };
    const root = await repo.saveTree(bad);
    await repo.flush();
    await repo.saveSnapshot({ version: 1, layer: LAYER, device: 'admin', time: T0.toISOString(), root, parents: [] });
    const report = await check(repo, { readData: false });
    assert.deepEqual(codes(report), ['E_BAD_TREE']);
  });

  it('reports a truncated pack as damaged, not also as a pack in no index', async () => {
    const { store, repo, blobs } = await populated();
    const pack = repo.blobLocation((blobs[0] as { id: string }).id)?.pack as string;
    store.corrupt(keys.pack(pack), (b) => b.subarray(0, b.length - 10));
    const report = await check(repo, { readData: false });
    assert.ok(report.problems.some((p) => p.code === 'E_PACK_SIZE_MISMATCH' && p.key === keys.pack(pack)), JSON.stringify(report.problems));
    assert.deepEqual(report.warnings, []);
    const lost = report.problems.filter((p) => p.code === 'E_BLOB_MISSING');
    assert.ok(lost.length > 0);
    for (const p of lost) assert.match(p.message, new RegExp(`is in ${keys.pack(pack)}, whose size disagrees with its index$`));
  });

  it('says of a pack in no index that admin gc removes it, unless an index cannot be read', async () => {
    const { store, repo } = await populated();
    await putUnindexedPack(store, repo);
    const first = await check(repo, { readData: false });
    assert.equal(first.warnings.length, 1);
    assert.match(first.warnings[0]?.message ?? '', /strata admin gc removes it/);
    const garbage = Buffer.from('not an index');
    await store.put(keys.index(repo.blobId(garbage)), garbage);
    const second = await check(repo, { readData: false });
    assert.deepEqual(second.warnings.map((w) => w.code), ['E_PACK_UNINDEXED']);
    assert.match(second.warnings[0]?.message ?? '', /strata admin gc removes nothing while an index cannot be read/);
  });

  it('reports a missing pack once, naming every index that names it', async () => {
    const { store, repo, blobs } = await populated();
    const pack = repo.blobLocation((blobs[0] as { id: string }).id)?.pack as string;
    const size = (await store.head(keys.pack(pack)))?.size as number;
    const again = encodeIndex([{ id: pack, size, blobs: [] }], repo.format.hash);
    await store.put(keys.index(again.id), again.bytes);
    await store.delete(keys.pack(pack));
    const report = await check(await openRepository(store), { readData: false });
    const missing = report.problems.filter((p) => p.code === 'E_PACK_MISSING');
    assert.equal(missing.length, 1, JSON.stringify(missing));
    assert.equal(missing[0]?.key, keys.pack(pack));
    assert.match(missing[0]?.message ?? '', new RegExp(keys.index(again.id)));
  });

  it('takes a parent that is gone for the end of the history (admin forget), and reports an invalid one as itself', async () => {
    const { store, repo, root, snap } = await populated();
    const gone = 'e'.repeat(64);
    const child = await repo.saveSnapshot({ version: 1, layer: LAYER, device: 'admin', time: T0.toISOString(), root, parents: [snap, gone] });
    // A parent that is there but invalid is reported as itself, not again as its child's.
    const bad = 'f'.repeat(64);
    await store.put(keys.snapshot(LAYER, bad), Buffer.from('{}'));
    await repo.saveSnapshot({ version: 1, layer: LAYER, device: 'admin', time: T0.toISOString(), root, parents: [bad] });
    const report = await check(repo, { readData: false });
    assert.deepEqual(report.problems.map((p) => [p.code, p.key]), [['E_OBJECT_HASH_MISMATCH', keys.snapshot(LAYER, bad)]]);
    assert.ok(!JSON.stringify(report).includes(child), JSON.stringify(report));
  });
});
