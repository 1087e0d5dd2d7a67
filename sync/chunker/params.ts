/**
 * Chunker parameters: the defaults, their validation, and the masks derived from them.
 *
 * Parameters are read from the repository's format object, which comes from the bucket and is
 * untrusted, so they are validated before any chunking; a repository whose parameters are out of
 * bounds is refused with E_BAD_CHUNKER_PARAMS rather than chunked in some surprising way.
 */
import { StrataError, type ErrorWhere } from '../errors.js';
import type { ChunkerParams } from '../repo/types.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Written into new repositories' format objects. See index.ts for the measurements behind it. */
export const DEFAULT_CHUNKER: Readonly<ChunkerParams> = Object.freeze({
  algorithm: 'fastcdc',
  minSize: 32 * KiB,
  avgSize: 128 * KiB,
  maxSize: 512 * KiB,
});

/** Bounds that keep the 32-bit masks meaningful and memory per chunk modest. */
export const CHUNKER_LIMITS = Object.freeze({
  minMinSize: 64,
  minAvgSize: 1 * KiB,
  maxAvgSize: 16 * MiB,
  maxMaxSize: 64 * MiB,
});

/**
 * FastCDC normalization level 2 (as in the FastCDC paper): before the average size the mask has
 * two bits more than log2(avg) (cuts are 4x rarer), after it two bits fewer (4x likelier), which
 * pulls chunk sizes towards the average.
 */
export const NORMALIZATION_LEVEL = 2;

export interface Masks {
  /** Applied while the chunk is shorter than avgSize. */
  hard: number;
  /** Applied from avgSize to maxSize. */
  easy: number;
}

function bad(reason: string, where: ErrorWhere): StrataError {
  return new StrataError('E_BAD_CHUNKER_PARAMS', `chunker parameters ${reason}`, where);
}

function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/** Checks `value` and returns it typed; `where` names the object it came from. */
export function validateChunkerParams(value: unknown, where: ErrorWhere = {}): ChunkerParams {
  if (typeof value !== 'object' || value === null) throw bad('must be an object', where);
  const p = value as Record<string, unknown>;
  if (p.algorithm !== 'fastcdc') throw bad(`use unknown algorithm ${JSON.stringify(p.algorithm)}`, where);
  for (const k of ['minSize', 'avgSize', 'maxSize'] as const) {
    if (typeof p[k] !== 'number' || !Number.isSafeInteger(p[k]) || (p[k] as number) <= 0) {
      throw bad(`have a ${k} that is not a positive integer`, where);
    }
  }
  const { minSize, avgSize, maxSize } = p as unknown as ChunkerParams;
  if (!isPowerOfTwo(avgSize)) throw bad(`have avgSize ${avgSize}, which is not a power of two`, where);
  if (!(minSize < avgSize && avgSize < maxSize)) {
    throw bad(`must satisfy minSize < avgSize < maxSize (got ${minSize}, ${avgSize}, ${maxSize})`, where);
  }
  const L = CHUNKER_LIMITS;
  if (minSize < L.minMinSize) throw bad(`have minSize ${minSize} below ${L.minMinSize}`, where);
  if (avgSize < L.minAvgSize || avgSize > L.maxAvgSize) {
    throw bad(`have avgSize ${avgSize} outside ${L.minAvgSize}…${L.maxAvgSize}`, where);
  }
  if (maxSize > L.maxMaxSize) throw bad(`have maxSize ${maxSize} above ${L.maxMaxSize}`, where);
  return { algorithm: 'fastcdc', minSize, avgSize, maxSize };
}

/**
 * Masks are `bits` contiguous bits whose highest is bit MASK_TOP_BIT of the 32-bit gear hash.
 * Bit k of the hash depends on the last k + 1 bytes, so high bits see a wide window; the top three
 * bits are left out so that the scan loop can hash four bytes per step with pre-shifted tables and
 * still test every byte position exactly (see scan.ts). Part of the on-disk format.
 */
export const MASK_TOP_BIT = 28;

function maskBits(bits: number): number {
  return (((1 << bits) - 1) << (MASK_TOP_BIT + 1 - bits)) | 0;
}

export function masksFor(params: ChunkerParams): Masks {
  const avgBits = Math.round(Math.log2(params.avgSize));
  return { hard: maskBits(avgBits + NORMALIZATION_LEVEL), easy: maskBits(avgBits - NORMALIZATION_LEVEL) };
}
