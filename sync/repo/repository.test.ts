import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StrataError } from '../errors.js';
import { CountingStore } from '../store/counting.js';
import { MemoryStore } from '../store/memory.js';
import { openRepository } from './format.js';
import { parsePack } from './pack.js';
import { GatedStore, RecordingStore, T0, file, keysUnder, makeBlobs, newRepo, rejectsWith, settle } from './testkit.js';
import { MAX_SNAPSHOT_BYTES } from './snapshot.js';
import { FORMAT_VERSION, keys, type Snapshot, type Tree } from './types.js';

const LAYER = 'user/alice';

function snapshotOf(root: string, device = 'laptop', parents: string[] = []): Snapshot {
  return { version: FORMAT_VERSION, layer: LAYER, device, time: T0.toISOString(), root, parents };
}

describe('repository: round trip', () => {
  it('stores blobs, trees, snapshots and heads and reads them back', async () => {
    const { store, repo } = await newRepo();
    const blobs = makeBlobs(1, 5, 1000);
    for (const b of blobs) assert.equal(await repo.addBlob('data', b.id, b.data), true);
    const sub: Tree = { entries: [{ name: 'x.txt', type: 'whiteout' }] };
    const subId = await repo.saveTree(sub);
    const tree: Tree = {
      entries: [
        file('b.bin', blobs.slice(2)),
        { name: 'a-dir', type: 'dir', mode: 0o755, mtimeMs: 5, subtree: subId },
        { name: 'link', type: 'symlink', mtimeMs: 7, target: '../b.bin' },
        file('a.bin', blobs.slice(0, 2)),
      ],
    };
    const root = await repo.saveTree(tree);
    await repo.flush();
    const snapId = await repo.saveSnapshot(snapshotOf(root));
    await repo.writeHead(LAYER, 'laptop', snapId);

    const fresh = await openRepository(store);
    for (const b of blobs) assert.deepEqual(await fresh.readBlob(b.id), b.data);
    const loaded = await fresh.loadTree(root);
    assert.deepEqual(loaded.entries.map((e) => e.name), ['a-dir', 'a.bin', 'b.bin', 'link']);
    assert.deepEqual(await fresh.loadTree(subId), sub);
    assert.deepEqual(await fresh.loadSnapshot(LAYER, snapId), snapshotOf(root));
    const { heads, errors } = await fresh.listHeads(LAYER);
    assert.deepEqual(errors, []);
    assert.deepEqual(heads, [{ version: 1, layer: LAYER, device: 'laptop', snapshot: snapId, time: T0.toISOString() }]);
    assert.equal((await fresh.latestSnapshot(LAYER))?.id, snapId);
    const listed = await fresh.listSnapshots(LAYER);
    assert.deepEqual(listed.snapshots.map((s) => s.id), [snapId]);
  });

  it('gives an unchanged tree the same id whatever the entry order', async () => {
    const { repo } = await newRepo();
    const e = [file('z', []), file('a', []), { name: 'm', type: 'whiteout' as const }];
    const id1 = await repo.saveTree({ entries: e });
    const id2 = await repo.saveTree({ entries: [...e].reverse() });
    assert.equal(id1, id2);
  });

  it('refuses to save an invalid tree', async () => {
    const { repo } = await newRepo();
    await rejectsWith(repo.saveTree({ entries: [file('..', [])] }), 'E_BAD_PATH');
    await rejectsWith(repo.saveTree({ entries: [file('a', []), file('a', [])] }), 'E_BAD_TREE');
  });

  it('refuses a snapshot whose root is not flushed, and a head whose snapshot is not stored', async () => {
    const { repo } = await newRepo();
    const root = await repo.saveTree({ entries: [] });
    await rejectsWith(repo.saveSnapshot(snapshotOf(root)), 'E_NOT_DURABLE');
    await rejectsWith(repo.writeHead(LAYER, 'laptop', 'a'.repeat(64)), 'E_NOT_DURABLE');
    await rejectsWith(repo.writeHead('users/x', 'laptop', 'a'.repeat(64)), 'E_BAD_LAYER');
    await rejectsWith(repo.writeHead(LAYER, '../x', 'a'.repeat(64)), 'E_BAD_DEVICE');
  });
});

describe('repository: dedup and packs', () => {
  it('writes a blob added twice only once', async () => {
    const { store, repo } = await newRepo();
    const [b] = makeBlobs(2, 1, 5000);
    assert.ok(b);
    assert.equal(await repo.addBlob('data', b.id, b.data), true);
    assert.equal(await repo.addBlob('data', b.id, b.data), false);
    await repo.flush();
    assert.equal(await repo.addBlob('data', b.id, b.data), false);
    await repo.flush();
    const packs = await keysUnder(store, 'data/');
    assert.equal(packs.length, 1);
    assert.equal(parsePack(await store.get(packs[0] as string), packs[0] as string).length, 1);
    assert.equal((await keysUnder(store, 'index/')).length, 1, 'an empty flush writes no index');
  });

  it('keeps trees and file data in separate packs', async () => {
    const { store, repo } = await newRepo();
    const blobs = makeBlobs(3, 5, 2000);
    for (const b of blobs) await repo.addBlob('data', b.id, b.data);
    await repo.saveTree({ entries: [file('a', blobs.slice(0, 2)), file('b', blobs.slice(2))] });
    await repo.flush();
    const packs = await keysUnder(store, 'data/');
    assert.equal(packs.length, 2);
    const types = await Promise.all(packs.map(async (k) => new Set(parsePack(await store.get(k), k).map((e) => e.type))));
    assert.deepEqual(types.map((t) => [...t].join()).sort(), ['data', 'tree']);
  });

  it('dedups across repository instances after flush and reopen', async () => {
    const { store, repo } = await newRepo();
    const blobs = makeBlobs(3, 10, 300);
    for (const b of blobs) await repo.addBlob('data', b.id, b.data);
    await repo.flush();
    const other = await openRepository(store);
    for (const b of blobs) assert.equal(await other.addBlob('data', b.id, b.data), false);
    await other.flush();
    assert.equal((await keysUnder(store, 'data/')).length, 1);
    assert.equal(other.stats.puts, 0);
  });

  it('keeps packs within packSize unless one blob is larger', async () => {
    const packSize = 4096;
    const { store, repo } = await newRepo({ packSize });
    const blobs = [...makeBlobs(4, 200, 1500, true), ...makeBlobs(5, 1, 10_000)];
    for (const b of blobs) await repo.addBlob('data', b.id, b.data);
    await repo.flush();
    const packKeys = await keysUnder(store, 'data/');
    assert.ok(packKeys.length > 10);
    let seen = 0;
    for (const key of packKeys) {
      const bytes = await store.get(key);
      const entries = parsePack(bytes, key);
      seen += entries.length;
      assert.ok(bytes.byteLength <= packSize || entries.length === 1, `${key} is ${bytes.byteLength} bytes with ${entries.length} blobs`);
      assert.equal(key, keys.pack(repo.blobId(bytes)), 'a pack is named by its hash');
    }
    assert.equal(seen, blobs.length);
  });

  it('writes packs, then the index, then the snapshot, then the head', async () => {
    const recorder = new RecordingStore(new MemoryStore());
    const { repo } = await newRepo({ packSize: 2048, store: recorder as unknown as MemoryStore });
    const blobs = makeBlobs(6, 30, 400);
    for (const b of blobs) await repo.addBlob('data', b.id, b.data);
    const root = await repo.saveTree({ entries: [file('f', blobs)] });
    await repo.flush();
    const snap = await repo.saveSnapshot(snapshotOf(root));
    await repo.writeHead(LAYER, 'laptop', snap);
    const kinds = recorder.puts.filter((k) => k !== 'config').map((k) => k.split('/')[0] + (k.includes('/heads/') ? ':head' : k.includes('/snapshots/') ? ':snap' : ''));
    const firstIndex = kinds.indexOf('index');
    assert.ok(kinds.filter((k) => k === 'data').length > 3);
    assert.ok(kinds.slice(0, firstIndex).every((k) => k === 'data'), kinds.join(' '));
    assert.deepEqual(kinds.slice(firstIndex), ['index', 'layers:snap', 'layers:head']);
  });

  it('bounds pack uploads in flight and makes addBlob wait (backpressure)', async () => {
    const gated = new GatedStore(new MemoryStore());
    const { repo } = await newRepo({ packSize: 1024, uploadConcurrency: 2, store: gated as unknown as MemoryStore });
    const blobs = makeBlobs(7, 20, 900);
    let added = 0;
    const writer = (async () => {
      for (const b of blobs) {
        await repo.addBlob('data', b.id, b.data);
        added++;
      }
      await repo.flush();
    })();
    await settle(20);
    assert.equal(gated.maxInFlight, 2, 'two uploads in flight, no more');
    assert.ok(added < blobs.length, 'addBlob waits while uploads are pending');
    assert.ok(added <= 4, `at most concurrency + 1 packs buffered, got ${added}`);
    gated.release();
    await writer;
    assert.equal(added, blobs.length);
    for (const b of blobs) assert.deepEqual(await repo.readBlob(b.id), b.data);
  });

  it('reports a failed pack upload, and works again after abort()', async () => {
    const gated = new GatedStore(new MemoryStore());
    gated.release();
    const { repo } = await newRepo({ packSize: 1024, store: gated as unknown as MemoryStore });
    const blobs = makeBlobs(8, 4, 900);
    gated.failNext = new StrataError('E_TRANSIENT', 'connection reset');
    const run = async () => {
      for (const b of blobs) await repo.addBlob('data', b.id, b.data);
      await repo.flush();
    };
    await rejectsWith(run(), 'E_TRANSIENT');
    await rejectsWith(repo.flush(), 'E_TRANSIENT');
    await repo.abort();
    await run();
    for (const b of blobs) assert.deepEqual(await repo.readBlob(b.id), b.data);
  });
});

describe('repository: reads', () => {
  it('reads 100 small adjacent blobs of one pack with one GET', async () => {
    const { store, repo } = await newRepo();
    const blobs = makeBlobs(9, 100, 200);
    for (const b of blobs) await repo.addBlob('data', b.id, b.data);
    await repo.flush();
    const reader = await openRepository(store);
    const before = reader.stats.gets;
    const got = new Map<string, Uint8Array>();
    await reader.readBlobs(blobs.map((b) => b.id).reverse(), (id, data) => void got.set(id, data));
    assert.equal(reader.stats.gets - before, 1);
    assert.equal(got.size, 100);
    for (const b of blobs) assert.deepEqual(got.get(b.id), b.data);
  });

  it('splits requests at gaps larger than maxGap and at maxRequest', async () => {
    const { repo } = await newRepo();
    const blobs = makeBlobs(10, 100, 200);
    for (const b of blobs) await repo.addBlob('data', b.id, b.data);
    await repo.flush();
    const everyOther = blobs.filter((_, i) => i % 2 === 0).map((b) => b.id);
    let before = repo.stats.gets;
    await repo.readBlobs(everyOther, () => {}, { maxGap: 0 });
    assert.equal(repo.stats.gets - before, 50);
    before = repo.stats.gets;
    await repo.readBlobs(blobs.map((b) => b.id), () => {}, { maxRequest: 1000 });
    assert.equal(repo.stats.gets - before, 20);
  });

  it('issues requests in rank order and shows each fetched range to onRange', async () => {
    const { repo } = await newRepo();
    const blobs = makeBlobs(12, 30, 200);
    for (const b of blobs) await repo.addBlob('data', b.id, b.data);
    await repo.flush();
    // Three separate requests (every tenth blob, gaps kept); the last blob ranks first.
    const ids = blobs.filter((_, i) => i % 10 === 0).map((b) => b.id);
    const rank = new Map(ids.map((id, i) => [id, ids.length - i]));
    const order: string[] = [];
    const ranges: { offset: number; length: number }[] = [];
    await repo.readBlobs(ids, (id) => void order.push(id), {
      maxGap: 0,
      concurrency: 1,
      rank: (id) => rank.get(id) as number,
      onRange: (_pack, offset, bytes) => void ranges.push({ offset, length: bytes.byteLength }),
    });
    assert.deepEqual(order, [...ids].reverse());
    assert.equal(ranges.length, 3);
    for (const [i, id] of [...ids].reverse().entries()) {
      const loc = repo.blobLocation(id);
      assert.deepEqual(ranges[i], { offset: loc?.offset, length: loc?.length });
    }
  });

  it('refuses unknown blobs before fetching anything', async () => {
    const { repo } = await newRepo();
    const before = repo.stats.gets;
    await rejectsWith(repo.readBlobs(['0'.repeat(64)], () => {}), 'E_BLOB_NOT_FOUND');
    await rejectsWith(repo.readBlob('0'.repeat(64)), 'E_BLOB_NOT_FOUND');
    assert.equal(repo.stats.gets, before);
  });

  it('detects a flipped byte when reading a blob', async () => {
    const { store, repo } = await newRepo();
    const [b] = makeBlobs(11, 1, 500);
    assert.ok(b);
    await repo.addBlob('data', b.id, b.data);
    await repo.flush();
    const loc = repo.blobLocation(b.id);
    assert.ok(loc);
    store.corrupt(keys.pack(loc.pack), (bytes) => {
      bytes[loc.offset + 10] = (bytes[loc.offset + 10] as number) ^ 1;
      return bytes;
    });
    const err = await rejectsWith(repo.readBlob(b.id), 'E_CHUNK_HASH_MISMATCH', keys.pack(loc.pack));
    assert.match(err.message, new RegExp(b.id));
    await rejectsWith(repo.readBlobs([b.id], () => {}), 'E_CHUNK_HASH_MISMATCH', keys.pack(loc.pack));
  });

  it('picks the latest snapshot by instant, not by string order', async () => {
    const { repo } = await newRepo();
    const root = await repo.saveTree({ entries: [] });
    await repo.flush();
    const early = await repo.saveSnapshot({ ...snapshotOf(root, 'pc1'), time: '2024-05-01T10:00:00Z' });
    const late = await repo.saveSnapshot({ ...snapshotOf(root, 'pc2'), time: '2024-05-01T10:00:00.5Z' });
    await repo.writeHead(LAYER, 'pc1', early);
    await repo.writeHead(LAYER, 'pc2', late);
    assert.equal((await repo.latestSnapshot(LAYER))?.id, late);
    assert.deepEqual((await repo.listSnapshots(LAYER)).snapshots.map((s) => s.id), [early, late]);
  });

  it('loads the snapshots of many heads concurrently (every VDI session is a device) and still picks the newest', async () => {
    const memory = new MemoryStore();
    const { repo } = await newRepo({ store: memory });
    const root = await repo.saveTree({ entries: [] });
    await repo.flush();
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      // The newest is in the middle: neither list order nor load order may decide.
      const hour = String(i === 5 ? 23 : i).padStart(2, '0');
      ids.push(await repo.saveSnapshot({ ...snapshotOf(root, `vdi-${i}`), time: `2024-05-01T${hour}:00:00Z` }));
      // Heads dated when they were written, a day later (as older versions wrote them), bound no
      // snapshot closely: after the newest head's, every snapshot must be read.
      await repo.writeHead(LAYER, `vdi-${i}`, ids[i] as string, `2024-05-02T${hour}:00:00Z`);
    }
    let inFlight = 0;
    let peak = 0;
    const get = memory.get.bind(memory);
    memory.get = async (key, range) => {
      if (!key.includes('/snapshots/')) return get(key, range);
      peak = Math.max(peak, ++inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return get(key, range);
    };
    const fresh = await openRepository(memory);
    assert.equal((await fresh.latestSnapshot(LAYER))?.id, ids[5]);
    assert.ok(peak > 1, `snapshot reads in flight at once: ${peak}`);
  });

  it('fetches again only the heads whose listing version changed: an idle poll of many heads is one listing', async () => {
    const memory = new MemoryStore();
    const { repo } = await newRepo({ store: memory });
    const root = await repo.saveTree({ entries: [] });
    await repo.flush();
    const snap = (device: string, time: string): Promise<string> => repo.saveSnapshot({ ...snapshotOf(root, device), time });
    for (let i = 0; i < 20; i++) await repo.writeHead(LAYER, `vdi-${i}`, await snap(`vdi-${i}`, `2024-05-01T10:${String(i).padStart(2, '0')}:00Z`), `2024-05-01T10:${String(i).padStart(2, '0')}:00Z`);
    const counting = new CountingStore(memory);
    const poller = await openRepository(counting);
    const opened = counting.counts.gets;
    const first = await poller.listHeads(LAYER);
    assert.equal(first.heads.length, 20);
    const gets = counting.counts.gets;
    assert.equal(gets - opened, 20);

    const idle = await poller.listHeads(LAYER);
    assert.deepEqual(idle, first);
    assert.equal(counting.counts.gets, gets, 'an idle poll fetches no head');

    const moved = await snap('vdi-3', '2024-05-02T10:00:00Z');
    await repo.writeHead(LAYER, 'vdi-3', moved, '2024-05-02T10:00:00Z');
    await memory.delete(keys.head(LAYER, 'vdi-7'));
    const after = await poller.listHeads(LAYER);
    assert.equal(counting.counts.gets, gets + 1, 'only the moved head is fetched');
    assert.equal(after.heads.find((h) => h.device === 'vdi-3')?.snapshot, moved);
    assert.equal(after.heads.length, 19);
    assert.equal((await poller.latestSnapshot(LAYER))?.id, moved);
    assert.equal(counting.counts.gets, gets + 1 + 1, 'latestSnapshot reads the newest head\'s snapshot (its time bounds every other), not the heads again');
  });
});

describe('repository: loading a snapshot by id', () => {
  it('reads it in one GET, with no HEAD first; a missing one is E_SNAPSHOT_NOT_FOUND, a huge one E_OBJECT_TOO_LARGE', async () => {
    const memory = new MemoryStore();
    const { repo } = await newRepo({ store: memory });
    const root = await repo.saveTree({ entries: [] });
    await repo.flush();
    const id = await repo.saveSnapshot(snapshotOf(root));
    const counting = new CountingStore(memory);
    const fresh = await openRepository(counting, { loadIndex: false });
    const before = { ...counting.counts };
    assert.equal((await fresh.loadSnapshot(LAYER, id)).root, root);
    assert.deepEqual({ gets: counting.counts.gets - before.gets, heads: counting.counts.heads - before.heads }, { gets: 1, heads: 0 });
    await rejectsWith(fresh.loadSnapshot(LAYER, 'e'.repeat(64)), 'E_SNAPSHOT_NOT_FOUND', keys.snapshot(LAYER, 'e'.repeat(64)));
    const huge = 'f'.repeat(64);
    await memory.put(keys.snapshot(LAYER, huge), new Uint8Array(MAX_SNAPSHOT_BYTES + 100));
    const downloaded = counting.counts.bytesDownloaded;
    await rejectsWith(fresh.loadSnapshot(LAYER, huge), 'E_OBJECT_TOO_LARGE', keys.snapshot(LAYER, huge));
    assert.equal(counting.counts.bytesDownloaded - downloaded, MAX_SNAPSHOT_BYTES + 1, 'no more than the limit and a byte fetched');
  });
});

describe('repository: flush racing addBlob', () => {
  it('indexes a pack made durable while the index is being written before flush resolves', async () => {
    const memory = new MemoryStore();
    let releaseIndex: () => void = () => {};
    let indexStarted: () => void = () => {};
    const started = new Promise<void>((r) => (indexStarted = r));
    const store = new RecordingStore(memory);
    const put = store.put.bind(store);
    let gateIndex = true;
    store.put = async (key, body) => {
      if (gateIndex && key.startsWith('index/')) {
        gateIndex = false;
        indexStarted();
        await new Promise<void>((r) => (releaseIndex = r));
      }
      return put(key, body);
    };
    const { repo } = await newRepo({ packSize: 1024, store: store as unknown as MemoryStore });
    const [first] = makeBlobs(12, 1, 900);
    assert.ok(first);
    await repo.addBlob('data', first.id, first.data);
    const flushing = repo.flush();
    await started;
    const late = await repo.saveTree({ entries: [file('late', makeBlobs(13, 1, 10))] });
    // Trees have packs of their own: a second, larger tree seals the pack holding the late one.
    await repo.saveTree({ entries: [file('later', makeBlobs(14, 30, 10))] });
    await settle();
    releaseIndex();
    await flushing;
    assert.ok(await repo.saveSnapshot(snapshotOf(late)));
    const reopened = await openRepository(memory);
    assert.ok(reopened.blobLocation(late), 'an index object in the store names the late tree');
    assert.equal((await keysUnder(memory, 'index/')).length, 2);
  });
});
