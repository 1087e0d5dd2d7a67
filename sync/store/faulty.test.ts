import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { isStrataError } from '../errors.js';
import { makeRng, testSeed, type Rng } from '../testing/random.js';
import { storeConformance } from './conformance.js';
import { FaultyStore, type FaultyOptions } from './faulty.js';
import { readAll, type ObjectStore, type PutBody } from './index.js';
import { MemoryStore } from './memory.js';
import { RetryingStore } from './retrying.js';

const instant = async (): Promise<void> => {};

/**
 * Enough retries that a 20 % fault rate cannot plausibly exhaust them: 21 faults in a row happen
 * with probability 0.2^21 ≈ 2e-15 per request. The default 6 would fail one run in forty here.
 */
function reliable(inner: ObjectStore, seed: number): RetryingStore {
  return new RetryingStore(inner, { retries: 20, sleep: instant, random: makeRng(seed ^ 0x5eed).next });
}

function randomBody(rng: Rng, bytes: Uint8Array): PutBody {
  if (!rng.chance(0.3)) return bytes;
  // Stream bodies arrive in uneven pieces, as a file read would deliver them.
  return {
    size: bytes.byteLength,
    open: () => {
      const parts: Buffer[] = [];
      for (let at = 0; at < bytes.byteLength; at += 4000) parts.push(Buffer.from(bytes.subarray(at, at + 4000)));
      return Readable.from(parts);
    },
  };
}

describe('FaultyStore under RetryingStore', () => {
  it('1,000 puts and 1,000 gets through 20% injected faults all return the right bytes', async () => {
    const seed = testSeed('faulty: 1000 puts and gets');
    const rng = makeRng(seed);
    const faulty = new FaultyStore(new MemoryStore(), { seed, failRate: 0.2, failModes: ['before', 'afterPut'], listPageSize: 64 });
    const store = reliable(faulty, seed);
    const objects = new Map<string, Uint8Array>();

    for (let i = 0; i < 1000; i++) {
      const size = rng.chance(0.05) ? rng.range(0, 256 * 1024) : rng.range(0, 4096);
      const key = `obj/${String(i).padStart(4, '0')}`;
      const bytes = rng.bytes(size);
      objects.set(key, bytes);
      await store.put(key, randomBody(rng, bytes));
    }

    const keys = [...objects.keys()];
    for (let i = 0; i < 1000; i++) {
      const key = rng.pick(keys);
      const bytes = objects.get(key)!;
      const ranged = bytes.byteLength > 0 && rng.chance(0.4);
      const offset = ranged ? rng.int(bytes.byteLength) : 0;
      const length = ranged ? rng.range(1, bytes.byteLength) : bytes.byteLength;
      const range = ranged ? { offset, length } : undefined;
      const got = rng.chance(0.3) ? await readAll(await store.getStream(key, range)) : await store.get(key, range);
      assert.deepEqual(Buffer.from(got), Buffer.from(bytes.subarray(offset, offset + length)), `${key} ${offset}+${length}`);
    }

    const listed: string[] = [];
    for await (const info of store.list('obj/')) {
      listed.push(info.key);
      assert.equal(info.size, objects.get(info.key)?.byteLength);
    }
    assert.deepEqual(listed, keys);

    assert.ok(faulty.injected.before > 0, 'faults before requests were injected');
    assert.ok(faulty.injected.afterPut > 0, 'lost put replies were injected');
    assert.ok(faulty.counts.lists > 1000 / 64, 'the listing was paged and its pages retried');
    console.log(`faulty: ${faulty.counts.total} requests, ${faulty.injected.total} injected faults`);
  });
});

/** Run a fixed mix of requests and record what happened to each. */
async function script(opts: FaultyOptions): Promise<string[]> {
  const store = new FaultyStore(new MemoryStore(), opts);
  const outcomes: string[] = [];
  const record = async (p: Promise<unknown>): Promise<void> => {
    outcomes.push(await p.then(() => 'ok', (err: unknown) => (isStrataError(err) ? err.code : 'bug')));
  };
  for (let i = 0; i < 200; i++) {
    const key = `k/${i % 17}`;
    if (i % 4 === 0) await record(store.put(key, Buffer.from([i])));
    else if (i % 4 === 1) await record(store.head(key));
    else if (i % 4 === 2) await record(store.get(key));
    else await record(store.delete(key));
  }
  return outcomes;
}

describe('FaultyStore', () => {
  it('injects the same faults for the same seed, and different ones for another seed', async () => {
    const a = await script({ seed: 42, failRate: 0.3, failModes: ['before', 'afterPut'] });
    const b = await script({ seed: 42, failRate: 0.3, failModes: ['before', 'afterPut'] });
    const c = await script({ seed: 43, failRate: 0.3, failModes: ['before', 'afterPut'] });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.ok(a.includes('E_TRANSIENT'));
  });

  it('never fails at rate 0 and always fails at rate 1', async () => {
    const clean = await script({ seed: 1, failRate: 0 });
    assert.ok(!clean.includes('E_TRANSIENT'));
    const down = await script({ seed: 1, failRate: 1 });
    assert.ok(down.every((o) => o === 'E_TRANSIENT'));
  });

  it('applies a put whose reply it then loses', async () => {
    const inner = new MemoryStore();
    const store = new FaultyStore(inner, { seed: 7, failRate: 1, failModes: ['afterPut'] });
    await assert.rejects(store.put('lost/reply', Buffer.from('landed')), (err) => isStrataError(err, 'E_TRANSIENT'));
    assert.deepEqual(Buffer.from(await inner.get('lost/reply')), Buffer.from('landed'));
    assert.deepEqual(store.injected, { before: 0, afterPut: 1, total: 1 });
    await assert.rejects(store.head('lost/reply'), (err) => isStrataError(err, 'E_TRANSIENT'), 'non-puts fail before');
    assert.equal(store.injected.before, 1);
  });

  it('fails exactly the next n requests with failNext', async () => {
    const store = new FaultyStore(new MemoryStore(), { seed: 3, failRate: 0 });
    await store.put('a', Buffer.from('x'));
    store.failNext(2);
    await assert.rejects(store.get('a'), (err) => isStrataError(err, 'E_TRANSIENT'));
    await assert.rejects(store.head('a'), (err) => isStrataError(err, 'E_TRANSIENT'));
    assert.deepEqual(Buffer.from(await store.get('a')), Buffer.from('x'));
    store.failNext(1, 'afterPut');
    await assert.rejects(store.put('b', Buffer.from('y')), (err) => isStrataError(err, 'E_TRANSIENT'));
    assert.equal((await store.head('b'))?.size, 1);
  });

  it('counts every request by kind, including failed ones and list pages', async () => {
    const store = new FaultyStore(new MemoryStore(), { seed: 5, failRate: 0, listPageSize: 10 });
    for (let i = 0; i < 25; i++) await store.put(`c/${String(i).padStart(2, '0')}`, Buffer.from('x'));
    store.failNext(1);
    await assert.rejects(store.get('c/00'));
    await store.getStream('c/01');
    await store.head('c/02');
    await store.delete('c/03');
    let listed = 0;
    for await (const _ of store.list('c/')) listed++;
    assert.equal(listed, 24);
    assert.deepEqual(store.counts, { gets: 2, puts: 25, lists: 3, heads: 1, deletes: 1, total: 32 });
    store.resetCounts();
    assert.equal(store.counts.total, 0);
  });

  it('breaks a listing half-way when a page fails', async () => {
    const store = new FaultyStore(new MemoryStore(), { seed: 9, failRate: 0, listPageSize: 10 });
    for (let i = 0; i < 30; i++) await store.put(`p/${String(i).padStart(2, '0')}`, Buffer.from('x'));
    const seen: string[] = [];
    const iterate = async (): Promise<void> => {
      for await (const info of store.list('p/')) {
        seen.push(info.key);
        if (seen.length === 5) store.failNext(1);
      }
    };
    await assert.rejects(iterate(), (err) => isStrataError(err, 'E_TRANSIENT'));
    assert.equal(seen.length, 10);
  });

  it('adds latency drawn from the configured range', async () => {
    const delays: number[] = [];
    const store = new FaultyStore(new MemoryStore(), { seed: 11, failRate: 0, latencyMs: [5, 20], sleep: async (ms) => void delays.push(ms) });
    for (let i = 0; i < 50; i++) await store.head(`l/${i}`);
    assert.equal(delays.length, 50);
    assert.ok(delays.every((d) => d >= 5 && d <= 20), JSON.stringify(delays));
    assert.ok(new Set(delays).size > 1);
  });
});

const conformanceSeed = testSeed('faulty: conformance through faults');
storeConformance(
  'RetryingStore over FaultyStore (20% faults) over MemoryStore',
  async () => ({
    store: reliable(new FaultyStore(new MemoryStore(), { seed: conformanceSeed, failRate: 0.2, failModes: ['before', 'afterPut'], listPageSize: 100 }), conformanceSeed),
  }),
  { largeSize: 3 * 1024 * 1024 + 7 },
);
