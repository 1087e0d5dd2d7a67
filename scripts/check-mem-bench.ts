// Standalone measurement of what `strata check` holds (sync/repo/check.ts): heap live once every
// index is read, per blob entry of the bucket's indexes.
//
// Usage: node --expose-gc --import tsx scripts/check-mem-bench.ts [entries] [per index]
// (defaults 1000000 and 20000)
//
// The bucket is synthetic (random ids, 1000 blobs a pack of 10-byte blobs, `per index` entries an
// index object, no snapshots) in a MemoryStore, its packs stored so that every index is sound. The
// heap live (heapUsed + arrayBuffers after a gc) is sampled each time check GETs an index and when
// it lists layers/ (once it holds every index and the blob map); that minus the heap before, over
// the entries, is printed. The store's copy of the bucket is in both.
import { performance } from 'node:perf_hooks';
import { ForwardingStore } from '../sync/store/forwarding.js';
import { MemoryStore } from '../sync/store/memory.js';
import type { ByteRange, ListOptions, ObjectInfo } from '../sync/store/index.js';
import { check } from '../sync/repo/check.js';
import { openRepository } from '../sync/repo/format.js';
import { heapBytes } from './heap.js';
import { syntheticBucket } from './synthetic.js';

const N = Number(process.argv[2] ?? 1_000_000);
const PER_INDEX = Number(process.argv[3] ?? 20_000);

/** Records the most heap live at index GETs, and what is live when check lists layers/. */
class SamplingStore extends ForwardingStore {
  peak = 0;
  held = 0;

  override async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    const bytes = await this.inner.get(key, range);
    if (key.startsWith('index/')) this.peak = Math.max(this.peak, heapBytes());
    return bytes;
  }

  override async *list(prefix: string, opts?: ListOptions): AsyncIterable<ObjectInfo> {
    if (prefix === 'layers/') {
      this.held = heapBytes();
      this.peak = Math.max(this.peak, this.held);
    }
    yield* this.inner.list(prefix, opts);
  }
}

async function main(): Promise<void> {
  const store = new MemoryStore();
  await syntheticBucket(store, N, PER_INDEX);

  const sampling = new SamplingStore(store);
  const repo = await openRepository(sampling, { loadIndex: false });
  const before = heapBytes();
  const t0 = performance.now();
  const report = await check(repo, { readData: false });
  const ms = performance.now() - t0;
  console.log(`${report.counts.indexes} indexes of ${N} entries, ${report.problems.length} problems, ${report.warnings.length} warnings`);
  console.log(`  held bytes/entry  ${((sampling.held - before) / N).toFixed(1)}  (every index read)`);
  console.log(`  peak bytes/entry  ${((sampling.peak - before) / N).toFixed(1)}  (while reading them)`);
  console.log(`  check             ${ms.toFixed(0)} ms (samples included)`);
  console.log(`max RSS             ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
}

await main();
