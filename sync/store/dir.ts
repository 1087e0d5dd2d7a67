/**
 * DirStore: an ObjectStore in a plain folder or a mounted share (SMB, NFS).
 *
 * Key `a/b/c` is the file `<root>/a/b/c`. What must hold, beyond the ObjectStore contract:
 *
 * - A put writes a temp file (`.strata-tmp-…`) in the target's own directory, fsyncs it, renames
 *   it over the target and fsyncs the directory, so a crash leaves the old object or the new one,
 *   never a prefix. Rename within one directory is the one atomic step shares reliably offer.
 * - Temp files are never visible: list skips them, and keys may not contain a component that
 *   looks like one. A crash leaves them behind: they are the store's partial uploads
 *   (listUploads), which gc removes once older than its grace period.
 * - Nothing escapes root: keys are validated, symlinks are neither listed nor followed. A folder
 *   of the layout that is a symlink (a `data/` moved to another disk) fails every operation that
 *   would pass it with E_PERMANENT naming it, listings included: writes, reads and listings must
 *   agree on what the store holds, and a link may lead anywhere.
 * - A key cannot be an object and a folder of other keys at once (`a` and `a/b`): that put fails
 *   with E_PERMANENT. Repository keys never nest that way. On case-insensitive file systems keys
 *   differing only in case collide, which content-hash keys (lowercase hex) never do.
 * - The root itself is never created: a missing root most likely means an unmounted share, and
 *   writing into the bare mount point would put the repository on the local disk.
 *
 * Key mapping and listing are in dir-keys.ts, the durable temp-file write in dir-write.ts, error
 * mapping in dir-errors.ts.
 */
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { StrataError } from '../errors.js';
import { TEMP_PREFIX, fsyncDir, isErrno, tempPathIn } from '../fsutil.js';
import { clipRange, notFound, type ByteRange, type ListOptions, type ObjectInfo, type ObjectStore, type PartialUpload, type PutBody } from './index.js';
import { mapFsError, withFsErrors, type FsOp } from './dir-errors.js';
import { keyPath, linkedFolder, walk } from './dir-keys.js';
import { writeDurably } from './dir-write.js';

const READ_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0);

export interface DirStoreOptions {
  /** How a folder is made durable (default fsyncDir); tests record the calls. */
  syncDir?: (dir: string) => Promise<void>;
}

export class DirStore implements ObjectStore {
  readonly location: string;
  readonly root: string;
  private readonly syncDir: (dir: string) => Promise<void>;
  /** Folders below root found to be real folders (not symlinks), remembered for the store's life. */
  private readonly realDirs = new Set<string>();

  constructor(root: string, opts: DirStoreOptions = {}) {
    this.root = resolve(root);
    this.location = pathToFileURL(this.root).href;
    this.syncDir = opts.syncDir ?? fsyncDir;
  }

  async put(key: string, body: PutBody): Promise<void> {
    const path = this.pathOf(key);
    const dir = this.pathOf(key, -1);
    await this.checkWay(key);
    const created = await this.ensureDir(key);
    const tmp = tempPathIn(dir);
    try {
      await writeDurably(tmp, key, body, this.location);
      await this.fs('put', key, () => rename(tmp, path));
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    // New directories must reach the disk too, or the renamed file may vanish with them: a
    // folder's entry lives in its parent, so the parent of each new folder is synced as well.
    for (const d of new Set([dir, ...created.reverse().map((c) => dirname(c))])) await this.fs('put', key, () => this.syncDir(d));
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    const fh = await this.openForRead(key);
    try {
      const r = await this.fs('get', key, () => regularSize(fh)).then((size) => span(key, size, range));
      const out = Buffer.allocUnsafe(r.length);
      let done = 0;
      while (done < r.length) {
        const { bytesRead } = await this.fs('get', key, () => fh.read(out, done, r.length - done, r.offset + done));
        if (bytesRead === 0) throw new StrataError('E_TRANSIENT', 'object shrank while being read', { key });
        done += bytesRead;
      }
      return out;
    } finally {
      await fh.close().catch(() => undefined);
    }
  }

  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    const fh = await this.openForRead(key);
    let r: ByteRange;
    try {
      r = span(key, await this.fs('get', key, () => regularSize(fh)), range);
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
    if (r.length === 0) {
      await fh.close().catch(() => undefined);
      return Readable.from([]);
    }
    const raw = fh.createReadStream({ start: r.offset, end: r.offset + r.length - 1, autoClose: true });
    const mapError = (err: unknown): unknown => this.mapError(err, 'get', key);
    // Errors half-way through a read must carry a store code like any other failure.
    return Readable.from(
      (async function* () {
        try {
          for await (const chunk of raw) yield chunk as Buffer;
        } catch (err) {
          throw mapError(err);
        } finally {
          raw.destroy();
        }
      })(),
    );
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const path = this.pathOf(key);
    await this.checkWay(key);
    try {
      const st = await lstat(path);
      return st.isFile() ? { key, size: st.size } : undefined;
    } catch (err) {
      if (isErrno(err, 'ENOENT', 'ENOTDIR')) {
        await this.checkRoot(key);
        return undefined;
      }
      throw this.mapError(err, 'head', key);
    }
  }

  /** `startAfter` skips whole folders that sort before it. */
  async *list(prefix: string, opts: ListOptions = {}): AsyncIterable<ObjectInfo> {
    await this.checkRoot(prefix);
    const cut = prefix.lastIndexOf('/');
    const base = cut < 0 ? '' : prefix.slice(0, cut);
    if (base !== '') {
      try {
        this.pathOf(base);
      } catch {
        return; // no valid key can start with this prefix
      }
      await this.checkFolders(base.split('/'), prefix);
    }
    yield* walk({ root: this.root, location: this.location, prefix, after: opts.startAfter ?? '' }, base);
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    await this.checkWay(key);
    try {
      await unlink(path);
    } catch (err) {
      if (isErrno(err, 'ENOENT', 'ENOTDIR')) return;
      // A directory under that name is not an object, so there is nothing to delete.
      if (isErrno(err, 'EISDIR', 'EPERM') && (await lstat(path).catch(() => undefined))?.isDirectory()) return;
      throw this.mapError(err, 'delete', key);
    }
  }

  /**
   * A put killed between its temp file and the rename leaves the temp file: the folder store's
   * partial upload (key: its path under root, uploadId: its name, started: when it was last
   * written). gc removes those older than its grace period: a put writes its temp file until the
   * rename, so one still being written is young.
   */
  async *listUploads(prefix: string): AsyncIterable<PartialUpload> {
    await this.checkRoot(prefix);
    const mapError = (err: unknown): unknown => this.mapError(err, 'list', prefix);
    const visit = async function* (dir: string, rel: string): AsyncGenerator<PartialUpload> {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isErrno(err, 'ENOENT', 'ENOTDIR')) return;
        throw mapError(err);
      }
      for (const e of entries) {
        const key = rel === '' ? e.name : `${rel}/${e.name}`;
        if (e.isDirectory() && (key.startsWith(prefix) || prefix.startsWith(`${key}/`))) yield* visit(join(dir, e.name), key);
        else if (e.isFile() && e.name.startsWith(TEMP_PREFIX) && key.startsWith(prefix)) {
          const st = await lstat(join(dir, e.name)).catch(() => undefined);
          if (st) yield { key, uploadId: e.name, started: Math.floor(st.mtimeMs) };
        }
      }
    };
    yield* visit(this.root, '');
  }

  /** Removes the temp file an upload names; one that is gone, or no temp file of this store, leaves nothing to remove. */
  async abortUpload(upload: PartialUpload): Promise<void> {
    const cut = upload.key.lastIndexOf('/');
    const name = upload.key.slice(cut + 1);
    if (name !== upload.uploadId || !name.startsWith(TEMP_PREFIX) || name.includes('\\')) return;
    const dir = cut < 0 ? this.root : this.pathOf(upload.key.slice(0, cut));
    await this.checkWay(upload.key);
    try {
      await unlink(join(dir, name));
    } catch (err) {
      if (isErrno(err, 'ENOENT', 'ENOTDIR')) return;
      throw this.mapError(err, 'delete', upload.key);
    }
  }

  private async openForRead(key: string): Promise<FileHandle> {
    const path = this.pathOf(key);
    await this.checkWay(key);
    try {
      return await open(path, READ_FLAGS);
    } catch (err) {
      // ELOOP: the key is a symlink, which this store never writes and never follows.
      if (isErrno(err, 'ENOENT', 'ENOTDIR', 'ELOOP', 'EISDIR')) {
        await this.checkRoot(key);
        throw notFound(key, this.location);
      }
      throw this.mapError(err, 'get', key);
    }
  }

  /** Create the key's parent directories below root; returns the ones created, outermost first. */
  private async ensureDir(key: string): Promise<string[]> {
    const parts = key.split('/').slice(0, -1);
    const created: string[] = [];
    for (let i = 1; i <= parts.length; i++) {
      const dir = join(this.root, ...parts.slice(0, i));
      try {
        await mkdir(dir);
        created.push(dir);
        this.realDirs.add(dir);
      } catch (err) {
        if (isErrno(err, 'EEXIST')) continue;
        if (isErrno(err, 'ENOENT') && i === 1) await this.checkRoot(key);
        throw this.mapError(err, 'put', key);
      }
    }
    return created;
  }

  /** checkFolders for the folders on the way to `key`. */
  private async checkWay(key: string): Promise<void> {
    await this.checkFolders(key.split('/').slice(0, -1), key);
  }

  /**
   * Refuses the folder `parts` (relative to root, outermost first) if one of its folders is a
   * symlink; what is missing or not a folder is left for the operation itself to report.
   */
  private async checkFolders(parts: readonly string[], key: string): Promise<void> {
    let dir = this.root;
    for (const part of parts) {
      dir = join(dir, part);
      if (this.realDirs.has(dir)) continue;
      const st = await lstat(dir).catch(() => undefined);
      if (st?.isSymbolicLink()) throw linkedFolder(dir, key);
      if (!st?.isDirectory()) return;
      this.realDirs.add(dir);
    }
  }

  private async checkRoot(key: string): Promise<void> {
    const st = await lstat(this.root).catch(() => undefined);
    if (!st?.isDirectory()) {
      throw new StrataError('E_PERMANENT', `store folder ${this.root} is missing or not a folder (unmounted share?)`, { key });
    }
  }

  private pathOf(key: string, drop = 0): string {
    return keyPath(this.root, key, drop);
  }

  private async fs<T>(op: FsOp, key: string, fn: () => Promise<T>): Promise<T> {
    return withFsErrors(op, key, this.location, fn);
  }

  private mapError(err: unknown, op: FsOp, key: string): unknown {
    return mapFsError(err, op, key, this.location);
  }
}

async function regularSize(fh: FileHandle): Promise<number> {
  const st = await fh.stat();
  if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
  return st.size;
}

function span(key: string, size: number, range: ByteRange | undefined): ByteRange {
  return range ? clipRange(key, size, range) : { offset: 0, length: size };
}
