// Index consolidation (compact.ts, run by gc), the version 2 index format (indexfile.ts) and the
// readers that skip superseded indexes (indexload.ts), against the memory store.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StrataError } from '../errors.js';
import { ForwardingStore } from '../store/forwarding.js';
import type { ByteRange, ListOptions, ObjectInfo, ObjectStore } from '../store/index.js';
import { MemoryStore } from '../store/memory.js';
import { check } from './check.js';
import { openRepository } from './format.js';
import { collectGarbage, type GcOptions } from './gc.js';
import type { WrittenIndex } from './compact.js';
import { MAX_SUPERSEDES, coverMap, decodeIndexFile, encodeIndex, indexCovers } from './indexfile.js';
import type { Repository } from './repository.js';
import { T0, file, keysUnder, makeBlobs, newRepo, rejectsWith } from './testkit.js';
import { keys } from './types.js';

const DAY = 86_400_000;
const LAYER = 'user/alice';
const HEX = (c: string) => c.repeat(64);

/**
 * Counts the GETs of index objects, and can list keys that are gone (`stale`: what a listing that
 * lags a delete shows) and hide keys from the first `hideLists` listings (one that lags a write).
 */
class IndexStore extends ForwardingStore {
  indexGets = 0;
  lists = 0;
  stale: ObjectInfo[] = [];
  hidden = new Set<string>();
  hideLists = 0;
  override get(key: string, range?: ByteRange): Promise<Uint8Array> {
    if (key.startsWith('index/')) this.indexGets++;
    return super.get(key, range);
  }
  override async *list(prefix: string, opts?: ListOptions): AsyncIterable<ObjectInfo> {
    if (prefix !== 'index/') return yield* this.inner.list(prefix, opts);
    const hide = ++this.lists <= this.hideLists;
    const out: ObjectInfo[] = [...this.stale];
    for await (const info of this.inner.list(prefix, opts)) if (!(hide && this.hidden.has(info.key))) out.push(info);
    yield* out.sort((a, b) => (a.key < b.key ? -1 : 1));
  }
}

/** `n` sync passes of one device, each a snapshot with one new file: `n` index objects. */
async function passes(repo: Repository, n: number, seed = 1, chunksEach = 2): Promise<Uint8Array[]> {
  const all: Uint8Array[] = [];
  const entries = [];
  for (let i = 0; i < n; i++) {
    const chunks = makeBlobs(seed * 1000 + i, chunksEach, 300);
    for (const c of chunks) await repo.addBlob('data', c.id, c.data);
    all.push(...chunks.map((c) => c.data));
    entries.push(file(`f${String(seed).padStart(3, '0')}-${String(i).padStart(3, '0')}`, chunks));
    const root = await repo.saveTree({ entries: [...entries] });
    await repo.flush();
    const id = await repo.saveSnapshot({ version: 1, layer: LAYER, device: 'pc', time: T0.toISOString(), root, parents: [] });
    await repo.writeHead(LAYER, 'pc', id);
  }
  return all;
}

/** Twelve passes of one device on a memory store, seen through an IndexStore, and a repository for gc through it. */
async function twelvePasses() {
  const memory = new MemoryStore();
  const store = new IndexStore(memory);
  const { repo } = await newRepo({ store: memory });
  const blobs = await passes(repo, 12);
  return { memory, store, repo, blobs, gcRepo: await openRepository(store, { loadIndex: false }) };
}

const gc = (repo: Repository, later: number, more: Partial<GcOptions> = {}) => collectGarbage(repo, { graceMs: DAY, dryRun: false, now: () => Date.now() + later, ...more });

/** Every blob the latest snapshot names reads back through a fresh repository on `store`, and check finds nothing wrong. */
async function assertWhole(store: ObjectStore, blobs: readonly Uint8Array[]) {
  const reader = await openRepository(store);
  assert.deepEqual(reader.indexErrors, []);
  let bytes = 0;
  await reader.readBlobs(blobs.map((b) => reader.blobId(b)), (_id, d) => void (bytes += d.byteLength));
  assert.equal(bytes, blobs.reduce((s, b) => s + b.byteLength, 0));
  const report = await check(await openRepository(store, { loadIndex: false }), { readData: true });
  assert.deepEqual(report.problems, []);
}

async function bucket(store: ObjectStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const { key } of store.list('')) out.set(key, Buffer.from(await store.get(key)).toString('base64'));
  return out;
}

describe('index format version 2 (consolidated)', () => {
  const pack = { id: HEX('a'), size: 100, blobs: [{ id: HEX('b'), type: 'data' as const, offset: 0, length: 10 }] };

  it('encodes supersedes as version 2 and decodes both versions', () => {
    const v1 = encodeIndex([pack], 'sha256');
    assert.deepEqual(decodeIndexFile(keys.index(v1.id), v1.bytes, 'sha256'), { packs: [pack], supersedes: [] });
    assert.match(Buffer.from(v1.bytes).toString(), /"version":1}$/);
    const v2 = encodeIndex([pack], 'sha256', [HEX('1'), HEX('2')]);
    const text = Buffer.from(v2.bytes).toString();
    assert.ok(text.startsWith('{"packs":[{"blobs":[{"id":'), text);
    assert.ok(text.endsWith(`,"supersedes":["${HEX('1')}","${HEX('2')}"],"version":2}`), text);
    assert.deepEqual(decodeIndexFile(keys.index(v2.id), v2.bytes, 'sha256'), { packs: [pack], supersedes: [keys.index(HEX('1')), keys.index(HEX('2'))] });
  });

  const bad: [string, unknown, string][] = [
    ['supersedes in a version 1 index', { packs: [], supersedes: [HEX('1')], version: 1 }, 'E_BAD_OBJECT'],
    ['no supersedes in a version 2 index', { packs: [], version: 2 }, 'E_BAD_OBJECT'],
    ['an empty supersedes', { packs: [], supersedes: [], version: 2 }, 'E_BAD_OBJECT'],
    ['supersedes that is not an array', { packs: [], supersedes: HEX('1'), version: 2 }, 'E_BAD_OBJECT'],
    ['a superseded id that is a path', { packs: [], supersedes: ['../config'], version: 2 }, 'E_BAD_OBJECT'],
    ['a superseded id in capitals', { packs: [], supersedes: [HEX('A')], version: 2 }, 'E_BAD_OBJECT'],
    ['superseded ids out of order', { packs: [], supersedes: [HEX('2'), HEX('1')], version: 2 }, 'E_BAD_OBJECT'],
    ['a superseded id twice', { packs: [], supersedes: [HEX('1'), HEX('1')], version: 2 }, 'E_BAD_OBJECT'],
    ['too many superseded ids', { packs: [], supersedes: Array.from({ length: MAX_SUPERSEDES + 1 }, (_, i) => i.toString(16).padStart(64, '0')), version: 2 }, 'E_BAD_OBJECT'],
    ['version 3', { packs: [], supersedes: [HEX('1')], version: 3 }, 'E_UNSUPPORTED_FORMAT'],
  ];
  for (const [name, value, code] of bad) {
    it(`refuses ${name} (${code})`, async () => {
      const { repo } = await newRepo();
      const bytes = Buffer.from(JSON.stringify(value));
      const key = keys.index(repo.blobId(bytes));
      assert.throws(() => decodeIndexFile(key, bytes, repo.format.hash), (e: unknown) => e instanceof StrataError && e.code === code && e.key === key);
    });
  }
});

describe('index consolidation by gc', () => {
  it('merges the indexes into one, readers then fetch only it, and a later gc past the grace period deletes the merged ones', async () => {
    const s = await twelvePasses();
    const before = await keysUnder(s.memory, 'index/');
    assert.equal(before.length, 12);
    s.store.indexGets = 0;
    await openRepository(s.store);
    assert.equal(s.store.indexGets, 12, 'before: every index is fetched');

    const first = await gc(s.gcRepo, 0);
    assert.equal(first.indexes.read, 12);
    assert.equal(first.indexes.live, 12);
    assert.equal(first.indexes.written.length, 1);
    assert.deepEqual([first.indexes.written[0]?.merged, first.indexes.written[0]?.supersedes, first.indexes.written[0]?.blobs], [12, 12, 12 * 2 + 12]);
    assert.deepEqual(first.indexes.deleted, []);
    const consolidated = first.indexes.written[0]?.key as string;
    const decoded = decodeIndexFile(consolidated, await s.memory.get(consolidated), s.repo.format.hash);
    assert.deepEqual(decoded.supersedes, [...before].sort());

    // A writer's pass after the consolidation: its index is not superseded.
    const extra = await passes(s.repo, 1, 2);
    s.store.indexGets = 0;
    const reader = await openRepository(s.store);
    assert.equal(s.store.indexGets, 2, 'after: the consolidated index and the one written since');
    s.store.indexGets = 0;
    await reader.loadIndex();
    assert.equal(s.store.indexGets, 0, 'superseded indexes count as loaded');
    await assertWhole(s.store, [...s.blobs, ...extra]);

    const young = await gc(s.gcRepo, 60_000);
    assert.deepEqual([young.indexes.live, young.indexes.written.length, young.indexes.deleted.length], [2, 0, 0]);
    assert.deepEqual(young.indexes.young.sort(), before.sort(), 'the consolidated index is younger than the grace period');
    assert.equal((await keysUnder(s.memory, 'index/')).length, 14);

    const later = await gc(s.gcRepo, DAY + 60_000);
    assert.deepEqual(later.indexes.deleted.sort(), before.sort());
    const left = await keysUnder(s.memory, 'index/');
    assert.equal(left.length, 2);
    assert.ok(left.includes(consolidated));
    assert.equal(later.indexed, later.packs, 'every pack is still named by an index');
    await assertWhole(s.store, [...s.blobs, ...extra]);
  });

  it('writes nothing at or under the threshold, and the threshold is an option', async () => {
    const s = await twelvePasses();
    const r = await gc(s.gcRepo, 0, { maxLiveIndexes: 12 });
    assert.deepEqual([r.indexes.live, r.indexes.written.length], [12, 0]);
    const small = await gc(s.gcRepo, 0, { maxLiveIndexes: 11, maxIndexBlobs: 10 });
    // Each index has three blobs: groups of three indexes (9 blobs), four of them.
    assert.deepEqual(small.indexes.written.map((w) => w.merged), [3, 3, 3, 3]);
  });

  it('a dry run writes and deletes nothing and reports what a real run would do', async () => {
    const s = await twelvePasses();
    const snapshot = await bucket(s.memory);
    const dry = await gc(s.gcRepo, 0, { dryRun: true });
    assert.deepEqual(await bucket(s.memory), snapshot);
    const real = await gc(s.gcRepo, 0);
    assert.deepEqual(dry.indexes, real.indexes);
    const snapshot2 = await bucket(s.memory);
    const dryLater = await gc(s.gcRepo, 2 * DAY, { dryRun: true });
    assert.equal(dryLater.indexes.deleted.length, 12);
    assert.deepEqual(await bucket(s.memory), snapshot2);
  });

  it('never deletes an index whose superseder lacks one of its packs (or one blob entry), whatever it claims', async () => {
    const s = await twelvePasses();
    const victims = (await keysUnder(s.memory, 'index/')).sort();
    const packsOf = async (key: string) => decodeIndexFile(key, await s.memory.get(key), s.repo.format.hash).packs;
    const [a, b] = [await packsOf(victims[0] as string), await packsOf(victims[1] as string)];
    // Claims both, names all of a's packs but only some of b's blob entries.
    const partial = b.map((p) => ({ ...p, blobs: p.blobs.slice(1) }));
    const liar = encodeIndex([...a, ...partial], s.repo.format.hash, victims.slice(0, 2).map((k) => k.slice(6)));
    await s.memory.put(keys.index(liar.id), liar.bytes);
    const r = await gc(s.gcRepo, 2 * DAY, { maxLiveIndexes: 100 });
    assert.deepEqual(r.indexes.deleted, [victims[0]], 'only the index it really covers');
    assert.equal(r.indexes.live, 12, 'the liar and the 11 it does not cover');
    assert.ok((await keysUnder(s.memory, 'index/')).includes(victims[1] as string));
    const report = await check(await openRepository(s.memory, { loadIndex: false }), { readData: false });
    assert.deepEqual(report.problems.map((p) => [p.code, p.key]), [['E_BAD_OBJECT', keys.index(liar.id)]], 'check names the index that claims too much');
  });

  it('a pack two merged indexes name with different blob entries keeps every entry of both in the consolidated index', async () => {
    const s = await twelvePasses();
    const [victim] = (await keysUnder(s.memory, 'index/')).sort() as [string];
    const packs = decodeIndexFile(victim, await s.memory.get(victim), s.repo.format.hash).packs;
    // An index that names the same packs with one entry fewer (no claim to supersede anything):
    // smaller, so merged first.
    const fewer = encodeIndex(packs.map((p) => ({ ...p, blobs: p.blobs.slice(1) })), s.repo.format.hash);
    await s.memory.put(keys.index(fewer.id), fewer.bytes);
    const r = await gc(s.gcRepo, 0);
    const [written] = r.indexes.written as [WrittenIndex];
    const idx = decodeIndexFile(written.key, await s.memory.get(written.key), s.repo.format.hash);
    assert.ok(idx.supersedes.includes(victim));
    assert.equal(written.blobs, 12 * 3, 'each of the 36 blob entries once');
    assert.ok(indexCovers(coverMap(idx), decodeIndexFile(victim, await s.memory.get(victim), s.repo.format.hash)), 'it has every entry of the index it supersedes');
    const reader = await openRepository(s.store);
    let bytes = 0;
    await reader.readBlobs(s.blobs.map((b) => reader.blobId(b)), (_id, d) => void (bytes += d.byteLength));
    assert.equal(bytes, s.blobs.reduce((sum, b) => sum + b.byteLength, 0));
    const report = await check(await openRepository(s.memory, { loadIndex: false }), { readData: false });
    assert.deepEqual(report.problems, []);
  });

  it('leaves out an index naming a stored pack at a size it does not have, though another merged index names it at its size', async () => {
    for (const wrongFirst of [true, false]) {
      const s = await twelvePasses();
      const victims = (await keysUnder(s.memory, 'index/')).sort();
      const stored = new Map<string, number>();
      for await (const { key, size } of s.memory.list('data/')) stored.set(key.slice(-64), size);
      // A damaged index: one of the victim's packs at a size one more. Its key sorts before or
      // after the victim's, so it is looked at before or after it.
      let wrong;
      for (let extra = 1; ; extra++) {
        const packs = decodeIndexFile(victims[0] as string, await s.memory.get(victims[0] as string), s.repo.format.hash).packs;
        wrong = encodeIndex(packs.map((p, i) => (i === 0 ? { ...p, size: p.size + extra } : p)), s.repo.format.hash);
        if (keys.index(wrong.id) < (victims[0] as string) === wrongFirst) break;
      }
      await s.memory.put(keys.index(wrong.id), wrong.bytes);
      const r = await gc(s.gcRepo, 0);
      const [written] = r.indexes.written as [WrittenIndex];
      const idx = decodeIndexFile(written.key, await s.memory.get(written.key), s.repo.format.hash);
      assert.ok(idx.packs.every((p) => stored.get(p.id) === p.size), `every pack at its stored size (damaged index ${wrongFirst ? 'first' : 'last'})`);
      assert.ok(!idx.supersedes.includes(keys.index(wrong.id)));
      assert.ok(idx.supersedes.includes(victims[0] as string), `the index naming the pack at its size is merged (damaged index ${wrongFirst ? 'first' : 'last'})`);
    }
  });

  it('an index gone between the listing and its GET is fine when a loaded index supersedes it, for readers and for gc', async () => {
    const s = await twelvePasses();
    const old = await keysUnder(s.memory, 'index/');
    const listing: ObjectInfo[] = [];
    for await (const info of s.memory.list('index/')) listing.push({ ...info, size: info.size * 1000 });
    await gc(s.gcRepo, 0);
    for (const k of old) await s.memory.delete(k);
    // The listing still shows them, and as the largest: a reader fetches one before the consolidated index.
    s.store.stale = listing;
    const reader = await openRepository(s.store);
    assert.deepEqual(reader.indexErrors, []);
    await assertWhole(s.store, s.blobs);
    const r = await gc(s.gcRepo, 0);
    assert.deepEqual([r.indexes.read, r.indexes.live], [1, 1]);
  });

  it('an index gone and superseded by none is still an error, after one more listing', async () => {
    const s = await twelvePasses();
    const [gone] = await keysUnder(s.memory, 'index/');
    const info = { key: gone as string, size: 10_000_000, version: 'w1', modified: Date.now() };
    await s.memory.delete(gone as string);
    s.store.stale = [info];
    s.store.lists = 0;
    const reader = await openRepository(s.store);
    assert.deepEqual(reader.indexErrors.map((e) => [e.code, e.key]), [['E_NOT_FOUND', gone]]);
    assert.equal(s.store.lists, 2, 'listed again, in case its superseder was not listed yet');
    await rejectsWith(gc(s.gcRepo, 0), 'E_GC_UNSAFE', gone);
  });

  it('an index gone whose superseder the first listing did not show yet is found by the second', async () => {
    const s = await twelvePasses();
    const old = await keysUnder(s.memory, 'index/');
    const listing: ObjectInfo[] = [];
    for await (const info of s.memory.list('index/')) listing.push(info);
    const r = await gc(s.gcRepo, 0);
    const consolidated = r.indexes.written[0]?.key as string;
    for (const k of old) await s.memory.delete(k);
    s.store.stale = listing;
    s.store.hidden = new Set([consolidated]);
    s.store.lists = 0;
    s.store.hideLists = 1;
    const reader = await openRepository(s.store);
    assert.deepEqual(reader.indexErrors, []);
    assert.equal(s.store.lists, 2);
    let bytes = 0;
    await reader.readBlobs(s.blobs.map((b) => reader.blobId(b)), (_id, d) => void (bytes += d.byteLength));
    assert.equal(bytes, s.blobs.length * 300);
  });

  it('consolidates nothing when an index cannot be read, and leaves out an index naming a pack that is not stored', async () => {
    const s = await twelvePasses();
    const bad = Buffer.from('{"packs":[');
    await s.memory.put(keys.index(s.repo.blobId(bad)), bad);
    await rejectsWith(gc(s.gcRepo, 0), 'E_GC_UNSAFE');
    assert.equal((await keysUnder(s.memory, 'index/')).length, 13);
    await s.memory.delete(keys.index(s.repo.blobId(bad)));

    const missing = encodeIndex([{ id: HEX('e'), size: 100, blobs: [] }], s.repo.format.hash);
    await s.memory.put(keys.index(missing.id), missing.bytes);
    const r = await gc(s.gcRepo, 0);
    assert.equal(r.indexes.live, 13);
    assert.equal(r.indexes.written[0]?.merged, 12);
    const written = decodeIndexFile(r.indexes.written[0]?.key as string, await s.memory.get(r.indexes.written[0]?.key as string), s.repo.format.hash);
    assert.ok(!written.supersedes.includes(keys.index(missing.id)));
  });

  it('merges a consolidated index again with the new ones, superseding what it superseded too', async () => {
    const s = await twelvePasses();
    const first = await gc(s.gcRepo, 0);
    const extra = await passes(s.repo, 9, 3);
    const second = await gc(s.gcRepo, 0);
    assert.equal(second.indexes.live, 10);
    assert.equal(second.indexes.written[0]?.merged, 10);
    assert.equal(second.indexes.written[0]?.supersedes, 12 + 1 + 9, 'the first one, what it superseded, and the nine new ones');
    s.store.indexGets = 0;
    await openRepository(s.store);
    assert.equal(s.store.indexGets, 1);
    const third = await gc(s.gcRepo, 2 * DAY);
    assert.equal(third.indexes.deleted.length, 22);
    assert.ok(!third.indexes.deleted.includes(second.indexes.written[0]?.key as string));
    assert.ok(third.indexes.deleted.includes(first.indexes.written[0]?.key as string));
    assert.deepEqual(await keysUnder(s.memory, 'index/'), [second.indexes.written[0]?.key]);
    await assertWhole(s.store, [...s.blobs, ...extra]);
  });

  it('an index covered only by one that is covered in turn waits: a coverer must stay', async () => {
    const s = await twelvePasses();
    const [x] = await keysUnder(s.memory, 'index/');
    const packs = decodeIndexFile(x as string, await s.memory.get(x as string), s.repo.format.hash).packs;
    const a = encodeIndex(packs, s.repo.format.hash, [(x as string).slice(6)]);
    const b = encodeIndex(packs, s.repo.format.hash, [a.id]);
    await s.memory.put(keys.index(a.id), a.bytes);
    await s.memory.put(keys.index(b.id), b.bytes);
    const r = await gc(s.gcRepo, 2 * DAY, { maxLiveIndexes: 100 });
    assert.deepEqual(r.indexes.deleted, [keys.index(a.id)], 'a is covered by b, which is live; x only by a, which goes');
    const again = await gc(s.gcRepo, 2 * DAY, { maxLiveIndexes: 100 });
    assert.deepEqual([again.indexes.deleted, again.indexes.live], [[], 13], 'x is live again (b covers nothing listed): the twelve and b');
    await assertWhole(s.store, s.blobs);
  });
});

describe('index consolidation over many runs', () => {
  it('repeated runs with a few new small indexes each merge those and leave a large consolidated index alone, and the live count stays within the limit', async () => {
    const memory = new MemoryStore();
    const { repo } = await newRepo({ store: memory });
    const blobs = await passes(repo, 12, 1, 40);
    const gcRepo = await openRepository(memory, { loadIndex: false });
    const first = await gc(gcRepo, 0);
    const large = first.indexes.written[0] as { key: string; blobs: number };
    assert.equal(large.blobs, 12 * 41);
    let rewritten = 0;
    let added = 0;
    for (let round = 0; round < 12; round++) {
      blobs.push(...(await passes(repo, 3, 100 + round)));
      added += 3 * 3;
      const r = await gc(gcRepo, 0);
      rewritten += r.indexes.written.reduce((sum, w) => sum + w.blobs, 0);
      const liveAfter = r.indexes.live - r.indexes.written.reduce((sum, w) => sum + w.merged, 0) + r.indexes.written.length;
      assert.ok(liveAfter <= 8, `round ${round}: ${liveAfter} indexes live`);
      const superseding = await Promise.all((await keysUnder(memory, 'index/')).map(async (k) => decodeIndexFile(k, await memory.get(k), repo.format.hash).supersedes));
      assert.ok(!superseding.some((list) => list.includes(large.key)), `round ${round}: the large index was rewritten`);
    }
    // Each blob is rewritten only when the index holding it at least doubles: a few times the new ones, not the large index each run.
    assert.ok(rewritten <= 4 * added, `${rewritten} blob entries rewritten for ${added} new ones`);
    await assertWhole(memory, blobs);
  });
});

describe('index consolidation against lagging listings and a long-running reader', () => {
  it('deletes a superseded index only once its consolidated index is older than the listing lag too, not only the grace period', async () => {
    const s = await twelvePasses();
    const old = await keysUnder(s.memory, 'index/');
    const listing: ObjectInfo[] = [];
    for await (const info of s.memory.list('index/')) listing.push(info);
    const lagging = { graceMs: 0, listingLagMs: 60_000 };
    const first = await gc(s.gcRepo, 0, lagging);
    const consolidated = first.indexes.written[0]?.key as string;
    // Run again a second later: a listing may not show the consolidated index for a minute yet.
    const second = await gc(s.gcRepo, 1000, lagging);
    assert.deepEqual(second.indexes.deleted, [], 'the consolidated index is younger than the listing lag');
    assert.deepEqual(second.indexes.young.sort(), [...old].sort());
    // A reader whose listing lags: the old indexes (deleted or not), not the consolidated one yet.
    const present = await keysUnder(s.memory, 'index/');
    s.store.stale = listing.filter((l) => !present.includes(l.key));
    s.store.hidden = new Set([consolidated]);
    s.store.lists = 0;
    s.store.hideLists = 2;
    const reader = await openRepository(s.store);
    assert.deepEqual(reader.indexErrors, []);
    s.store.stale = [];
    const later = await gc(s.gcRepo, 61_000, lagging);
    assert.deepEqual(later.indexes.deleted.sort(), [...old].sort(), 'past the lag they go');
    await assertWhole(s.store, s.blobs);
  });

  it('a reader that trusted a false supersedes claim reads the index it skipped once the liar is gone', async () => {
    const s = await twelvePasses();
    const all = (await keysUnder(s.memory, 'index/')).sort();
    const [victim, ...rest] = all as [string, ...string[]];
    const packsOf = async (key: string) => decodeIndexFile(key, await s.memory.get(key), s.repo.format.hash).packs;
    const others = (await Promise.all(rest.map(packsOf))).flat();
    // The largest index, so a reader loads it first; it claims the victim but names none of its packs.
    const liar = encodeIndex(others, s.repo.format.hash, [victim.slice(6)]);
    await s.memory.put(keys.index(liar.id), liar.bytes);
    const agent = await openRepository(s.store);
    const victimBlob = (await packsOf(victim))[0]?.blobs[0]?.id as string;
    const err = await rejectsWith(agent.readBlobs([victimBlob], () => {}), 'E_BLOB_NOT_FOUND');
    assert.match(err.message, new RegExp(victimBlob), 'a clear error naming the blob, not wrong data');
    await s.memory.delete(keys.index(liar.id));
    await agent.loadIndex();
    let read = 0;
    await agent.readBlobs([victimBlob], () => void read++);
    assert.equal(read, 1);
  });

  it('a long-running reader forgets the indexes that are gone: what it skips stays as few as the indexes listed', async () => {
    const s = await twelvePasses();
    const agent = await openRepository(s.store);
    const skipped = () => (agent as unknown as { loadedIndexes: Map<string, unknown> | Set<string> }).loadedIndexes.size;
    assert.equal(skipped(), 12);
    const blobs = [...s.blobs];
    let listed: string[] = [];
    for (let round = 1; round <= 3; round++) {
      blobs.push(...(await passes(s.repo, 9, 10 + round)));
      await gc(s.gcRepo, 0, { graceMs: 0 });
      await gc(s.gcRepo, 1, { graceMs: 0 });
      await agent.loadIndex();
      assert.deepEqual(agent.indexErrors, []);
      // The consolidated indexes only: the new ones merged among themselves or into one at most twice their size.
      listed = await keysUnder(s.memory, 'index/');
      assert.ok(listed.length <= 2, `round ${round}: ${listed.length} indexes`);
    }
    assert.equal(skipped(), listed.length, 'only the indexes listed');
    let bytes = 0;
    await agent.readBlobs(blobs.map((b) => agent.blobId(b)), (_id, d) => void (bytes += d.byteLength));
    assert.equal(bytes, blobs.length * 300);
  });
});
