/**
 * HeldIndex: a validated index object as `strata admin gc` (gc.ts, compact.ts) and `strata check`
 * (check.ts) hold it: each must hold every index of the bucket at once. The decoded JSON takes
 * about 150 bytes a blob entry; this keeps each pack's id and size, and the blob entries in typed
 * arrays (the id as its 32 bytes, the offset, the length, one byte for the type): about 45 bytes an
 * entry.
 *
 * What must hold:
 * - `pack(i)` gives back pack `i` exactly as the index named it, its entries in its order, and
 *   `decoded()` the whole index so: what gc checks (indexCovers) and what a consolidated index
 *   copies must be what the index said.
 * - Only validated indexes are held (decodeIndexFile): every id is 64 lowercase hex digits, so its
 *   bytes turn back into the same string.
 */
import type { DecodedIndex, IndexFile, IndexedPack } from './indexfile.js';
import type { PackEntry } from './pack.js';

const ID_BYTES = 32;

export class HeldIndex {
  readonly key: string;
  readonly supersedes: readonly string[];
  /** The packs in the index's order, without their entries (`pack(i)` has them). */
  readonly packs: readonly { id: string; size: number }[];
  /** Blob entries in all. */
  readonly blobs: number;
  /** Pack i's entries are `first[i]` up to `first[i + 1]`. */
  private readonly first: Uint32Array;
  private readonly ids: Buffer;
  private readonly offsets: Float64Array;
  private readonly lengths: Uint32Array;
  /** 1 for a tree, 0 for data. */
  private readonly trees: Uint8Array;

  constructor(idx: IndexFile) {
    this.key = idx.key;
    this.supersedes = idx.supersedes;
    this.packs = idx.packs.map((p) => ({ id: p.id, size: p.size }));
    this.blobs = idx.packs.reduce((s, p) => s + p.blobs.length, 0);
    this.first = new Uint32Array(idx.packs.length + 1);
    this.ids = Buffer.alloc(this.blobs * ID_BYTES);
    this.offsets = new Float64Array(this.blobs);
    this.lengths = new Uint32Array(this.blobs);
    this.trees = new Uint8Array(this.blobs);
    let e = 0;
    idx.packs.forEach((p, i) => {
      this.first[i] = e;
      for (const b of p.blobs) {
        this.ids.write(b.id, e * ID_BYTES, ID_BYTES, 'hex');
        this.offsets[e] = b.offset;
        this.lengths[e] = b.length;
        this.trees[e] = b.type === 'tree' ? 1 : 0;
        e++;
      }
    });
    this.first[idx.packs.length] = e;
  }

  /** Pack `i` with its blob entries, as the index named it. */
  pack(i: number): IndexedPack {
    const { id, size } = this.packs[i] as { id: string; size: number };
    const blobs: PackEntry[] = [];
    for (let e = this.first[i] as number; e < (this.first[i + 1] as number); e++) {
      const blob = this.ids.toString('hex', e * ID_BYTES, (e + 1) * ID_BYTES);
      blobs.push({ id: blob, type: this.trees[e] === 1 ? 'tree' : 'data', offset: this.offsets[e] as number, length: this.lengths[e] as number });
    }
    return { id, size, blobs };
  }

  /** The whole index as decoded: for one index at a time (it takes what the decoded JSON took). */
  decoded(): DecodedIndex {
    return { packs: this.packs.map((_, i) => this.pack(i)), supersedes: [...this.supersedes] };
  }
}
