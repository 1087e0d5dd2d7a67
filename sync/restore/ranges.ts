/**
 * Pack bytes a restore already fetched, kept for later reads of the same restore (and of a snapshot's
 * read of its parent trees, snapshot/prefetch.ts).
 *
 * The tree walk reads one level of folders at a time, and each coalesced read also brings the
 * bytes between the trees: the trees of deeper levels and, in packs that mix trees and data, the
 * chunks of the small files written beside them. Keeping those ranges (up to a budget) means the
 * next levels and those chunks are not fetched again.
 *
 * What must hold: the bytes are raw (gaps included, never checked as a whole), so every blob taken
 * out is verified against its id first; a mismatch is the same E_CHUNK_HASH_MISMATCH a fresh read
 * would give. A blob that is not wholly inside one kept range is simply not there.
 */
import type { HashAlgorithm } from '../chunker/hash.js';
import { verifyBlob } from '../repo/reader.js';
import type { Repository } from '../repo/repository.js';
import { decodeTree } from '../repo/tree.js';
import type { TreeRef } from '../repo/treeref.js';
import { keys, type BlobId, type BlobLocation, type Tree } from '../repo/types.js';

/** Memory the kept ranges may use; ranges beyond it are not kept (and are fetched again if needed). */
export const RANGE_CACHE_BYTES = 64 * 1024 * 1024;

interface Range {
  offset: number;
  bytes: Uint8Array;
}

export class RangeCache {
  private readonly packs = new Map<string, Range[]>();
  private size = 0;

  constructor(
    private readonly hash: HashAlgorithm,
    private readonly budget = RANGE_CACHE_BYTES,
  ) {}

  /** Keeps a fetched range if it fits the budget (shaped as ReadBlobsOptions.onRange). */
  readonly add = (pack: string, offset: number, bytes: Uint8Array): void => {
    if (this.size + bytes.byteLength > this.budget) return;
    const list = this.packs.get(pack) ?? [];
    list.push({ offset, bytes });
    this.packs.set(pack, list);
    this.size += bytes.byteLength;
  };

  /** The blob's bytes, verified, when a kept range holds all of them. */
  take(id: BlobId, loc: BlobLocation): Uint8Array | undefined {
    for (const r of this.packs.get(loc.pack) ?? []) {
      const start = loc.offset - r.offset;
      if (start < 0 || start + loc.length > r.bytes.byteLength) continue;
      const data = r.bytes.subarray(start, start + loc.length);
      verifyBlob(data, id, keys.pack(loc.pack), this.hash);
      return data;
    }
    return undefined;
  }

  clear(): void {
    this.packs.clear();
    this.size = 0;
  }
}

/** As Repository.loadTrees (verified, validated), serving what the cache holds and keeping what is fetched. */
export async function loadTrees(repo: Repository, cache: RangeCache, ids: readonly BlobId[], onTree: (id: BlobId, tree: Tree) => void, refOf?: (id: BlobId) => TreeRef | undefined): Promise<void> {
  const missing: BlobId[] = [];
  for (const id of new Set(ids)) {
    const loc = repo.treeLocation(id, refOf && (() => refOf(id)));
    const data = cache.take(id, loc);
    if (data) onTree(id, decodeTree(data, keys.pack(loc.pack), id));
    else missing.push(id);
  }
  if (missing.length === 0) return;
  await repo.loadTrees(missing, onTree, { onRange: cache.add, ...(refOf ? { refOf } : {}) });
}
