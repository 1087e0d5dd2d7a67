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
 * The hot loop lives in scan.ts; next() only splits a range into its hard-mask and easy-mask parts.
 */
import type { ChunkerParams } from '../repo/types.js';
import { masksFor, validateChunkerParams } from './params.js';
import { lastHash, primeScan, scan } from './scan.js';

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
    primeScan();
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
    // Plain views: a Buffer's different map would deoptimize the scan (scan.ts).
    const ab = buf.buffer;
    const bytes = new Uint8Array(ab, buf.byteOffset, buf.length);
    const words = new Uint32Array(ab, 0, Math.floor(ab.byteLength / 4));
    const off = buf.byteOffset;
    let h = this.h;
    const normEnd = base + this.avg;
    if (i < normEnd) {
      const end = scan(bytes, words, off, i, Math.min(to, normEnd), h, this.hard);
      if (end >= 0) return this.cut(end);
      h = lastHash();
    }
    const maxEnd = base + this.max;
    if (to > normEnd) {
      const end = scan(bytes, words, off, Math.max(i, normEnd), Math.min(to, maxEnd), h, this.easy);
      if (end >= 0) return this.cut(end);
      h = lastHash();
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
