/**
 * Repository: one open repository. Writes blobs into packs, then indexes, snapshots and heads in
 * the order DESIGN §2 requires, and reads everything back verified and validated.
 *
 * The blob map has two parts: `indexed` (blobs named by an index object in the store, loaded or
 * written by this instance) and `unindexed` (blobs in packs this session made durable but whose
 * index is not written yet). Both are readable; only indexed blobs may be referenced by a
 * snapshot, which `saveSnapshot` enforces for the root tree. `indexed` holds every blob of the
 * org's repository, so it is a compact table (blobtable.ts) rather than a Map.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { blobId, isBlobId } from '../chunker/hash.js';
import { StrataError, type ErrorCode } from '../errors.js';
import type { ObjectStore } from '../store/index.js';
import { BlobTable } from './blobtable.js';
import type { IndexFile, IndexedPack } from './indexfile.js';
import { IndexFiles } from './index-files.js';
import { loadIndexes } from './indexload.js';
import { short } from './json.js';
import * as layers from './layers.js';
import { DEFAULT_MAX_GAP, DEFAULT_MAX_REQUEST, blobNotFound, fetchRange, planReads, readPlanned, verifyBlob, type WantedBlob } from './reader.js';
import { CountingStore, type RequestCounts } from '../store/counting.js';
import { checkDeviceId, checkLayerId } from './names.js';
import { encodeSnapshot } from './snapshot.js';
import { MAX_TREE_BYTES, decodeTree, encodeTree } from './tree.js';
import { MAX_BLOB_BYTES, type PackEntry } from './pack.js';
import { treeNotFound, type TreeRef } from './treeref.js';
import { PackWriter } from './writer.js';
import { FORMAT_VERSION, keys, type BlobId, type BlobLocation, type BlobType, type FormatObject, type Head, type Snapshot, type SnapshotId, type Tree } from './types.js';

/** Requests the repository made (logical ones: retries below it are not counted) and their bytes. */
export type RepoStats = RequestCounts;
export type { SnapshotRecord } from './layers.js';

export interface RepositoryOptions {
  /** Pack uploads in flight at once (default 4); addBlob waits while this many are pending. */
  uploadConcurrency?: number;
  /** GETs in flight at once in readBlobs, loadIndex and listings (default 8). */
  readConcurrency?: number;
  /** The clock for head times (default: the system clock). */
  now?: () => Date;
  /**
   * A folder of this machine's where loadIndex keeps the index objects it reads, for the next
   * reader here (index-files.ts), in a subfolder per repository (keptIndexDir); without it, every
   * load fetches them all. gc and check never use it.
   */
  keptIndexes?: string;
}

/**
 * `<keptIndexes>/<hash of the repository's id>`: one folder per repository, since the index is the
 * whole repository's (every layer's), so one state dir that meets another bucket keeps both apart.
 * The id is hashed: it is the bucket's, and must never become a path of its own.
 */
export function keptIndexDir(keptIndexes: string, format: FormatObject): string {
  return join(keptIndexes, createHash('sha256').update(format.id).digest('hex').slice(0, 16));
}

export interface ReadBlobsOptions {
  /** Merge neighbouring blobs of one pack into one GET when the gap is at most this (256 KiB). */
  maxGap?: number;
  /** Never merge into a GET larger than this (16 MiB). */
  maxRequest?: number;
  /** GETs in flight (default: the repository's readConcurrency). */
  concurrency?: number;
  /** Issue the requests lowest rank first (a request ranks as its lowest blob); default: by pack and offset. */
  rank?: (id: BlobId) => number;
  /**
   * Sees every fetched range's raw bytes (unverified, gaps included) before its blobs are
   * delivered, e.g. to keep them for later reads; whoever takes a blob out of them must verify it.
   */
  onRange?: (pack: string, offset: number, bytes: Uint8Array) => void;
}

export interface LoadTreesOptions extends ReadBlobsOptions {
  /** What names tree `id`, for the error when no index holds it; asked only then. */
  refOf?: (id: BlobId) => TreeRef | undefined;
}

export class Repository {
  /** The store, wrapped to count requests (see `stats`). */
  readonly store: CountingStore;
  readonly format: FormatObject;
  /** Index objects that failed validation at loadIndex: skipped, and reported here and by check. */
  indexErrors: StrataError[] = [];
  private readonly indexed = new BlobTable();
  private readonly unindexed = new Map<BlobId, BlobLocation>();
  /** The trees each pack holds (where the pack is the tree's known location). */
  private readonly packTrees = new Map<string, BlobId[]>();
  /**
   * Index objects loaded or written here, with what each supersedes, and whether a listing showed
   * it yet (one written here may not be listed at once). One listed before and no longer is gone
   * and forgotten: what it superseded is read again if still listed (indexload.ts).
   */
  private readonly loadedIndexes = new Map<string, { supersedes: readonly string[]; listed: boolean }>();
  private readonly heads: layers.HeadCache = new Map();
  private readonly writer: PackWriter;
  private readonly readConcurrency: number;
  private readonly now: () => Date;
  private readonly keptIndexes: string | undefined;

  constructor(store: ObjectStore, format: FormatObject, opts: RepositoryOptions = {}) {
    this.store = new CountingStore(store);
    this.format = format;
    this.readConcurrency = opts.readConcurrency ?? 8;
    this.now = opts.now ?? (() => new Date());
    this.keptIndexes = opts.keptIndexes === undefined ? undefined : keptIndexDir(opts.keptIndexes, format);
    this.writer = new PackWriter(
      this.store,
      format.hash,
      format.packSize,
      opts.uploadConcurrency ?? 4,
      (pack) => this.remember(pack, (b) => addFirst(this.unindexed, pack.id, b)),
      (pack) => this.forget(pack),
    );
  }

  /** The repository's id function: the hash its format object names, as lowercase hex. */
  blobId(bytes: Uint8Array): string {
    return blobId(bytes, this.format.hash);
  }

  get stats(): RepoStats {
    return this.store.counts;
  }

  // --- index ---

  /**
   * Loads index objects not loaded yet (all of them the first time); call again to see other
   * devices' new packs. An index a loaded consolidated index supersedes counts as loaded while
   * that one is listed: its packs are in that one (indexload.ts).
   *
   * Each index goes into the table as soon as it is fetched, so that only the few in flight are
   * held decoded (indexload.ts). A load that fails keeps the indexes it added: each is valid, and
   * was listed. With `keptIndexes`, those kept there are read from there (index-files.ts).
   */
  async loadIndex(): Promise<void> {
    const known = new Map([...this.loadedIndexes].map(([key, { supersedes }]) => [key, supersedes]));
    const add = (idx: IndexFile) => {
      for (const pack of idx.packs) this.rememberIndexed(pack);
      this.loadedIndexes.set(idx.key, { supersedes: idx.supersedes, listed: true });
    };
    const kept = this.keptIndexes === undefined ? undefined : await IndexFiles.open(this.keptIndexes, this.format.hash);
    const { errors, listed } = await loadIndexes(this.store, this.format.hash, this.readConcurrency, add, { known, ...(kept ? { kept } : {}) });
    for (const [key, k] of this.loadedIndexes) {
      if (listed.has(key)) k.listed = true;
      else if (k.listed) this.loadedIndexes.delete(key);
    }
    this.indexErrors = errors;
  }

  /** True if the blob is stored or on its way (added in this session): addBlob would skip it. */
  hasBlob(id: BlobId): boolean {
    return this.indexed.has(id) || this.unindexed.has(id) || this.writer.isPending(id);
  }

  /** Where a durable blob lives; undefined for unknown blobs and blobs whose pack is still uploading. */
  blobLocation(id: BlobId): BlobLocation | undefined {
    return this.indexed.get(id) ?? this.unindexed.get(id);
  }

  /** Number of blobs in the loaded indexes. */
  get indexedBlobs(): number {
    return this.indexed.size;
  }

  private rememberIndexed(pack: IndexedPack): void {
    this.remember(pack, (b) => this.indexed.add(b.id, pack.id, b.type, b.offset, b.length));
  }

  /** `add` adds one blob of `pack` unless its map has it, and says whether it did. */
  private remember(pack: IndexedPack, add: (b: PackEntry) => boolean): void {
    // Duplicates across devices are harmless: the first location seen wins.
    let trees: BlobId[] | undefined;
    for (const b of pack.blobs) {
      if (!add(b)) continue;
      if (b.type === 'tree') (trees ??= this.packTrees.get(pack.id) ?? []).push(b.id);
    }
    if (trees) this.packTrees.set(pack.id, trees);
  }

  /** Drops the blobs of an unindexed pack found gone (writer.ts): they must be uploaded again. */
  private forget(pack: IndexedPack): void {
    for (const b of pack.blobs) if (this.unindexed.get(b.id)?.pack === pack.id) this.unindexed.delete(b.id);
    this.packTrees.delete(pack.id);
  }

  /**
   * The trees stored in `pack`. One snapshot writes its new trees together, so the rest of a
   * pack's trees are likely the subtrees of the one asked for: loaders fetch them in the same
   * round (profile/load-trees.ts loadAllTrees).
   */
  treesInPack(pack: string): readonly BlobId[] {
    return this.packTrees.get(pack) ?? [];
  }

  // --- write side ---

  /**
   * Adds a blob unless it is already stored or pending; returns whether it was new. `id` must be
   * this.blobId(data). Resolves once there is room for more (backpressure on pack uploads).
   */
  async addBlob(type: BlobType, id: BlobId, data: Uint8Array): Promise<boolean> {
    if (!isBlobId(id)) throw new StrataError('E_BAD_OBJECT', `addBlob: ${JSON.stringify(id)} is not a blob id`);
    if (data.byteLength > MAX_BLOB_BYTES) throw new StrataError('E_BAD_OBJECT', `addBlob: blob ${short(id)} is ${data.byteLength} bytes, over the ${MAX_BLOB_BYTES}-byte limit`);
    if (this.hasBlob(id)) return false;
    await this.writer.add(type, id, data);
    return true;
  }

  /** Canonical-encodes and adds a tree; returns its id (unchanged content keeps its id). */
  async saveTree(tree: Tree): Promise<BlobId> {
    const bytes = encodeTree(tree);
    const id = this.blobId(bytes);
    await this.addBlob('tree', id, bytes);
    return id;
  }

  /**
   * Uploads pending packs and writes their index (kept in `keptIndexes` too). Must resolve before a
   * snapshot referencing them is saved.
   */
  async flush(): Promise<void> {
    const { indexes, packs } = await this.writer.flush();
    for (const { key } of indexes) this.loadedIndexes.set(key, { supersedes: [], listed: false });
    for (const pack of packs) {
      this.rememberIndexed(pack);
      for (const b of pack.blobs) this.unindexed.delete(b.id);
    }
    // Kept as a fetched one is, so that the next reader here fetches none of this device's own.
    if (this.keptIndexes !== undefined && indexes.length > 0) {
      const kept = IndexFiles.writing(this.keptIndexes, this.format.hash);
      for (const { key, bytes } of indexes) await kept.write(key, bytes);
    }
  }

  /** After a failed addBlob/flush: drops what is not durable and makes the writer usable again. */
  async abort(): Promise<void> {
    await this.writer.abort();
  }

  /** Saves a snapshot; its root tree must already be indexed (flush first), else E_NOT_DURABLE. */
  async saveSnapshot(s: Snapshot): Promise<SnapshotId> {
    checkLayerId(s.layer);
    checkDeviceId(s.device);
    if (!this.indexed.has(s.root)) {
      throw new StrataError('E_NOT_DURABLE', `snapshot root tree ${s.root} is not in any index; flush() before saveSnapshot()`);
    }
    const { id, bytes } = encodeSnapshot(s, this.format.hash);
    await this.store.put(keys.snapshot(s.layer, id), bytes);
    return id;
  }

  /**
   * Points this device's head at a snapshot that must already be in the store. `time` is the
   * snapshot's: a head's time is never older than its snapshot's (latestSnapshot relies on it).
   */
  async writeHead(layer: string, device: string, snapshot: SnapshotId, time = this.now().toISOString()): Promise<Head> {
    const head: Head = { version: FORMAT_VERSION, layer, device, snapshot, time };
    await layers.writeHead(this.store, head);
    return head;
  }

  // --- read side ---

  private locate(id: BlobId): BlobLocation {
    const loc = this.blobLocation(id);
    if (!loc) throw blobNotFound(id);
    return loc;
  }

  /** One blob, fetched with a ranged GET and verified against its id. */
  async readBlob(id: BlobId): Promise<Uint8Array> {
    const loc = this.locate(id);
    const data = await fetchRange(this.store, loc.pack, loc.offset, loc.length);
    verifyBlob(data, id, keys.pack(loc.pack), this.format.hash);
    return data;
  }

  /**
   * Many blobs with few requests: grouped by pack, neighbours coalesced into one ranged GET.
   * onBlob is called once per distinct id, each blob verified, in no promised order (requests in
   * `rank` order when given). Unknown ids fail before anything is fetched. `data` may be a view
   * into a larger buffer: copy it to keep it long.
   */
  async readBlobs(ids: Iterable<BlobId>, onBlob: (id: BlobId, data: Uint8Array) => Promise<void> | void, opts: ReadBlobsOptions = {}): Promise<void> {
    const wanted: WantedBlob[] = [...new Set(ids)].map((id) => ({ id, loc: this.locate(id) }));
    const plan = planReads(wanted, opts.maxGap ?? DEFAULT_MAX_GAP, opts.maxRequest ?? DEFAULT_MAX_REQUEST, opts.rank);
    await readPlanned(this.store, this.format.hash, plan, opts.concurrency ?? this.readConcurrency, onBlob, opts.onRange);
  }

  /**
   * Where tree `id` lives; refuses an unknown id (naming what `ref` says named it: a function is
   * called only then), a blob that is not a tree, or one over the size cap.
   */
  treeLocation(id: BlobId, ref?: TreeRef | (() => TreeRef | undefined)): BlobLocation {
    const loc = this.blobLocation(id);
    if (!loc) throw treeNotFound(id, typeof ref === 'function' ? ref() : ref, (t) => this.blobLocation(t));
    const fail = (code: ErrorCode, why: string) => new StrataError(code, `tree ${short(id)}: ${why}`, { key: keys.pack(loc.pack) });
    if (loc.type !== 'tree') throw fail('E_BAD_TREE', `blob ${id} is indexed as ${loc.type}, not a tree`);
    if (loc.length > MAX_TREE_BYTES) throw fail('E_BAD_TREE', `is ${loc.length} bytes, over the ${MAX_TREE_BYTES}-byte limit`);
    return loc;
  }

  /** A tree, verified and fully validated (names, types, ids, order). */
  async loadTree(id: BlobId, ref?: TreeRef): Promise<Tree> {
    const loc = this.treeLocation(id, ref);
    return decodeTree(await this.readBlob(id), keys.pack(loc.pack), id);
  }

  /**
   * Many trees with coalesced reads (restore walks a level of the hierarchy at a time). `bytes` is
   * the tree's verified bytes, possibly a view into a larger buffer: copy them to keep them.
   */
  async loadTrees(ids: Iterable<BlobId>, onTree: (id: BlobId, tree: Tree, bytes: Uint8Array) => Promise<void> | void, opts: LoadTreesOptions = {}): Promise<void> {
    const list = [...new Set(ids)];
    for (const id of list) this.treeLocation(id, opts.refOf && (() => opts.refOf?.(id)));
    await this.readBlobs(list, (id, data) => onTree(id, decodeTree(data, keys.pack(this.locate(id).pack), id), data), opts);
  }

  loadSnapshot(layer: string, id: SnapshotId): Promise<Snapshot> {
    return layers.loadSnapshot(this.store, this.format.hash, layer, id);
  }

  listSnapshotIds(layer: string): Promise<SnapshotId[]> {
    return layers.listSnapshotIds(this.store, layer);
  }

  /** With `limit`, the newest `limit` only, reading little more (layers.ts). */
  listSnapshots(layer: string, limit?: number): Promise<{ snapshots: layers.SnapshotRecord[]; errors: StrataError[] }> {
    return layers.listSnapshots(this.store, this.format.hash, layer, this.readConcurrency, limit);
  }

  /** Heads this repository read before are fetched again only when their listing version changed (layers.ts HeadCache). */
  listHeads(layer: string): Promise<layers.ListedHeads> {
    return layers.listHeads(this.store, layer, this.readConcurrency, this.heads);
  }

  /** `device`'s head of `layer`, read by its key (not through a listing, which may lag); undefined when it has none. */
  readHead(layer: string, device: string): Promise<Head | undefined> {
    return layers.readHead(this.store, layer, device);
  }

  /** Bulk reads of `layer`'s snapshots by write date, for a SnapshotGraph. */
  snapshotBulk(layer: string): layers.SnapshotBulk {
    return new layers.SnapshotBulk(this.store, this.format.hash, layer, this.readConcurrency);
  }

  /**
   * Of `listed` when given (the layer's heads the caller listed: they are not listed again);
   * `sizes`, the layer's snapshots' sizes from a listing, spare a HEAD per snapshot read.
   */
  latestSnapshot(layer: string, listed?: layers.ListedHeads, sizes?: ReadonlyMap<SnapshotId, number>): Promise<layers.SnapshotRecord | undefined> {
    if (listed) return layers.newestSnapshot(this.store, this.format.hash, layer, listed.heads, [...listed.errors], this.readConcurrency, sizes);
    return layers.latestSnapshot(this.store, this.format.hash, layer, this.readConcurrency, this.heads);
  }
}

function addFirst(map: Map<BlobId, BlobLocation>, pack: string, b: PackEntry): boolean {
  if (map.has(b.id)) return false;
  map.set(b.id, { pack, type: b.type, offset: b.offset, length: b.length });
  return true;
}
