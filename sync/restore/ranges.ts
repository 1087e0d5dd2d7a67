/**
 * Pack bytes a restore already fetched, kept for later reads of the same restore.
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
import { StrataError } from '../errors.js';
import { short } from '../repo/json.js';
import { blobNotFound, verifyBlob } from '../repo/reader.js';
import type { Repository } from '../repo/repository.js';
import { MAX_TREE_BYTES, decodeTree } from '../repo/tree.js';
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

/** Where tree `id` lives, refusing what Repository.loadTree refuses: unknown, not a tree, too large. */
function treeLocation(repo: Repository, id: BlobId): BlobLocation {
  const loc = repo.blobLocation(id);
  if (!loc) throw blobNotFound(id);
  const fail = (why: string) => new StrataError('E_BAD_TREE', `tree ${short(id)}: ${why}`, { key: keys.pack(loc.pack) });
  if (loc.type !== 'tree') throw fail(`blob ${id} is indexed as ${loc.type}, not a tree`);
  if (loc.length > MAX_TREE_BYTES) throw fail(`is ${loc.length} bytes, over the ${MAX_TREE_BYTES}-byte limit`);
  return loc;
}

/** As Repository.loadTrees (verified, validated), serving what the cache holds and keeping what is fetched. */
export async function loadTrees(repo: Repository, cache: RangeCache, ids: readonly BlobId[], onTree: (id: BlobId, tree: Tree) => void): Promise<void> {
  const missing: BlobId[] = [];
  const where = new Map<BlobId, BlobLocation>();
  for (const id of new Set(ids)) {
    const loc = treeLocation(repo, id);
    where.set(id, loc);
    const data = cache.take(id, loc);
    if (data) onTree(id, decodeTree(data, keys.pack(loc.pack), id));
    else missing.push(id);
  }
  if (missing.length === 0) return;
  await repo.readBlobs(missing, (id, data) => onTree(id, decodeTree(data, keys.pack((where.get(id) as BlobLocation).pack), id)), { onRange: cache.add });
}
