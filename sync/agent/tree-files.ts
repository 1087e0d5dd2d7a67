/**
 * The trees a folder reads, kept in its state dir between starts (`<folder state dir>/trees/<id>`,
 * each file a tree's bytes as the bucket holds them), so that the first full pass after a start
 * does not fetch again the trees of this device's own head, of the heads it merged and of the org
 * layers — every tree of the layer, tens of MiB on a 100,000-file one. A sign-in here reads them
 * too, before its lay (KeptTrees), and its lay writes those it fetched (signin/lay.ts).
 *
 * Must hold:
 * - the disk is trusted no more than the bucket: an entry is used only once its bytes hash to its
 *   name (then it is the tree the bucket holds under that id, and the caller validates it like one
 *   fetched). One that does not — torn, a flipped bit, another tree's bytes — is removed and counts
 *   as not kept, so it is fetched again;
 * - an entry appears under its name whole (repo/kept-files.ts). Temps a killed writer left go at
 *   the next start;
 * - bounded: trim keeps the trees in use and, of the rest, the most recently used, up to
 *   max(minBytes, twice the bytes of those in use);
 * - the files only ever save requests: a failure to read, write or remove one costs at most the GET
 *   it would have saved, never a pass.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isBlobId, type HashAlgorithm } from '../chunker/hash.js';
import { makeDirs } from '../fsutil.js';
import { readVerified, removeLeftoverTemps, writeWhole } from '../repo/kept-files.js';
import { mapLimit } from '../repo/pool.js';
import type { BlobId } from '../repo/types.js';

/** The least a folder keeps, however few trees it uses now (the org layers', earlier heads'). */
export const DEFAULT_MIN_BYTES = 64 * 1024 * 1024;
/** Files written or removed at once. */
const CONCURRENCY = 8;
/** Files read at once: a layer's thousands of small trees, read while the caller waits for them. */
const READ_CONCURRENCY = 32;

export interface TreeFilesOptions {
  /** The floor of the bound (default DEFAULT_MIN_BYTES). */
  minBytes?: number;
}

export class TreeFiles {
  /** id → size of each entry, least recently used first. */
  private entries: Map<BlobId, number> | undefined;
  private opening: Promise<Map<BlobId, number>> | undefined;
  private total = 0;
  private readonly minBytes: number;

  constructor(
    readonly dir: string,
    private readonly hash: HashAlgorithm,
    opts: TreeFilesOptions = {},
  ) {
    this.minBytes = opts.minBytes ?? DEFAULT_MIN_BYTES;
  }

  /** Of `ids`, the trees kept here, each verified against its id. */
  async read(ids: readonly BlobId[]): Promise<Map<BlobId, Uint8Array>> {
    const entries = await this.open();
    const out = new Map<BlobId, Uint8Array>();
    await mapLimit(ids.filter((id) => entries.has(id)), READ_CONCURRENCY, async (id) => {
      const bytes = await readVerified(this.path(id), id, this.hash);
      if (bytes !== undefined) {
        this.touch(id);
        out.set(id, bytes);
      } else await this.drop(id);
    });
    return out;
  }

  /**
   * Keeps tree `id` (`bytes` must be its bytes, verified) unless kept already. A name that is no
   * id (`../x`) is not kept: it must never become a path outside the folder.
   */
  async write(id: BlobId, bytes: Uint8Array): Promise<void> {
    if (!isBlobId(id)) return;
    const entries = await this.open();
    if (entries.has(id)) return;
    if (!(await writeWhole(this.dir, id, bytes, 'tree'))) return;
    if (!entries.has(id)) this.total += bytes.byteLength;
    entries.set(id, bytes.byteLength);
  }

  /** writes each of `trees`. */
  async writeAll(trees: readonly (readonly [BlobId, Uint8Array])[]): Promise<void> {
    await mapLimit(trees, CONCURRENCY, ([id, bytes]) => this.write(id, bytes));
  }

  /** Removes the least recently used entries not in `inUse` down to max(minBytes, twice the bytes of those in use). */
  async trim(inUse: ReadonlySet<BlobId>): Promise<void> {
    const entries = await this.open();
    let used = 0;
    for (const id of inUse) if (this.touch(id)) used += entries.get(id)!;
    const cap = Math.max(this.minBytes, 2 * used);
    const drop: BlobId[] = [];
    let total = this.total;
    // Those in use are last now: the walk stops before them.
    for (const [id, size] of entries) {
      if (total <= cap || inUse.has(id)) break;
      drop.push(id);
      total -= size;
    }
    await mapLimit(drop, CONCURRENCY, (id) => this.drop(id));
  }

  private path(id: BlobId): string {
    return join(this.dir, id);
  }

  /** Makes `id` the most recently used; false when it is not kept. */
  private touch(id: BlobId): boolean {
    const size = this.entries?.get(id);
    if (size === undefined) return false;
    this.entries!.delete(id);
    this.entries!.set(id, size);
    return true;
  }

  private async drop(id: BlobId): Promise<void> {
    const size = this.entries?.get(id);
    if (size === undefined) return;
    this.entries!.delete(id);
    this.total -= size;
    await rm(this.path(id), { force: true }).catch(() => undefined);
  }

  private open(): Promise<Map<BlobId, number>> {
    this.opening ??= this.list().then((entries) => (this.entries = entries));
    return this.opening;
  }

  /** The entries on disk, oldest first (a new start knows no better order), the temps of writers gone removed. */
  private async list(): Promise<Map<BlobId, number>> {
    await makeDirs(this.dir, 0o700).catch(() => undefined);
    const names = await readdir(this.dir).catch(() => [] as string[]);
    await removeLeftoverTemps(this.dir, names);
    const found = await mapLimit(names.filter(isBlobId), CONCURRENCY, async (id) => {
      const st = await stat(this.path(id)).catch(() => undefined);
      return st?.isFile() ? { id, size: st.size, at: st.mtimeMs } : undefined;
    });
    const entries = new Map<BlobId, number>();
    for (const e of found.filter((f) => f !== undefined).sort((x, y) => x.at - y.at)) {
      entries.set(e.id, e.size);
      this.total += e.size;
    }
    return entries;
  }
}

/**
 * A folder's tree files as found, for a reader that must change nothing in the folder's state dir
 * but a bad entry: a sign-in reads them before its lay (signin/layers.ts), which must not make the
 * dirs that its base record's writer makes and fsyncs (signin/lay.ts). It makes no dir, and one
 * readdir tells which trees are kept: where there are none (an empty machine) that readdir is all
 * it costs, never a call per tree. An entry is read as TreeFiles.read reads it: verified against its
 * id; one that does not verify is removed (the lay then keeps the bucket's in its place) and counts
 * as not kept.
 */
export class KeptTrees {
  private constructor(
    readonly dir: string,
    private readonly hash: HashAlgorithm,
    private readonly names: Set<string>,
  ) {}

  /** The trees kept in `dir` (none where it cannot be listed). */
  static async open(dir: string, hash: HashAlgorithm): Promise<KeptTrees> {
    const names = await readdir(dir).catch(() => [] as string[]);
    return new KeptTrees(dir, hash, new Set(names.filter(isBlobId)));
  }

  /** Whether tree `id` has an entry (read may still find it bad). */
  has(id: BlobId): boolean {
    return this.names.has(id);
  }

  /** Of `ids`, the trees kept here, each verified against its id. */
  async read(ids: readonly BlobId[]): Promise<Map<BlobId, Uint8Array>> {
    const out = new Map<BlobId, Uint8Array>();
    await mapLimit(ids.filter((id) => this.names.has(id)), READ_CONCURRENCY, async (id) => {
      const path = join(this.dir, id);
      const bytes = await readVerified(path, id, this.hash);
      if (bytes !== undefined) out.set(id, bytes);
      else {
        this.names.delete(id);
        await rm(path, { force: true }).catch(() => undefined);
      }
    });
    return out;
  }
}
