// Standalone measurement behind the repository's in-memory pack index (sync/repo/blobtable.ts):
// heap bytes per indexed blob after Repository.loadIndex, and lookups per second.
//
// Usage: node --expose-gc --import tsx scripts/index-mem-bench.ts [entries] [per index]
// (defaults 1000000 and 100000)
//
// The entries are synthetic (random ids, 1000 blobs a pack, `per index` an index object) but are
// written as real index objects to a MemoryStore and loaded by loadIndex, so the figure is what an
// agent holds. Bytes per entry = (heapUsed + arrayBuffers after loadIndex and a gc) minus the same
// before, over the entries; the store's copy of the index objects is in both. The peak is the
// most that was live while loading, sampled (after a gc) each time an index GET returns: the GET
// first yields to the event loop as a network read would, so the samples fall between decodes
// (the last index's decode is never sampled). Lookups use fresh
// id strings (as ids parsed from trees would be), best of several rounds on a possibly shared
// machine.
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { ForwardingStore } from '../sync/store/forwarding.js';
import { MemoryStore } from '../sync/store/memory.js';
import type { ByteRange } from '../sync/store/index.js';
import { initRepository, openRepository } from '../sync/repo/format.js';
import { encodeIndex, type IndexedPack } from '../sync/repo/indexfile.js';
import { keys } from '../sync/repo/types.js';
import { makeRng } from '../sync/testing/random.js';
import { heapBytes } from './heap.js';

const N = Number(process.argv[2] ?? 1_000_000);
const PER_PACK = 1000;
const PER_INDEX = Number(process.argv[3] ?? 100_000);
const ROUNDS = 5;

/** Records the most heap live (heapBytes) when a GET returns, and how long that took. */
class SamplingStore extends ForwardingStore {
  peak = 0;
  /** Time spent sampling, not loading. */
  ms = 0;

  override async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    const bytes = await this.inner.get(key, range);
    await yieldToLoop();
    const t = performance.now();
    this.peak = Math.max(this.peak, heapBytes());
    this.ms += performance.now() - t;
    return bytes;
  }
}

/** `n` ids' bytes, 32 each, in one buffer (kept outside the measured heap). */
function idBytes(seed: number, n: number): Buffer {
  return Buffer.from(makeRng(seed).bytes(n * 32));
}

/** Fresh string objects for the ids in `bytes`, so no hash is cached in them yet. */
function idStrings(bytes: Buffer): string[] {
  const out: string[] = new Array<string>(bytes.length / 32);
  for (let i = 0; i < out.length; i++) out[i] = bytes.toString('hex', i * 32, i * 32 + 32);
  return out;
}

async function main(): Promise<void> {
  const store = new MemoryStore();
  const format = await initRepository(store, { id: 'bench', hash: 'sha256' });
  const ids = idBytes(1, N);
  const packIds = idBytes(2, Math.ceil(N / PER_PACK));
  for (let first = 0; first < N; first += PER_INDEX) {
    const packs: IndexedPack[] = [];
    for (let p = first; p < Math.min(N, first + PER_INDEX); p += PER_PACK) {
      const blobs = [];
      let offset = 0;
      for (let i = p; i < Math.min(N, p + PER_PACK); i++) {
        const length = 1000 + (i % 50_000);
        blobs.push({ id: ids.toString('hex', i * 32, i * 32 + 32), type: i % 50 === 0 ? ('tree' as const) : ('data' as const), offset, length });
        offset += length;
      }
      const packNo = p / PER_PACK;
      packs.push({ id: packIds.toString('hex', packNo * 32, packNo * 32 + 32), size: offset + 100, blobs });
    }
    const { id, bytes } = encodeIndex(packs, format.hash);
    await store.put(keys.index(id), bytes);
  }

  const sampling = new SamplingStore(store);
  const repo = await openRepository(sampling, { loadIndex: false });
  const before = heapBytes();
  const t0 = performance.now();
  await repo.loadIndex();
  const loadMs = performance.now() - t0 - sampling.ms;
  const after = heapBytes();
  if (repo.indexedBlobs !== N) throw new Error(`loaded ${repo.indexedBlobs} entries, expected ${N}`);
  const perEntry = (after - before) / N;
  const peakPerEntry = (Math.max(sampling.peak, after) - before) / N;

  const misses = idBytes(3, N);
  let hitMs = Infinity;
  let missMs = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const hits = idStrings(ids);
    let t = performance.now();
    let found = 0;
    for (const id of hits) if (repo.blobLocation(id) !== undefined) found++;
    hitMs = Math.min(hitMs, performance.now() - t);
    if (found !== N) throw new Error(`found ${found} of ${N}`);
    const absent = idStrings(misses);
    t = performance.now();
    for (const id of absent) if (repo.hasBlob(id)) found++;
    missMs = Math.min(missMs, performance.now() - t);
    if (found !== N) throw new Error('a random id was found');
  }
  const perSec = (ms: number) => ((N / ms) * 1000 / 1e6).toFixed(2);
  console.log(`entries             ${N}`);
  console.log(`heap bytes/entry    ${perEntry.toFixed(1)}`);
  console.log(`peak bytes/entry    ${peakPerEntry.toFixed(1)}  (while loading)`);
  console.log(`loadIndex           ${loadMs.toFixed(0)} ms`);
  console.log(`blobLocation hits   ${perSec(hitMs)} M/s`);
  console.log(`hasBlob misses      ${perSec(missMs)} M/s`);
  console.log(`max RSS             ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
}

await main();
