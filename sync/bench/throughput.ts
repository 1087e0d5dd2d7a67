/**
 * Chunk+hash throughput on one thread, from the chunker's own `measureChunkHash(bytes)`. It is
 * loaded by name at run time so the benchmark still runs (and says "n/a") against a tree whose
 * chunker does not export it yet.
 */
import { describeError } from '../errors.js';

const MB = 1e6;

export interface Throughput {
  /** Chunk+hash MB/s (10^6 bytes per second), best of measureChunkHash's runs. */
  mbPerSecond: number | undefined;
  bytes: number;
  /** What measureChunkHash returned (it may hold chunk-only and hash-only figures too). */
  detail?: unknown;
  note?: string;
}

/** Accepts a plain MB/s number or an object with an MB/s or bytes/seconds figure. */
export function toMbPerSecond(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  for (const key of ['mbPerSecond', 'mbPerSec', 'MBps', 'mbps', 'megabytesPerSecond']) {
    if (typeof v[key] === 'number') return v[key];
  }
  if (typeof v.bytesPerSecond === 'number') return v.bytesPerSecond / MB;
  if (typeof v.bytes === 'number' && typeof v.seconds === 'number' && v.seconds > 0) return v.bytes / v.seconds / MB;
  return undefined;
}

type Measure = (bytes: number) => unknown;

async function loadMeasure(): Promise<Measure | string> {
  const specifier = '../chunker/index.js';
  try {
    const mod = (await import(specifier)) as Record<string, unknown>;
    const fn = mod.measureChunkHash;
    return typeof fn === 'function' ? (fn as Measure) : 'sync/chunker does not export measureChunkHash';
  } catch (err) {
    return `cannot load sync/chunker: ${describeError(err)}`;
  }
}

/** One call: measureChunkHash already reports the best of its own repeated runs. */
export async function measureThroughput(bytes: number): Promise<Throughput> {
  const measure = await loadMeasure();
  if (typeof measure === 'string') return { mbPerSecond: undefined, bytes, note: measure };
  const detail = await measure(bytes);
  const mbPerSecond = toMbPerSecond(detail);
  return { mbPerSecond, bytes, detail, ...(mbPerSecond === undefined ? { note: 'measureChunkHash returned no MB/s figure' } : {}) };
}
