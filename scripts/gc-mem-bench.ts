// Standalone measurement of what `strata admin gc` holds (sync/repo/gc.ts, compact.ts): the most
// heap live during collectGarbage, per blob entry of the bucket's indexes.
//
// Usage: node --expose-gc --import tsx scripts/gc-mem-bench.ts [entries] [per index]
// (defaults 1000000 and 20000)
//
// The bucket is synthetic (random ids, 1000 blobs a pack of 10-byte blobs, `per index` entries an
// index object) in a MemoryStore, its packs stored so that gc consolidates the indexes as it would
// a real bucket's. The heap live (heapUsed + arrayBuffers after a gc) is sampled each time gc
// GETs an index, lists the indexes, or PUTs a consolidated one; the peak minus the heap before,
// over the entries gc read, is printed. The store's copy of the bucket is in both, and the
// consolidated indexes gc wrote into it are taken out. Not sampled: the check that an index covers
// another (one coverer's entry set and one index decoded at a time, compact.ts), garbage by the
// next sample.
import { performance } from 'node:perf_hooks';
import { ForwardingStore } from '../sync/store/forwarding.js';
import { MemoryStore } from '../sync/store/memory.js';
import type { ByteRange, ListOptions, ObjectInfo, PutBody } from '../sync/store/index.js';
import { openRepository } from '../sync/repo/format.js';
import { collectGarbage } from '../sync/repo/gc.js';
import { heapBytes } from './heap.js';
import { syntheticBucket } from './synthetic.js';

const N = Number(process.argv[2] ?? 1_000_000);
const PER_INDEX = Number(process.argv[3] ?? 20_000);

/** Records the most heap live at the index requests named in the header. */
class SamplingStore extends ForwardingStore {
  peak = 0;
  /** Bytes of the indexes gc wrote: the store's, not gc's. */
  written = 0;

  /** The most live when gc lists the indexes, once it read them all. */
  held = 0;

  private sample(key: string): number {
    const live = key.startsWith('index/') ? heapBytes() - this.written : 0;
    this.peak = Math.max(this.peak, live);
    return live;
  }

  override async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    const bytes = await this.inner.get(key, range);
    this.sample(key);
    return bytes;
  }

  override async put(key: string, body: PutBody): Promise<void> {
    this.sample(key);
    await this.inner.put(key, body);
    if (key.startsWith('index/') && body instanceof Uint8Array) this.written += body.byteLength;
  }

  override async *list(prefix: string, opts?: ListOptions): AsyncIterable<ObjectInfo> {
    this.held = Math.max(this.held, this.sample(prefix));
    yield* this.inner.list(prefix, opts);
  }
}

async function main(): Promise<void> {
  const store = new MemoryStore();
  await syntheticBucket(store, N, PER_INDEX);

  // The first run consolidates the indexes; the second checks that the new ones cover the old and deletes those.
  const sampling = new SamplingStore(store);
  /** Blob entries in the bucket's indexes. */
  let entries = N;
  for (const run of [1, 2]) {
    const repo = await openRepository(sampling, { loadIndex: false });
    sampling.peak = sampling.held = 0;
    const before = heapBytes() - sampling.written;
    const t0 = performance.now();
    const report = await collectGarbage(repo, { graceMs: 0, dryRun: false, now: () => Date.now() + 1000 });
    const ms = performance.now() - t0;
    const written = report.indexes.written.reduce((s, w) => s + w.blobs, 0);
    console.log(`run ${run}: ${report.indexes.read} indexes of ${entries} entries read, ${written} entries consolidated into ${report.indexes.written.length}, ${report.indexes.deleted.length} deleted`);
    console.log(`  held bytes/entry  ${((sampling.held - before) / entries).toFixed(1)}  (every index read)`);
    console.log(`  peak bytes/entry  ${((sampling.peak - before) / entries).toFixed(1)}  (while gc ran)`);
    console.log(`  gc                ${ms.toFixed(0)} ms (samples included)`);
    entries += written;
  }
  console.log(`max RSS             ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
}

await main();
