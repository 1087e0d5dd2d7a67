/**
 * The index objects a reader loaded or wrote, kept on this machine between runs (`<dir>/<id>`, each
 * file an index object's bytes as the bucket holds them), so that a repeat sign-in and an agent start fetch
 * only the indexes written since: on an organisation's repository they are tens of MiB, which every
 * reader would otherwise fetch whole each time (indexload.ts). A Repository given `keptIndexes`
 * keeps them in a folder of its own there (repository.ts).
 *
 * Must hold:
 * - the disk is trusted no more than the bucket: an index is read from here only where the bucket
 *   lists its key, only once its bytes hash to its id (kept-files.ts), and it is then decoded and
 *   validated as a fetched one (indexload.ts); a file that fails either is removed and the index
 *   fetched;
 * - the files only ever save requests: a failure to list, read, write or remove one costs at most
 *   the GET it would have saved, never a load. The folder is made at the first write, so a machine
 *   that keeps none (a VDI desktop wiped at sign-out) pays one failed readdir;
 * - bounded by the bucket: once a load's listings all completed, the files it found at its start
 *   whose index is no longer listed (gc deleted it, e.g. after a consolidation superseded it) are
 *   removed. A file another reader wrote meanwhile stays, for an index this load may have listed
 *   before it was written.
 *
 * gc and check never read from here: they must see the bucket as it is.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isBlobId, type HashAlgorithm } from '../chunker/hash.js';
import { makeDirs } from '../fsutil.js';
import { readVerified, removeLeftoverTemps, writeWhole } from './kept-files.js';
import { forEachLimit } from './pool.js';

/** Files removed at once. */
const CONCURRENCY = 8;

/** The id of index key `index/<id>`, or undefined for a key that names none (no file may be made of it). */
function idOf(key: string): string | undefined {
  const id = key.startsWith('index/') ? key.slice('index/'.length) : undefined;
  return isBlobId(id) ? id : undefined;
}

export class IndexFiles {
  private made = false;

  private constructor(
    readonly dir: string,
    private readonly hash: HashAlgorithm,
    /** The ids of the files found at open, less those removed since. */
    private readonly found: Set<string>,
    /** The listing at open, temps included. */
    private readonly names: readonly string[],
  ) {}

  /** The index files kept in `dir` (none where it cannot be listed). */
  static async open(dir: string, hash: HashAlgorithm): Promise<IndexFiles> {
    const names = await readdir(dir).catch(() => [] as string[]);
    return new IndexFiles(dir, hash, new Set(names.filter(isBlobId)), names);
  }

  /** For keeping the indexes a writer wrote (Repository.flush): it knows of no file there, and lists none. */
  static writing(dir: string, hash: HashAlgorithm): IndexFiles {
    return new IndexFiles(dir, hash, new Set(), []);
  }

  /** The bytes of index `key` if a file holds them, verified against its id; a file that does not is removed. */
  async read(key: string): Promise<Uint8Array | undefined> {
    const id = idOf(key);
    if (id === undefined || !this.found.has(id)) return undefined;
    const bytes = await readVerified(join(this.dir, id), id, this.hash);
    if (bytes === undefined) await this.drop(key);
    return bytes;
  }

  /** Removes the file of index `key` (one whose bytes hash right but are no valid index). */
  async drop(key: string): Promise<void> {
    const id = idOf(key);
    if (id === undefined) return;
    this.found.delete(id);
    await rm(join(this.dir, id), { force: true }).catch(() => undefined);
  }

  /** Keeps index `key` (`bytes` must be its bytes, validated) unless that fails. */
  async write(key: string, bytes: Uint8Array): Promise<void> {
    const id = idOf(key);
    if (id === undefined) return;
    if (!this.made) {
      await makeDirs(this.dir, 0o700).catch(() => undefined);
      this.made = true;
    }
    await writeWhole(this.dir, id, bytes, 'index');
  }

  /** Removes the files found at open whose index `listed` (a complete listing's keys) lacks, and the temps of writers gone. */
  async prune(listed: ReadonlySet<string>): Promise<void> {
    const gone = [...this.found].filter((id) => !listed.has(`index/${id}`));
    await forEachLimit(gone, CONCURRENCY, (id) => this.drop(`index/${id}`));
    await removeLeftoverTemps(this.dir, this.names);
  }
}
