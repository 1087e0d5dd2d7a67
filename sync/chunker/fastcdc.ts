/**
 * FastCDC (Xia et al., "FastCDC: a Fast and Efficient Content-Defined Chunking Approach for Data
 * Deduplication", USENIX ATC 2016), written for this project.
 *
 * - Gear rolling hash, 32 bits: h = (h << 1) + GEAR[byte]. Bit k of h depends only on the last
 *   k + 1 bytes, so the masks use high bits (up to bit 28: a 29-byte window) and a cut candidate
 *   depends on local content only, which is what lets chunking re-synchronise after an edit.
 * - The first minSize bytes of a chunk are skipped without hashing; h restarts at 0 at every
 *   chunk start, so a cut depends only on the chunk's own bytes.
 * - Normalized chunking (level 2): a hard mask while the chunk is shorter than avgSize, an easy
 *   one from there to maxSize; a chunk that reaches maxSize is cut there.
 *
 * Cut rule, which is part of the on-disk format: hashing byte q of a chunk (q counted from 0, only
 * q >= minSize are hashed) and finding (h & mask) === 0 ends the chunk with length q + 1, where
 * mask is the hard one for q < avgSize and the easy one after. So every chunk except a file's last
 * is longer than minSize and at most maxSize.
 *
 * Feeding the same bytes in any split gives the same cut points: the only state carried between
 * pieces is (bytes in the current chunk, h).
 *
 * Speed: the scan hashes four bytes per step with tables pre-shifted by 3, 2, 1, 0 bits, which
 * shortens the dependency chain on h. After the first byte of a step the running value is the
 * true hash shifted left by 3, so it is tested against mask << 3, and so on; because the masks
 * leave the top three bits free (params.ts MASK_TOP_BIT) no tested bit is lost, and every byte
 * position is tested exactly as the one-byte rule above says (fastcdc.test.ts checks this against
 * a one-byte reference). The scan works on a plain Uint8Array view: V8 optimizes the loop far
 * less well when it sees Buffers and Uint8Arrays mixed.
 */
import type { ChunkerParams } from '../repo/types.js';
import { GEAR } from './gear.js';
import { masksFor, validateChunkerParams } from './params.js';

const G0 = GEAR;
const G1 = GEAR.map((g) => g << 1);
const G2 = GEAR.map((g) => g << 2);
const G3 = GEAR.map((g) => g << 3);

/** The hash after a scan that found no cut (a second return value without an allocation). */
let scanH = 0;

/**
 * Hashes buf[i, stop) from state h, testing `mask` after every byte. Returns the index just past
 * the first byte whose hash passes, or -1 (then scanH holds the final hash).
 */
function scan(buf: Uint8Array, i: number, stop: number, h: number, mask: number): number {
  const stop4 = i + ((stop - i) & ~3);
  const end = scan4(buf, i, stop4, h, mask);
  return end >= 0 || stop4 === stop ? end : scan1(buf, stop4, stop, scanH, mask);
}

/** scan for (stop - i) a multiple of 4: the hot loop. */
function scan4(buf: Uint8Array, i: number, stop: number, h: number, mask: number): number {
  const m3 = mask << 3;
  const m2 = mask << 2;
  const m1 = mask << 1;
  for (; i < stop; i += 4) {
    h = ((h << 4) + G3[buf[i]!]!) | 0;
    if ((h & m3) === 0) return i + 1;
    h = (h + G2[buf[i + 1]!]!) | 0;
    if ((h & m2) === 0) return i + 2;
    h = (h + G1[buf[i + 2]!]!) | 0;
    if ((h & m1) === 0) return i + 3;
    h = (h + G0[buf[i + 3]!]!) | 0;
    if ((h & mask) === 0) return i + 4;
  }
  scanH = h;
  return -1;
}

/** scan one byte at a time: the last few bytes of a range. */
function scan1(buf: Uint8Array, i: number, stop: number, h: number, mask: number): number {
  for (; i < stop; i++) {
    h = ((h << 1) + G0[buf[i]!]!) | 0;
    if ((h & mask) === 0) return i + 1;
  }
  scanH = h;
  return -1;
}

/**
 * Runs scan over synthetic data with easy masks so that every exit of the loop has been taken
 * before V8 optimizes it. Without this, real data reaches the rare exits (a cut at each of the
 * four positions, the tail loop) only after optimization, and each first visit deoptimizes the
 * loop: measured 500 → 900 MB/s on this machine. The input is fixed, so this is deterministic.
 */
function primeScan(): void {
  const w = new Uint8Array(4096);
  for (let i = 0; i < w.length; i++) w[i] = Math.imul(i, 0x9e3779b1) >>> 24;
  for (let round = 0; round < 200; round++) {
    for (let i = 0; i < w.length - 64; ) {
      const end = scan(w, i, i + 61, round, 0x3 << 20);
      i = end < 0 ? i + 61 : end;
    }
    scan(w, 0, 40, round, 0x1ffffff << 3);
  }
}
primeScan();

/** The pure cut-point state machine: no data is kept, only positions. */
export class CutFinder {
  private readonly min: number;
  private readonly avg: number;
  private readonly max: number;
  private readonly hard: number;
  private readonly easy: number;
  private h = 0;
  /** Bytes of the current (unfinished) chunk seen so far. */
  private len = 0;

  constructor(params: ChunkerParams) {
    const p = validateChunkerParams(params);
    this.min = p.minSize;
    this.avg = p.avgSize;
    this.max = p.maxSize;
    const m = masksFor(p);
    this.hard = m.hard;
    this.easy = m.easy;
  }

  /** Bytes of the current chunk not yet cut off. */
  get pending(): number {
    return this.len;
  }

  /**
   * Scans buf[from, to) as the continuation of the current chunk. Returns the index just past
   * the chunk's last byte when the chunk ends inside that range (the state is then reset for the
   * next chunk, which starts at the returned index), or -1 when it does not.
   */
  next(buf: Uint8Array, from: number, to: number): number {
    // Index in buf where the current chunk started (negative when it began in an earlier piece).
    const base = from - this.len;
    const i = Math.max(from, base + this.min);
    if (i >= to) {
      this.len = to - base;
      return -1;
    }
    const view = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
    let h = this.h;
    const normEnd = base + this.avg;
    if (i < normEnd) {
      const end = scan(view, i, Math.min(to, normEnd), h, this.hard);
      if (end >= 0) return this.cut(end);
      h = scanH;
    }
    const maxEnd = base + this.max;
    if (to > normEnd) {
      const end = scan(view, Math.max(i, normEnd), Math.min(to, maxEnd), h, this.easy);
      if (end >= 0) return this.cut(end);
      h = scanH;
    }
    if (to >= maxEnd) return this.cut(maxEnd);
    this.h = h;
    this.len = to - base;
    return -1;
  }

  /** Forgets the current chunk (the caller ends it: end of input). */
  reset(): void {
    this.h = 0;
    this.len = 0;
  }

  private cut(end: number): number {
    this.reset();
    return end;
  }
}

/**
 * Chunk end offsets (exclusive) of a whole in-memory buffer; the last one is buf.length.
 * Empty input has no chunks.
 */
export function cutPoints(buf: Uint8Array, params: ChunkerParams): number[] {
  const finder = new CutFinder(params);
  const ends: number[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const end = finder.next(buf, pos, buf.length);
    if (end < 0) break;
    ends.push(end);
    pos = end;
  }
  if (pos < buf.length) ends.push(buf.length);
  return ends;
}
