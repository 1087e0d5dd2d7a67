/**
 * Which trees a reader fetched from the bucket: a store that records the range of every GET of a
 * pack (data/…), and the trees under a root to check those ranges against.
 */
import type { Readable } from 'node:stream';
import { keys, type Repository } from '../repo/index.js';
import type { BlobId } from '../repo/types.js';
import { ForwardingStore } from '../store/forwarding.js';
import type { ByteRange } from '../store/index.js';

/** Records the range of every GET of a pack (data/…). */
export class PackGets extends ForwardingStore {
  ranges: { key: string; offset: number; length: number }[] = [];

  private note(key: string, range?: ByteRange): void {
    if (key.startsWith('data/')) this.ranges.push({ key, offset: range?.offset ?? 0, length: range?.length ?? Infinity });
  }

  override get(key: string, range?: ByteRange): Promise<Uint8Array> {
    this.note(key, range);
    return super.get(key, range);
  }

  override getStream(key: string, range?: ByteRange): Promise<Readable> {
    this.note(key, range);
    return super.getStream(key, range);
  }

  /** Of `trees`, those whose bytes a recorded GET read. */
  fetched(repo: Repository, trees: Iterable<BlobId>): Set<BlobId> {
    const out = new Set<BlobId>();
    for (const id of trees) {
      const loc = repo.blobLocation(id)!;
      const key = keys.pack(loc.pack);
      if (this.ranges.some((r) => r.key === key && r.offset <= loc.offset && loc.offset + loc.length <= r.offset + r.length)) out.add(id);
    }
    return out;
  }
}

/** Every tree under `root`, read through `repo` (a repository of the test's own, not the one watched). */
export async function treesOf(repo: Repository, root: BlobId): Promise<Set<BlobId>> {
  const out = new Set<BlobId>();
  let level = [root];
  while (level.length > 0) {
    const next: BlobId[] = [];
    for (const id of level) {
      if (out.has(id)) continue;
      out.add(id);
      for (const e of (await repo.loadTree(id)).entries) if (e.type === 'dir') next.push(e.subtree);
    }
    level = next;
  }
  return out;
}
