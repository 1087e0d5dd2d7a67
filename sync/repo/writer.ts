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
 */
import { blobId, type HashAlgorithm } from '../chunker/hash.js';
import { StrataError } from '../errors.js';
import type { ObjectStore } from '../store/index.js';
import { encodeIndex, type IndexedPack } from './indexfile.js';
import { PackBuilder } from './pack.js';
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

  constructor(
    private readonly store: ObjectStore,
    private readonly hash: HashAlgorithm,
    private readonly packSize: number,
    private readonly concurrency: number,
    private readonly onDurable: (pack: IndexedPack) => void,
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

  /** Uploads everything pending, then the index; returns the index keys and the packs they name. */
  async flush(): Promise<{ indexKeys: string[]; packs: IndexedPack[] }> {
    this.throwIfFailed();
    for (const type of BLOB_TYPES) if (this.current[type].count > 0) this.seal(type);
    while (this.uploading.size > 0) await Promise.race(this.uploading);
    this.throwIfFailed();
    const indexKeys: string[] = [];
    const packs: IndexedPack[] = [];
    while (this.durable.length > 0) {
      const batch = takeBatch(this.durable);
      const { id, bytes } = encodeIndex(batch, this.hash);
      await this.store.put(keys.index(id), bytes);
      // Packs made durable during the put were appended after the batch; they wait for the next flush.
      this.durable = this.durable.slice(batch.length);
      indexKeys.push(keys.index(id));
      packs.push(...batch);
    }
    return { indexKeys, packs };
  }

  /** Drops unsealed blobs and clears a failure; packs already durable are indexed by the next flush. */
  async abort(): Promise<void> {
    while (this.uploading.size > 0) await Promise.race(this.uploading);
    this.queue.length = 0;
    this.current = newBuilders();
    this.pending.clear();
    this.failure = undefined;
  }

  private throwIfFailed(): void {
    if (!this.failure) return;
    const cause = this.failure.err;
    const code = cause instanceof StrataError ? cause.code : 'E_PACK_UPLOAD';
    throw new StrataError(code, `a pack upload failed; abort() and retry the snapshot (${String(cause)})`, {}, { cause });
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
