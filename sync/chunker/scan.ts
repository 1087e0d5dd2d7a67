/**
 * The cut search's hot loop: the gear hash over a byte range, testing one mask after every byte.
 * This is the chunker's bottleneck (BLAKE3 is ~3x faster), so it is written for V8; what it must
 * compute is the plain one-byte rule in reference.ts, and scan.test.ts checks that it does.
 *
 * How it is fast:
 * - Eight bytes per loop step, read as two little-endian 32-bit words from a Uint32Array view of
 *   the whole ArrayBuffer: one load and bounds check per four bytes instead of four. Words must
 *   be 4-byte aligned in the ArrayBuffer, so the bytes before the first aligned word and after the
 *   last whole step go through the one-byte loop. On a big-endian platform (none that Electron
 *   ships for) everything goes through the one-byte loop.
 * - Tables pre-shifted by 3, 2, 1, 0 bits: a step starts with h << 4 instead of four h << 1, so
 *   after a step's first byte the running value is the true hash shifted left by 3 (then 2, 1, 0)
 *   and is tested against mask << 3 (then << 2, << 1, mask). The masks leave the hash's top three
 *   bits free (params.ts MASK_TOP_BIT), so no tested bit is shifted out: every byte position is
 *   tested exactly as the one-byte rule says.
 * - Only plain Uint8Array and Uint32Array views reach these functions (never a Buffer, whose
 *   different map would deoptimize them), and priming before the first chunker is made makes V8
 *   optimize them as whole functions, with every exit seen, before real data arrives (see
 *   primeScan; not at load time, which every `strata` command would pay for, ~20 ms).
 * - All state is in locals and arguments; the loop allocates nothing.
 *
 * Measured against the previous loop (four one-byte loads per step) in the same process, runs
 * interleaved, best of 9–11 by CPU time, 256 MiB in 4 MiB pieces, default parameters, on the
 * shared 2-core machine (figures move ±30% with the load): cut search 1,180–1,480 MB/s vs
 * 680–1,000; cut search + BLAKE3 (ChunkHasher) 800–1,190 vs 540–840. Four bytes per step from
 * words measured ~5% below eight; DataView loads (no alignment handling) ~5% below words.
 */
import { GEAR } from './gear.js';

const G0 = GEAR;
const G1 = GEAR.map((g) => g << 1);
const G2 = GEAR.map((g) => g << 2);
const G3 = GEAR.map((g) => g << 3);

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The hash after a scan that found no cut (a second return value without an allocation). */
let scanH = 0;

/** The hash reached by the last scan that returned -1. */
export function lastHash(): number {
  return scanH;
}

/**
 * Hashes bytes[i, stop) from state h, testing `mask` after every byte. `words` views the whole
 * ArrayBuffer under `bytes` and `off` is bytes.byteOffset. Returns the index just past the first
 * byte whose hash passes, or -1 (then lastHash() is the final hash).
 */
export function scan(bytes: Uint8Array, words: Uint32Array, off: number, i: number, stop: number, h: number, mask: number): number {
  // First index at or after i that is 4-byte aligned in the ArrayBuffer.
  const a = i + ((4 - ((off + i) & 3)) & 3);
  const steps = (stop - a) >> 3;
  if (!LITTLE_ENDIAN || steps <= 0) return scan1(bytes, i, stop, h, mask);
  if (a > i) {
    const end = scan1(bytes, i, a, h, mask);
    if (end >= 0) return end;
    h = scanH;
  }
  // Exact (off + a is a multiple of 4), and unlike >>> correct past 4 GiB.
  const firstWord = (off + a) / 4;
  const end = scan8(words, firstWord, firstWord + steps * 2, h, mask);
  if (end >= 0) return end - off;
  const b = a + steps * 8;
  if (b === stop) return -1;
  return scan1(bytes, b, stop, scanH, mask);
}

/**
 * Eight bytes per step over words[j, stop), (stop - j) even. Returns the ArrayBuffer offset just
 * past the cut byte, or -1.
 */
function scan8(words: Uint32Array, j: number, stop: number, h: number, mask: number): number {
  const m3 = mask << 3;
  const m2 = mask << 2;
  const m1 = mask << 1;
  for (; j < stop; j += 2) {
    let w = words[j]!;
    h = ((h << 4) + G3[w & 0xff]!) | 0;
    if ((h & m3) === 0) return j * 4 + 1;
    h = (h + G2[(w >>> 8) & 0xff]!) | 0;
    if ((h & m2) === 0) return j * 4 + 2;
    h = (h + G1[(w >>> 16) & 0xff]!) | 0;
    if ((h & m1) === 0) return j * 4 + 3;
    h = (h + G0[w >>> 24]!) | 0;
    if ((h & mask) === 0) return j * 4 + 4;
    w = words[j + 1]!;
    h = ((h << 4) + G3[w & 0xff]!) | 0;
    if ((h & m3) === 0) return j * 4 + 5;
    h = (h + G2[(w >>> 8) & 0xff]!) | 0;
    if ((h & m2) === 0) return j * 4 + 6;
    h = (h + G1[(w >>> 16) & 0xff]!) | 0;
    if ((h & m1) === 0) return j * 4 + 7;
    h = (h + G0[w >>> 24]!) | 0;
    if ((h & mask) === 0) return j * 4 + 8;
  }
  scanH = h;
  return -1;
}

/** One byte at a time: the unaligned ends of a range, and short ranges. */
function scan1(bytes: Uint8Array, i: number, stop: number, h: number, mask: number): number {
  for (; i < stop; i++) {
    h = ((h << 1) + G0[bytes[i]!]!) | 0;
    if ((h & mask) === 0) return i + 1;
  }
  scanH = h;
  return -1;
}

let primed = false;

/**
 * Runs scan over fixed synthetic data, at every alignment, with masks easy enough that every
 * exit (each of the eight positions in a step, the one-byte loop, no cut) is taken many times
 * through short calls. V8 then optimizes the functions whole, as they will be used. Without it,
 * real data's long scans get on-stack-replacement code, which keeps values boxed in the loop, and
 * the rare exits (a cut) deoptimize the loop on their first visit: roughly half the speed.
 * Deterministic: the input is fixed. Runs once per thread; later calls return at once.
 */
export function primeScan(): void {
  if (primed) return;
  primed = true;
  const buffer = new ArrayBuffer(4096 + 8);
  const words = new Uint32Array(buffer);
  const all = new Uint8Array(buffer);
  for (let i = 0; i < all.length; i++) all[i] = Math.imul(i, 0x9e3779b1) >>> 24;
  for (let round = 0; round < 100; round++) {
    const off = round & 3;
    const bytes = new Uint8Array(buffer, off, 4096);
    for (let i = 0; i < bytes.length - 64; ) {
      const end = scan(bytes, words, off, i, i + 61, round, 0x3 << 20);
      i = end < 0 ? i + 61 : end;
    }
    scan(bytes, words, off, 0, 40, round, 0x1ffffff << 3);
  }
}
