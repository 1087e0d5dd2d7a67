/**
 * PackWriter: the write half of the repository. Blobs go into an in-memory pack, one per blob
 * type: trees get packs of their own (as restic's do), so that reading a snapshot's trees fetches
 * tree bytes only, in few coalesced requests, and not the file data between them. A full pack is
 * sealed, named by its hash and uploaded in the background, at most `concurrency` at once.
 * `add` waits while too many sealed packs are pending, so memory stays bounded by about
 * (concurrency + 1) packs whatever the caller's pace.
 *
 * `flush` uploads the last partial pack, waits for every upload, then writes the index objects
 * for the packs made durable since the last flush: an index never names a pack that is not
 * durable. A failed upload poisons the writer until `abort()`: a blob that was deduplicated
 * against the lost pack must not be referenced by a snapshot that then looks complete.
 *
 * Until its index is written a pack is in no index, and garbage collection (gc.ts) may delete it
 * once it is older than the grace period: a writer suspended that long between a pack's upload
 * and its index (a laptop closed mid-snapshot, a flush that failed and is retried a day later)
 * finds it gone. So `flush` must see every pack of a batch still stored, with its size, just
 * before it writes the index that names them; a pack that is gone poisons the writer like a
 * failed upload, and its blobs are forgotten (`onLost`), so that the retried snapshot uploads
 * them again instead of deduplicating against a pack that no longer exists.
 *
 * A writer stopped between that check and its index write could still index a pack gc deleted
 * meanwhile; so it looks again once the index is written, and withdraws (deletes) the index when
 * a pack is gone. gc looks at the indexes after it deletes (gc.ts): whatever the interleaving, one
 * of the two sees the other's write. A look that fails (the network gone) leaves it unknown whether
 * a pack is gone, so that index is withdrawn too; one that cannot be withdrawn is looked at again
 * (or withdrawn) by each flush until that is done, before anything else is indexed. An index that
 * gc's consolidation read before its withdrawal is not copied (compact.ts looks at the packs of what
 * it copies, before and after its write), so no index is left naming the lost pack, and the blobs
 * the retried snapshot uploads again are found where they now are.
 */
import { blobId, type HashAlgorithm } from '../chunker/hash.js';
import { StrataError, describeError } from '../errors.js';
import type { ObjectStore } from '../store/index.js';
import { encodeIndex, type IndexedPack } from './indexfile.js';
import { PackBuilder } from './pack.js';
import { mapLimit } from './pool.js';
import { keys, type BlobId, type BlobType } from './types.js';

/** Blob entries per index object, so that no index nears the readers' size limit. */
const MAX_INDEX_ENTRIES = 100_000;

interface Sealed {
  pack: IndexedPack;
  bytes: Uint8Array;
}

export class PackWriter {
  private current = newBuilders();
  private readonly pending = new Set<BlobId>();
  private readonly queue: Sealed[] = [];
  private readonly uploading = new Set<Promise<void>>();
  private durable: IndexedPack[] = [];
  private failure: { err: unknown } | undefined;
  /** Indexes written whose packs could not be looked at after, with those packs; not withdrawn yet. */
  private readonly unsure = new Map<string, readonly IndexedPack[]>();
  /** Indexes written that name a pack found gone, and that could not be withdrawn yet. */
  private readonly stuck = new Set<string>();

  constructor(
    private readonly store: ObjectStore,
    private readonly hash: HashAlgorithm,
    private readonly packSize: number,
    private readonly concurrency: number,
    private readonly onDurable: (pack: IndexedPack) => void,
    private readonly onLost: (pack: IndexedPack) => void,
  ) {}

  /** True while `id` was added in this session but its pack is not yet durable. */
  isPending(id: BlobId): boolean {
    return this.pending.has(id);
  }

  /** Adds a blob the caller has checked is new. Resolves once there is room for more. */
  async add(type: BlobType, id: BlobId, data: Uint8Array): Promise<void> {
    this.throwIfFailed();
    const builder = this.current[type];
    if (builder.count > 0 && builder.sizeWith(id, type, data.byteLength) > this.packSize) this.seal(type);
    this.pending.add(id);
    this.current[type].add(type, id, data);
    if (this.current[type].sizeWith() >= this.packSize) this.seal(type);
    while (this.queue.length + this.uploading.size > this.concurrency) await Promise.race(this.uploading);
    this.throwIfFailed();
  }

  /** Uploads everything pending, then the index; returns the index objects written (key and bytes) and the packs they name. */
  async flush(): Promise<{ indexes: { key: string; bytes: Uint8Array }[]; packs: IndexedPack[] }> {
    this.throwIfFailed();
    for (const type of BLOB_TYPES) if (this.current[type].count > 0) this.seal(type);
    while (this.uploading.size > 0) await Promise.race(this.uploading);
    this.throwIfFailed();
    const indexes: { key: string; bytes: Uint8Array }[] = [];
    const packs: IndexedPack[] = [];
    for (const key of [...this.stuck]) await this.withdraw(key);
    for (const [key, batch] of [...this.unsure]) await this.checkStillStored(batch, key);
    while (this.durable.length > 0) {
      const batch = takeBatch(this.durable);
      await this.checkStillStored(batch);
      const { id, bytes } = encodeIndex(batch, this.hash);
      await this.store.put(keys.index(id), bytes);
      await this.checkStillStored(batch, keys.index(id));
      // Packs made durable during the put were appended after the batch; they wait for the next flush.
      this.durable = this.durable.slice(batch.length);
      indexes.push({ key: keys.index(id), bytes });
      packs.push(...batch);
    }
    return { indexes, packs };
  }

  /** Drops unsealed blobs and clears a failure; packs already durable are indexed by the next flush. */
  async abort(): Promise<void> {
    while (this.uploading.size > 0) await Promise.race(this.uploading);
    this.queue.length = 0;
    this.current = newBuilders();
    this.pending.clear();
    this.failure = undefined;
  }

  /**
   * Fails, forgetting the packs, when one of `batch` is gone from the store (see the header);
   * `written` is the index naming them, when it was already written: it is withdrawn first.
   */
  private async checkStillStored(batch: readonly IndexedPack[], written?: string): Promise<void> {
    let sizes: (number | undefined)[];
    try {
      sizes = await mapLimit(batch, this.concurrency, async (p) => (await this.store.head(keys.pack(p.id)))?.size);
    } catch (err) {
      // Whether a pack is gone is unknown: the index must not stay until a look sees them all.
      if (written !== undefined && !(await this.withdraw(written))) this.unsure.set(written, batch);
      throw err;
    }
    const lost = batch.filter((p, i) => sizes[i] !== p.size);
    const first = lost[0];
    if (written !== undefined) this.unsure.delete(written);
    if (!first) return;
    const stuck = written !== undefined && !(await this.withdraw(written));
    if (stuck) this.stuck.add(written);
    // The rest of the batch stays durable: the next flush indexes it.
    this.durable = this.durable.filter((p) => !lost.includes(p));
    for (const p of lost) this.onLost(p);
    const packs = lost.length === 1 ? 'a pack' : `${lost.length} packs`;
    const err = new StrataError(
      'E_PACK_MISSING',
      `${packs} this writer uploaded went from the store before its index was written (garbage-collected while the writer was stopped?)` +
        (stuck ? `; ${written} names it and could not be withdrawn yet (the next flush tries again; strata check reports it)` : ''),
      { key: keys.pack(first.id) },
    );
    this.failure ??= { err };
    this.throwIfFailed();
  }

  /** Deletes index `key` this writer wrote; false when that failed. */
  private async withdraw(key: string): Promise<boolean> {
    const done = await this.store.delete(key).then(() => true, () => false);
    if (done) {
      this.unsure.delete(key);
      this.stuck.delete(key);
    }
    return done;
  }

  private throwIfFailed(): void {
    if (!this.failure) return;
    // The cause's code and where, said once; the caller aborts and retries the snapshot.
    const cause = this.failure.err;
    if (cause instanceof StrataError) {
      const what = cause.code === 'E_PACK_MISSING' ? 'a pack is not stored' : 'a pack upload failed';
      throw new StrataError(cause.code, `${what}: ${cause.message}`, { key: cause.key, path: cause.path }, { cause });
    }
    throw new StrataError('E_PACK_UPLOAD', `a pack upload failed: ${describeError(cause)}`, {}, { cause });
  }

  private seal(type: BlobType): void {
    const builder = this.current[type];
    const bytes = builder.seal();
    const pack = { id: blobId(bytes, this.hash), size: bytes.byteLength, blobs: builder.entries };
    this.current[type] = new PackBuilder();
    this.queue.push({ pack, bytes });
    this.pump();
  }

  private pump(): void {
    while (this.uploading.size < this.concurrency && this.queue.length > 0) {
      const sealed = this.queue.shift() as Sealed;
      const upload: Promise<void> = this.store
        .put(keys.pack(sealed.pack.id), sealed.bytes)
        .then(
          () => {
            this.durable.push(sealed.pack);
            this.onDurable(sealed.pack);
          },
          (err: unknown) => {
            this.failure ??= { err };
          },
        )
        .finally(() => {
          for (const b of sealed.pack.blobs) this.pending.delete(b.id);
          this.uploading.delete(upload);
          this.pump();
        });
      this.uploading.add(upload);
    }
  }
}

const BLOB_TYPES: readonly BlobType[] = ['data', 'tree'];

function newBuilders(): Record<BlobType, PackBuilder> {
  return { data: new PackBuilder(), tree: new PackBuilder() };
}

function takeBatch(packs: readonly IndexedPack[]): IndexedPack[] {
  let entries = 0;
  let n = 0;
  while (n < packs.length && (n === 0 || entries + (packs[n] as IndexedPack).blobs.length <= MAX_INDEX_ENTRIES)) {
    entries += (packs[n] as IndexedPack).blobs.length;
    n++;
  }
  return packs.slice(0, n);
}
