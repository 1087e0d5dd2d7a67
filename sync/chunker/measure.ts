/**
 * Single-thread throughput of the chunker and hash, for the benchmark (sync/bench) and for
 * choosing parameters. Timing lives here and only here: nothing in this module feeds a decision.
 *
 * Input is deterministic pseudo-random data (xorshift32, fixed seed), generated before timing and
 * fed in READ_BUFFER pieces as a file read would be. MB = 10^6 bytes. Each figure is the best of
 * `repeats` runs, since the machine may be shared; the three kinds of run are interleaved.
 */
import { performance } from 'node:perf_hooks';
import type { ChunkerParams } from '../repo/types.js';
import { CutFinder } from './fastcdc.js';
import { READ_BUFFER } from './file.js';
import { blobId, DEFAULT_HASH, type HashAlgorithm } from './hash.js';
import { DEFAULT_CHUNKER } from './params.js';
import { ChunkHasher } from './stream.js';

export interface MeasureOptions {
  hash?: HashAlgorithm;
  params?: ChunkerParams;
  repeats?: number;
}

export interface ChunkHashMeasurement {
  bytes: number;
  chunks: number;
  hash: HashAlgorithm;
  params: ChunkerParams;
  /** Chunking and hashing together, as a worker does it. */
  mbPerSec: number;
  /** Cut-point search alone. */
  chunkOnlyMbPerSec: number;
  /** Hashing alone, in avgSize pieces. */
  hashOnlyMbPerSec: number;
  /**
   * The same three rates over process CPU time instead of wall time: on a shared machine they
   * show the cost per byte without the time other processes took.
   */
  cpu: { mbPerSec: number; chunkOnlyMbPerSec: number; hashOnlyMbPerSec: number };
}

interface Rate {
  wall: number;
  cpu: number;
}

const MAX_SAMPLE = 64 * 1024 * 1024;

function sampleData(bytes: number): Buffer {
  const buf = Buffer.allocUnsafe(Math.min(bytes, MAX_SAMPLE) & ~3);
  let x = 0x2545f491;
  for (let i = 0; i < buf.length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf.writeInt32LE(x | 0, i);
  }
  return buf;
}

/** Calls fn(piece) over `bytes` bytes of sample, cycling through it in READ_BUFFER pieces. */
function feed(sample: Buffer, bytes: number, fn: (piece: Buffer) => void): void {
  for (let done = 0; done < bytes; ) {
    const at = done % sample.length;
    const n = Math.min(READ_BUFFER, sample.length - at, bytes - done);
    fn(sample.subarray(at, at + n));
    done += n;
  }
}

/**
 * Best rate of each run over `repeats` rounds. Rounds go through all runs in turn, so a burst of
 * load from other processes slows every figure alike rather than whichever one it overlapped.
 */
function bestRates(bytes: number, repeats: number, runs: Array<() => void>): Rate[] {
  const best = runs.map(() => ({ wall: 0, cpu: 0 }));
  for (let r = 0; r < repeats; r++) {
    runs.forEach((run, k) => {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      run();
      const c = process.cpuUsage(c0);
      const b = best[k]!;
      b.wall = Math.max(b.wall, bytes / 1e6 / ((performance.now() - t0) / 1e3));
      b.cpu = Math.max(b.cpu, bytes / 1e6 / ((c.user + c.system) / 1e6));
    });
  }
  return best;
}

export function measureChunkHash(bytes: number, opts: MeasureOptions = {}): ChunkHashMeasurement {
  const hash = opts.hash ?? DEFAULT_HASH;
  const params = opts.params ?? DEFAULT_CHUNKER;
  const repeats = Math.max(1, opts.repeats ?? 3);
  const sample = sampleData(bytes);
  const total = sample.length === 0 ? 0 : bytes;
  let chunks = 0;
  const chunkAndHash = () => {
    const hasher = new ChunkHasher(params, hash);
    chunks = 0;
    feed(sample, total, (p) => (chunks += hasher.push(p).length));
    chunks += hasher.end().length;
  };
  const chunkOnly = () => {
    const finder = new CutFinder(params);
    feed(sample, total, (p) => {
      for (let pos = 0, end = 0; pos < p.length && end >= 0; pos = end) end = finder.next(p, pos, p.length);
    });
  };
  const hashOnly = () => {
    feed(sample, total, (p) => {
      for (let at = 0; at < p.length; at += params.avgSize) blobId(p.subarray(at, at + params.avgSize), hash);
    });
  };
  const [both, chunk, hashed] = bestRates(total, repeats, [chunkAndHash, chunkOnly, hashOnly]) as [Rate, Rate, Rate];
  return {
    bytes: total,
    chunks,
    hash,
    params,
    mbPerSec: both.wall,
    chunkOnlyMbPerSec: chunk.wall,
    hashOnlyMbPerSec: hashed.wall,
    cpu: { mbPerSec: both.cpu, chunkOnlyMbPerSec: chunk.cpu, hashOnlyMbPerSec: hashed.cpu },
  };
}
