// gc of unindexed packs (gc.ts) and the writer's checks that make it safe without a lock
// (writer.ts), against the memory store and a real S3 server (Swift's s3api; skipped without one).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StrataError } from '../errors.js';
import { ForwardingStore } from '../store/forwarding.js';
import { LaggingStore } from '../store/lagging.js';
import type { ByteRange, ObjectStore, PutBody } from '../store/index.js';
import { skipWithoutS3 } from '../testing/s3.js';
import { freshStores } from '../testing/stores.js';
import { check } from './check.js';
import { initRepository, openRepository } from './format.js';
import { collectGarbage, type GcReport } from './gc.js';
import { decodeIndexFile } from './indexfile.js';
import type { Repository } from './repository.js';
import { T0, file, keysUnder, makeBlobs, rejectsWith } from './testkit.js';
import { keys } from './types.js';

const DAY = 86_400_000;
const LAYER = 'user/alice';

/** A store whose index puts fail while `failIndex` (a writer that stops before its index), or wait for `gate`. */
class WriterStore extends ForwardingStore {
  failIndex = false;
  gate: Promise<void> | undefined;
  onIndexPut: (() => void) | undefined;
  /** While set, HEADs of packs fail (the writer's network is gone), and so do deletes of indexes when `failIndexDelete`. */
  failHead = false;
  failIndexDelete = false;
  /** Deletes of indexes (the writer's withdraws) wait for this; `onIndexDelete` runs first. */
  holdIndexDelete: Promise<void> | undefined;
  onIndexDelete: (() => void) | undefined;
  override async put(key: string, body: PutBody): Promise<void> {
    if (key.startsWith('index/')) {
      if (this.failIndex) throw new StrataError('E_TRANSIENT', 'the writer stopped here', { key });
      this.onIndexPut?.();
      await this.gate;
    }
    return super.put(key, body);
  }
  override async head(key: string) {
    if (this.failHead && key.startsWith('data/')) throw new StrataError('E_TRANSIENT', 'the network went', { key });
    return super.head(key);
  }
  override async delete(key: string): Promise<void> {
    if (this.failIndexDelete && key.startsWith('index/')) throw new StrataError('E_TRANSIENT', 'the network went', { key });
    if (key.startsWith('index/')) {
      this.onIndexDelete?.();
      await this.holdIndexDelete;
    }
    return super.delete(key);
  }
}

/** Runs hooks before gc's n-th listing of index/ and before each GET of a pack (which gc makes just before deleting it). */
class GcStore extends ForwardingStore {
  private indexLists = 0;
  onIndexList: ((n: number) => Promise<void>) | undefined;
  onPackGet: (() => Promise<void>) | undefined;
  /** Runs instead of a pack's delete (`del` deletes it). */
  onPackDelete: ((key: string, del: () => Promise<void>) => Promise<void>) | undefined;
  /** Runs before each put of a pack (gc's put-backs). */
  onPackPut: ((key: string) => Promise<void>) | undefined;
  /** Runs before each put of an index (a consolidated one). */
  onIndexPut: ((key: string) => Promise<void>) | undefined;
  /** While set, HEADs of packs fail (gc's network is gone). */
  failHead = false;
  override async *list(prefix: string, opts?: { startAfter?: string }) {
    if (prefix === 'index/') await this.onIndexList?.(++this.indexLists);
    yield* this.inner.list(prefix, opts);
  }
  override async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    if (key.startsWith('data/')) await this.onPackGet?.();
    return super.get(key, range);
  }
  override async put(key: string, body: PutBody): Promise<void> {
    if (key.startsWith('data/')) await this.onPackPut?.(key);
    if (key.startsWith('index/')) await this.onIndexPut?.(key);
    return super.put(key, body);
  }
  override async head(key: string) {
    if (this.failHead && key.startsWith('data/')) throw new StrataError('E_TRANSIENT', 'the network went', { key });
    return super.head(key);
  }
  override async delete(key: string): Promise<void> {
    if (key.startsWith('data/') && this.onPackDelete) return this.onPackDelete(key, () => super.delete(key));
    return super.delete(key);
  }
}

const chunks = makeBlobs(7, 12, 1500);

/** Uploads `chunks` as a one-file snapshot's blobs; with the store failing index puts, stops there. */
async function writeBlobs(repo: Repository) {
  for (const c of chunks) await repo.addBlob('data', c.id, c.data);
  return repo.saveTree({ entries: [file('f.bin', chunks)] });
}

async function finishSnapshot(repo: Repository, root: string) {
  await repo.flush();
  const id = await repo.saveSnapshot({ version: 1, layer: LAYER, device: 'pc', time: T0.toISOString(), root, parents: [] });
  await repo.writeHead(LAYER, 'pc', id);
}

/** No index names a missing pack, and every blob of the snapshot reads back. */
async function assertSound(store: ObjectStore) {
  const reader = await openRepository(store);
  const report = await check(reader, { readData: true });
  assert.deepEqual(report.problems, []);
}

const packsIn = (store: ObjectStore) => keysUnder(store, 'data/');

for (const backend of ['memory', 's3'] as const) {
  describe(`gc of unindexed packs (${backend})`, { skip: backend === 's3' && skipWithoutS3 }, () => {
    const newStore = freshStores(backend, 'gc');

    /** A fresh repository, with a snapshot, and the packs of a writer that stopped before its index. */
    async function setup(wrap: (store: ObjectStore) => ObjectStore = (store) => store) {
      const store = wrap(await newStore());
      await initRepository(store, { packSize: 4096, created: T0 });
      const good = await openRepository(store);
      const other = makeBlobs(8, 4, 1500);
      for (const c of other) await good.addBlob('data', c.id, c.data);
      await finishSnapshot(good, await good.saveTree({ entries: [file('g.bin', other)] }));
      const indexedPacks = await packsIn(store);
      const writerStore = new WriterStore(store);
      const writer = await openRepository(writerStore);
      writerStore.failIndex = true;
      const root = await writeBlobs(writer);
      await rejectsWith(writer.flush(), 'E_TRANSIENT');
      await writer.abort();
      writerStore.failIndex = false;
      const leftovers = (await packsIn(store)).filter((k) => !indexedPacks.includes(k));
      assert.ok(leftovers.length >= 2, 'the stopped writer left packs');
      const gcStore = new GcStore(store);
      return { store, writer, writerStore, root, indexedPacks, leftovers, gcStore, gcRepo: await openRepository(gcStore, { loadIndex: false }) };
    }

    const gc = (repo: Repository, later: number, dryRun = false): Promise<GcReport> => collectGarbage(repo, { graceMs: DAY, dryRun, now: () => Date.now() + later });


    /**
     * Starts the writer's flush and returns once it has checked its packs (all there) and sent the
     * index put, which lands only at `release`; `flushing` is the flush's error, if any.
     */
    async function flushUpToIndex(s: Awaited<ReturnType<typeof setup>>): Promise<{ release: () => void; flushing: Promise<unknown> }> {
      let release!: () => void;
      s.writerStore.gate = new Promise((r) => (release = r));
      const atIndex = new Promise<void>((r) => (s.writerStore.onIndexPut = r));
      const flushing = s.writer.flush().then(
        () => undefined,
        (e: unknown) => e,
      );
      await atIndex;
      return { release, flushing };
    }
    it('keeps leftover packs within the grace period and removes them after it; indexed packs stay', async () => {
      const s = await setup();
      const young = await gc(s.gcRepo, 0);
      assert.deepEqual(young.removed, []);
      assert.deepEqual(young.young.map((p) => p.key).sort(), s.leftovers.sort());
      assert.equal(young.indexed, s.indexedPacks.length);
      assert.deepEqual((await packsIn(s.store)).sort(), [...s.indexedPacks, ...s.leftovers].sort());

      const old = await gc(s.gcRepo, DAY + 60_000);
      assert.deepEqual(old.removed.map((p) => p.key).sort(), s.leftovers.sort());
      assert.ok(old.removed.every((p) => p.size > 0));
      assert.deepEqual((await packsIn(s.store)).sort(), [...s.indexedPacks].sort());
      await assertSound(s.store);
      assert.deepEqual((await check(await openRepository(s.store), { readData: false })).warnings, []);
    });

    it('dry run reports the same packs and deletes nothing', async () => {
      const s = await setup();
      const dry = await gc(s.gcRepo, 2 * DAY, true);
      assert.equal(dry.dryRun, true);
      assert.deepEqual(dry.removed.map((p) => p.key).sort(), s.leftovers.sort());
      assert.deepEqual((await packsIn(s.store)).sort(), [...s.indexedPacks, ...s.leftovers].sort());
    });

    it('never removes a pack an index names, even with no snapshot using it', async () => {
      const s = await setup();
      // The stopped writer comes back: its index names the leftovers, but it never saves a snapshot.
      await s.writer.flush();
      const r = await gc(s.gcRepo, 30 * DAY);
      assert.deepEqual(r.removed, []);
      assert.equal(r.indexed, s.indexedPacks.length + s.leftovers.length);
      assert.equal((await packsIn(s.store)).length, s.indexedPacks.length + s.leftovers.length);
    });

    it('a writer stopped past the grace period finds its packs gone, indexes nothing, and its retry uploads them again', async () => {
      const s = await setup();
      await gc(s.gcRepo, DAY + 60_000);
      const err = await rejectsWith(finishSnapshot(s.writer, s.root), 'E_PACK_MISSING');
      assert.ok(s.leftovers.includes(err.key ?? ''), err.toString());
      // One line a user can read: the code and the pack once, what happened, no developer's advice.
      assert.match(err.toString(), /^E_PACK_MISSING data\/[0-9a-f]{2}\/[0-9a-f]{64}: a pack is not stored: (a pack|\d+ packs) this writer uploaded went from the store/);
      assert.equal(err.toString().split('E_PACK_MISSING').length, 2, err.toString());
      await assertSound(s.store);
      await s.writer.abort();
      await finishSnapshot(s.writer, await writeBlobs(s.writer));
      await assertSound(s.store);
      const reader = await openRepository(s.store);
      let bytes = 0;
      await reader.readBlobs(chunks.map((c) => c.id), (_id, d) => void (bytes += d.byteLength));
      assert.equal(bytes, chunks.length * 1500);
    });

    it('an index written while gc looks at the packs saves them', async () => {
      const s = await setup();
      s.gcStore.onIndexList = async (n) => {
        if (n === 2) await s.writer.flush();
      };
      const r = await gc(s.gcRepo, DAY + 60_000);
      assert.deepEqual(r.removed, []);
      assert.equal((await packsIn(s.store)).length, s.indexedPacks.length + s.leftovers.length);
      await finishSnapshot(s.writer, s.root);
      await assertSound(s.store);
    });

    it('a writer that checked its packs before gc deleted them withdraws the index it writes after', async () => {
      const s = await setup();
      const { release, flushing } = await flushUpToIndex(s);
      s.gcStore.onIndexList = async (n) => {
        // After gc's deletes, before its look at the indexes: the index lands, the writer looks again.
        if (n === 3) {
          release();
          assert.ok(isCode(await flushing, 'E_PACK_MISSING'));
        }
      };
      const r = await gc(s.gcRepo, DAY + 60_000);
      assert.deepEqual(r.removed.map((p) => p.key).sort(), s.leftovers.sort());
      assert.deepEqual(await keysUnder(s.store, 'index/').then((k) => k.length), 1);
      await assertSound(s.store);
      await s.writer.abort();
      await finishSnapshot(s.writer, await writeBlobs(s.writer));
      await assertSound(s.store);
    });

    for (const withdrawn of ['at once', 'at the next flush'] as const) {
      it(`a writer whose look after its index write fails withdraws the index ${withdrawn} when gc deleted a pack before it`, async () => {
        const s = await setup();
        const { release, flushing } = await flushUpToIndex(s);
        // gc deletes the packs and looks at the indexes before the index lands.
        const r = await gc(s.gcRepo, DAY + 60_000);
        assert.deepEqual(r.removed.map((p) => p.key).sort(), s.leftovers.sort());
        // The index lands; the writer's network goes before it could look again.
        s.writerStore.failHead = true;
        s.writerStore.failIndexDelete = withdrawn === 'at the next flush';
        release();
        assert.ok(isCode(await flushing, 'E_TRANSIENT'), String(await flushing));
        s.writerStore.failHead = false;
        s.writerStore.failIndexDelete = false;
        s.writerStore.gate = undefined;
        if (withdrawn === 'at the next flush') {
          await s.writer.abort();
          await rejectsWith(s.writer.flush(), 'E_PACK_MISSING');
        }
        assert.deepEqual(await keysUnder(s.store, 'index/').then((k) => k.length), 1);
        await assertSound(s.store);
        await s.writer.abort();
        for (;;) {
          const err = await finishSnapshot(s.writer, await writeBlobs(s.writer)).then(() => undefined, (e: unknown) => e);
          if (err === undefined) break;
          assert.ok(isCode(err, 'E_PACK_MISSING'), String(err));
          await s.writer.abort();
        }
        await assertSound(s.store);
      });
    }

    it('an index its writer withdraws after a consolidating gc read it is not copied: the blobs the writer uploads again read back', async () => {
      const s = await setup();
      const { release, flushing } = await flushUpToIndex(s);
      let withdraw!: () => void;
      s.writerStore.holdIndexDelete = new Promise((r) => (withdraw = r));
      const withdrawing = new Promise<void>((r) => (s.writerStore.onIndexDelete = r));
      // gc A has listed the packs (all there) when gc B deletes them and looks at the indexes before
      // the writer's index lands; the writer then finds a pack gone, but withdraws its index only
      // after gc A read it.
      s.gcStore.onIndexList = async (n) => {
        if (n !== 1) return;
        const b = await gc(await openRepository(s.store, { loadIndex: false }), DAY + 60_000);
        assert.deepEqual(b.removed.map((p) => p.key).sort(), s.leftovers.sort());
        release();
        await withdrawing;
      };
      const a = await collectGarbage(s.gcRepo, { graceMs: DAY, dryRun: false, maxLiveIndexes: 1 });
      assert.equal(a.indexes.live, 2, 'gc A read the index about to be withdrawn');
      withdraw();
      assert.ok(isCode(await flushing, 'E_PACK_MISSING'), String(await flushing));
      s.writerStore.gate = undefined;
      s.writerStore.holdIndexDelete = undefined;
      await assertSound(s.store);
      // The retry holds a new chunk too (the file changed meanwhile): its packs are not the lost ones.
      await s.writer.abort();
      const edited = [...makeBlobs(9, 1, 1500), ...chunks];
      for (const c of edited) await s.writer.addBlob('data', c.id, c.data);
      await finishSnapshot(s.writer, await s.writer.saveTree({ entries: [file('f.bin', edited)] }));
      await assertSound(s.store);
      const reader = await openRepository(s.store);
      let bytes = 0;
      await reader.readBlobs(chunks.map((c) => c.id), (_id, d) => void (bytes += d.byteLength));
      assert.equal(bytes, chunks.length * 1500);
    });

    it('a consolidated index that names a pack gone between gc\'s look and its write is replaced by one without it', async () => {
      const s = await setup();
      const good = await keysUnder(s.store, 'index/');
      await s.writer.flush();
      const [mine] = (await keysUnder(s.store, 'index/')).filter((k) => !good.includes(k)) as [string];
      const [lost, ...kept] = s.leftovers as [string, ...string[]];
      // Just before the consolidated index lands, the writer withdraws its index (it found a pack
      // gone) and another gc deletes that pack, which no index names any more.
      s.gcStore.onIndexPut = async () => {
        s.gcStore.onIndexPut = undefined;
        await s.store.delete(mine);
        await s.store.delete(lost);
      };
      const r = await collectGarbage(s.gcRepo, { graceMs: DAY, dryRun: false, maxLiveIndexes: 1 });
      const written = r.indexes.written.map((w) => w.key);
      assert.equal(written.length, 1);
      assert.deepEqual((await keysUnder(s.store, 'index/')).sort(), [...good, ...written].sort(), 'the index naming the lost pack is gone');
      const idx = decodeIndexFile(written[0] as string, await s.store.get(written[0] as string), s.gcRepo.format.hash);
      const named = idx.packs.map((p) => keys.pack(p.id));
      assert.ok(!named.includes(lost));
      for (const k of [...kept, ...s.indexedPacks]) assert.ok(named.includes(k), `${k} is still named`);
      assert.deepEqual(idx.supersedes, good, 'it supersedes only the index whose packs are all there');
      await assertSound(s.store);
    });

    it('a consolidated index whose packs gc cannot look at after its write is withdrawn: it may name a pack gone', async () => {
      const s = await setup();
      const good = await keysUnder(s.store, 'index/');
      await s.writer.flush();
      const [mine] = (await keysUnder(s.store, 'index/')).filter((k) => !good.includes(k)) as [string];
      const [lost] = s.leftovers as [string];
      // Just before the consolidated index lands, the writer withdraws its index and another gc
      // deletes a pack of it; then gc's look after its write fails.
      s.gcStore.onIndexPut = async () => {
        s.gcStore.onIndexPut = undefined;
        await s.store.delete(mine);
        await s.store.delete(lost);
        s.gcStore.failHead = true;
      };
      await rejectsWith(collectGarbage(s.gcRepo, { graceMs: DAY, dryRun: false, maxLiveIndexes: 1 }), 'E_TRANSIENT');
      s.gcStore.failHead = false;
      assert.deepEqual((await keysUnder(s.store, 'index/')).sort(), [...good].sort(), 'the consolidated index is withdrawn');
      await assertSound(s.store);
    });

    it('packs an index names by the time gc deleted them are put back', async () => {
      const s = await setup();
      // After gc's last look before deleting, and before any delete: the writer checks, writes its
      // index and checks again, all while every pack is there.
      let writing: Promise<void> | undefined;
      s.gcStore.onPackGet = () => (writing ??= s.writer.flush());
      const r = await gc(s.gcRepo, DAY + 60_000);
      assert.ok(r.restored.length >= 1, JSON.stringify(r));
      assert.deepEqual(r.removed, []);
      await finishSnapshot(s.writer, s.root);
      await assertSound(s.store);
    });

    it('packs an index names by the time gc deleted them are put back, though listings lag the index by the listing lag', async () => {
      // Swift's listings may lag its writes: gc's looks at the indexes miss the one the writer wrote
      // until the listing lag has passed since it, which gc waits out before its last look.
      let lagging!: LaggingStore;
      let since: number | undefined;
      const s = await setup((store) => (lagging = new LaggingStore(store, { lag: () => (since === undefined ? 0 : lagging.writes - since) })));
      let writing: Promise<void> | undefined;
      s.gcStore.onPackGet = () => {
        since ??= lagging.writes;
        return (writing ??= s.writer.flush());
      };
      const waited: number[] = [];
      const sleep = async (ms: number): Promise<void> => {
        waited.push(ms);
        since = undefined;
      };
      const r = await collectGarbage(s.gcRepo, { graceMs: DAY, dryRun: false, now: () => Date.now() + DAY + 60_000, listingLagMs: 5000, sleep });
      since = undefined;
      await finishSnapshot(s.writer, s.root);
      await assertSound(s.store);
      assert.ok(r.restored.length >= 1, JSON.stringify(r));
      assert.deepEqual(r.removed, []);
      assert.ok(waited.length > 0 && waited.every((ms) => ms > 0 && ms <= 5000), JSON.stringify(waited));
    });

    it('a delete that failed after the store deleted the pack puts it back when an index names it', async () => {
      const s = await setup();
      let writing: Promise<void> | undefined;
      s.gcStore.onPackGet = () => (writing ??= s.writer.flush());
      // The store deletes the pack, but its answer is lost (a reset, a timeout): gc sees a failure.
      s.gcStore.onPackDelete = async (key, del) => {
        await del();
        throw new StrataError('E_TRANSIENT', 'the answer to the delete was lost', { key });
      };
      await rejectsWith(gc(s.gcRepo, DAY + 60_000), 'E_TRANSIENT');
      assert.equal((await packsIn(s.store)).length, s.indexedPacks.length + s.leftovers.length);
      await finishSnapshot(s.writer, s.root);
      await assertSound(s.store);
    });

    it('a pack it cannot put back does not keep gc from putting back the others', async () => {
      const s = await setup();
      let writing: Promise<void> | undefined;
      s.gcStore.onPackGet = () => (writing ??= s.writer.flush());
      // The look after the deletes fails, so every pack deleted goes back; the first put-back fails.
      s.gcStore.onIndexList = async (n) => {
        if (n === 3) throw new StrataError('E_TRANSIENT', 'the listing failed', { key: 'index/' });
      };
      let failed: string | undefined;
      s.gcStore.onPackPut = async (key) => {
        if (failed !== undefined) return;
        failed = key;
        throw new StrataError('E_PERMANENT', 'the put failed', { key });
      };
      const err = await rejectsWith(gc(s.gcRepo, DAY + 60_000), 'E_PERMANENT');
      const left = await packsIn(s.store);
      assert.deepEqual(s.leftovers.filter((k) => !left.includes(k)), [failed]);
      assert.equal(err.key, failed);
      assert.match(err.message, /could not put back 1 pack/);
    });

    it('leaves alone every key under data/ that is not exactly a pack key', async () => {
      const s = await setup();
      const id = s.leftovers[0]?.split('/')[2] as string;
      const odd = [`data/${id.slice(0, 2)}/${id}.tmp`, `data/zz/${id}`, `data/${id.slice(0, 2)}/${id.toUpperCase()}`, `data/${id.slice(0, 2)}/x/${id}`, `data/${id}`];
      for (const k of odd) await s.store.put(k, new Uint8Array([1]));
      const r = await gc(s.gcRepo, 30 * DAY);
      assert.deepEqual(r.ignored.sort(), odd.sort());
      const left = await packsIn(s.store);
      for (const k of odd) assert.ok(left.includes(k), k);
    });

    it('an index it cannot read makes gc delete nothing', async () => {
      const s = await setup();
      const bad = keys.index('0'.repeat(64));
      await s.store.put(bad, new TextEncoder().encode('{"version":1,"packs":[]}'));
      await rejectsWith(gc(s.gcRepo, 30 * DAY), 'E_GC_UNSAFE', bad);
      assert.equal((await packsIn(s.store)).length, s.indexedPacks.length + s.leftovers.length);
    });
  });
}

function isCode(err: unknown, code: string): boolean {
  return err instanceof StrataError && err.code === code;
}
