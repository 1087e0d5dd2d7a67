/**
 * BlobTable: where each indexed blob lives (blob id → pack, type, offset, length), compact enough
 * for an agent to hold the whole org's index. A Map of id strings to location objects took about
 * 165 bytes a blob; this takes about 60 (scripts/index-mem-bench.ts).
 *
 * An id is kept as its 32 bytes (eight 32-bit words), a pack as its number in a list of the pack
 * ids seen, and the rest in typed arrays. Entries sit in fixed-size pages, so growing never copies
 * them; a bucket array (entry + 1, 0 for none) heads chains linked through each entry's `next`,
 * and doubles once there are more entries than buckets.
 *
 * What must hold:
 * - The key is the whole id, never a part of it: two blobs sharing a prefix taken for one would
 *   make a writer skip a blob it never stored (data loss through dedup).
 * - The first location added for an id stays: adding the id again changes nothing (readers keep
 *   the first location they see, index.ts).
 * - Only blob ids (ID_PATTERN: 64 lowercase hex digits) are stored; any other string is absent,
 *   and must not find the entry of the id it would decode to (an upper-case id is not an id).
 * - Entries are never removed.
 * - The bucket of an id comes from all of its bytes and a seed drawn per table, so an index writer
 *   cannot pick ids that pile into one chain and make loading quadratic.
 */
import { randomBytes } from 'node:crypto';
import { StrataError } from '../errors.js';
import type { BlobId, BlobLocation, BlobType } from './types.js';

const WORDS = 8;
const PAGE_BITS = 12;
const PAGE = 1 << PAGE_BITS;
const FIRST_BUCKETS = 1024;
/** Hex digit values by character code, -1 for anything else (upper case included). */
const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) HEX['0123456789abcdef'.charCodeAt(i)] = i;

interface Page {
  /** The ids' words, WORDS per entry. */
  key: Uint32Array;
  /** The next entry in the same bucket, plus one; 0 ends the chain. */
  next: Int32Array;
  pack: Uint32Array;
  offset: Float64Array;
  length: Uint32Array;
  /** 1 for a tree, 0 for data. */
  tree: Uint8Array;
}

function newPage(): Page {
  return {
    key: new Uint32Array(PAGE * WORDS),
    next: new Int32Array(PAGE),
    pack: new Uint32Array(PAGE),
    offset: new Float64Array(PAGE),
    length: new Uint32Array(PAGE),
    tree: new Uint8Array(PAGE),
  };
}

export class BlobTable {
  private readonly pages: Page[] = [];
  private buckets = new Int32Array(FIRST_BUCKETS);
  private count = 0;
  private readonly packIds: string[] = [];
  private readonly packNumbers = new Map<string, number>();
  private readonly seed: number;
  /** The id being looked up or added, decoded (one per table, reused). */
  private readonly words = new Uint32Array(WORDS);

  /** `seed` only for tests: by default a random one (see the header). */
  constructor(seed: number = randomBytes(4).readUInt32LE(0)) {
    this.seed = seed | 0;
  }

  /** Number of ids held. */
  get size(): number {
    return this.count;
  }

  has(id: BlobId): boolean {
    return this.decode(id) && this.find() >= 0;
  }

  get(id: BlobId): BlobLocation | undefined {
    if (!this.decode(id)) return undefined;
    const e = this.find();
    if (e < 0) return undefined;
    const p = this.pages[e >>> PAGE_BITS] as Page;
    const i = e & (PAGE - 1);
    return { pack: this.packIds[p.pack[i] as number] as string, type: p.tree[i] === 1 ? 'tree' : 'data', offset: p.offset[i] as number, length: p.length[i] as number };
  }

  /** Adds `id` at this location unless it is held already (the first location stays); returns whether it was added. */
  add(id: BlobId, pack: string, type: BlobType, offset: number, length: number): boolean {
    if (!this.decode(id)) throw new StrataError('E_BAD_OBJECT', `blob table: ${JSON.stringify(id)} is not a blob id`);
    if (this.find() >= 0) return false;
    if (this.count >= this.buckets.length) this.grow();
    const e = this.count;
    if ((e & (PAGE - 1)) === 0) this.pages.push(newPage());
    const p = this.pages[e >>> PAGE_BITS] as Page;
    const i = e & (PAGE - 1);
    p.key.set(this.words, i * WORDS);
    p.pack[i] = this.packNumber(pack);
    p.tree[i] = type === 'tree' ? 1 : 0;
    p.offset[i] = offset;
    p.length[i] = length;
    const b = this.bucketOf(this.words);
    p.next[i] = this.buckets[b] as number;
    this.buckets[b] = e + 1;
    this.count++;
    return true;
  }

  private packNumber(pack: string): number {
    let n = this.packNumbers.get(pack);
    if (n === undefined) {
      n = this.packIds.push(pack) - 1;
      this.packNumbers.set(pack, n);
    }
    return n;
  }

  /** Decodes `id` into `words`; false if it is not a blob id. */
  private decode(id: BlobId): boolean {
    if (typeof id !== 'string' || id.length !== WORDS * 8) return false;
    for (let w = 0, c = 0; w < WORDS; w++) {
      let v = 0;
      for (const end = c + 8; c < end; c++) {
        const code = id.charCodeAt(c);
        const d = code < 128 ? (HEX[code] as number) : -1;
        if (d < 0) return false;
        v = (v << 4) | d;
      }
      this.words[w] = v;
    }
    return true;
  }

  /** The entry holding the decoded id, or -1. */
  private find(): number {
    const words = this.words;
    for (let e = (this.buckets[this.bucketOf(words)] as number) - 1; e >= 0; ) {
      const p = this.pages[e >>> PAGE_BITS] as Page;
      const i = e & (PAGE - 1);
      const at = i * WORDS;
      let w = 0;
      while (w < WORDS && p.key[at + w] === words[w]) w++;
      if (w === WORDS) return e;
      e = (p.next[i] as number) - 1;
    }
    return -1;
  }

  private bucketOf(words: Uint32Array, at = 0): number {
    let h = this.seed;
    for (let w = 0; w < WORDS; w++) {
      h = Math.imul(h ^ (words[at + w] as number), 0x9e3779b1);
      h = (h << 13) | (h >>> 19);
    }
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return (h ^ (h >>> 16)) & (this.buckets.length - 1);
  }

  /** Doubles the buckets and relinks every entry. */
  private grow(): void {
    this.buckets = new Int32Array(this.buckets.length * 2);
    for (let e = 0; e < this.count; e++) {
      const p = this.pages[e >>> PAGE_BITS] as Page;
      const i = e & (PAGE - 1);
      const b = this.bucketOf(p.key, i * WORDS);
      p.next[i] = this.buckets[b] as number;
      this.buckets[b] = e + 1;
    }
  }
}
