/**
 * Assembly: files being put together in temp files beside their targets.
 *
 * What must hold:
 * - A target path only ever changes by one rename (or hard link, see Placing) of a complete temp
 *   file whose mode and mtime are already set; a crash leaves the old file or the new one plus a
 *   `.strata-tmp-` file. With `placing`, only what the restore's walk saw at the path is replaced:
 *   a path it saw empty takes the file by a link, which fails where something appeared since, and
 *   one it saw holding a file is looked at (lstat) just before the rename; anything else there is
 *   kept aside first (placing.keep). Before
 *   the rename, the temp file is (Durability):
 *   - `each`: fsynced;
 *   - `batched`: made durable, when the rename replaces a file (`replacing`), by a barrier the
 *     caller gives (a syncfs) that covers many: such files wait, sealed, until `flush`, which runs
 *     the barrier and then their renames (at most FLUSH_BYTES of them, so a restore of large files
 *     never holds many versions twice). A file going where nothing was is renamed at once: the
 *     caller syncs before the restore returns, and what a crash before then leaves at its path (a
 *     file empty or short) was nothing of the user's, and a rerun, reading it, writes it again;
 *   - `none`: neither; the caller syncs the whole file system itself (see index.ts).
 * - Chunks may arrive in any order and are written at their offsets, each place once, into a temp
 *   created empty: runs of zeros are left as holes (sparse.ts), so a sparse file takes blocks for
 *   its data only. Every place is written before `finish`; a file whose writes skipped zeros gets
 *   its size set (ftruncate) when sealed, as zeros at its end were never written.
 * - Open handles are bounded (least recently used idle handles are closed and reopened later).
 * - Temp files are created exclusively (O_EXCL, no follow): never through a planted link. They are
 *   created with the file's own mode, so that where the umask leaves it whole (0644 under 022: most
 *   files) no fchmod is needed; where it does not, the mode is set before the rename as always.
 *
 * - A failing call on a temp's descriptor (write, fsync…: Node names no path) names the file it
 *   is assembling (onFile).
 *
 * A file whose whole content arrives at once (one chunk: most small files) is written by
 * `writeWhole` in one synchronous step instead of a thread-pool round trip per call.
 */
import { closeSync, constants, fchmodSync, fsyncSync, ftruncateSync, futimesSync, openSync, renameSync, type Stats } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { lstatNow, placeNewSync, readlinkNow, replaceWith } from './fsutil.js';
import { NOFOLLOW, TempNames, onFile, onFileSync, renameNoReplace } from '../fsutil.js';
import { sameMtime } from './meta.js';
import type { Found } from './seed.js';
import { writeSparse, writeSparseSync } from '../sparse.js';
import type { PlannedFile, PlannedLink } from './types.js';

/** setuid/setgid bits from a bucket are never restored: they would be a privilege gift. */
export const MODE_MASK = 0o1777;

/** The process's umask, read once: open() creates a file with mode & ~umask. */
let umask: number | undefined;

/**
 * The mode a temp file is created with — the file's own, owner read-write while it is assembled (it
 * may be reopened) — and whether creating it so already gives the file its mode.
 */
function createMode(entryMode: number): { create: number; final: number; exact: boolean } {
  umask ??= process.umask();
  const final = entryMode & MODE_MASK;
  const create = final | 0o600;
  // The umask applies to permission bits only; a sticky bit goes through fchmod.
  return { create, final, exact: final <= 0o777 && (create & ~umask) === final };
}

interface Slot {
  tmp: string;
  /** The temp file's mode at creation, the file's own, and whether the first already is the second. */
  createMode: number;
  mode: number;
  modeExact: boolean;
  created: boolean;
  /** Whether a write left out zeros: the size is then set when sealing. */
  holes: boolean;
  sealed: boolean;
  fh: Promise<FileHandle> | undefined;
  busy: number;
}

/** How a file is made durable before its rename (see the header). */
export type Durability =
  | { mode: 'each' }
  | { mode: 'batched'; replacing: ReadonlySet<PlannedFile>; barrier: () => Promise<void> }
  | { mode: 'none' };

/**
 * How a file is put at its path when what is there may be someone else's since the restore's walk
 * (see the header). Without it, the rename replaces whatever is there (the snapshot wins).
 */
export interface Placing {
  /**
   * What the walk saw at the file's path (seed.ts Found), or nothing. `there`: something is at the
   * path now, which on a case-insensitive disk may be what the walk saw under a name differing in
   * case (looked for only then).
   */
  found(file: PlannedFile | PlannedLink, there: boolean): Found | undefined;
  /** Moves `st`, found at the file's (or a link's, a folder's: meta.ts, fsutil.ts) path and not what the walk saw there, aside (a conflict copy). */
  keep(file: { rel: string; path: string }, st: Stats): Promise<void>;
}

/**
 * Whether `now`, at `path`, is still what the walk saw (`found`): a regular file of the same size,
 * mtime and mode, as live sync checks a file before replacing it (exec/check.ts) — not the inode,
 * which a FUSE disk (exFAT) numbers anew for a name differing in case, nor the ctime, which a
 * restore keeping a copy by a hard link changes itself (aside.ts) — a link to the same target (one
 * to another is someone's link, swapped in since), or again something else that is no link (a FIFO…).
 */
export function stillFound(found: Found, now: Stats, path: string): boolean {
  if (found === 'other') return !now.isFile() && !now.isDirectory() && !now.isSymbolicLink();
  if ('link' in found) return now.isSymbolicLink() && readlinkNow(path) === found.link;
  return now.isFile() && now.size === found.size && sameMtime(now, found.mtimeMs) && (now.mode & 0o7777) === (found.mode & 0o7777);
}

/** Bytes of sealed files that may wait for a barrier before their renames (`batched`). */
export const FLUSH_BYTES = 64 * 1024 * 1024;

export class Assembly {
  /** Folders whose entries changed; the caller fsyncs each once at the end. */
  readonly dirtyDirs = new Set<string>();
  private readonly slots = new Map<PlannedFile, Slot>();
  /** Files with an open handle, least recently used first. */
  private readonly lru = new Set<PlannedFile>();
  /** Sealed files waiting for the barrier before their renames (`batched`), and their bytes. */
  private waiting: PlannedFile[] = [];
  private waitingBytes = 0;
  private readonly syncEach: boolean;

  constructor(
    private readonly maxOpen = 64,
    private readonly durability: Durability = { mode: 'each' },
    private readonly temps = new TempNames(),
    private readonly placing?: Placing,
  ) {
    this.syncEach = durability.mode === 'each';
  }

  /** Whether `file`'s rename waits for the barrier (`batched`, replacing a file). */
  private waits(file: PlannedFile): boolean {
    return this.durability.mode === 'batched' && this.durability.replacing.has(file);
  }

  /**
   * Creates, fills, seals and renames a file whose whole content is `data`, with synchronous calls:
   * each takes microseconds, and a thread-pool round trip per call cost three times as much for
   * 20,000 small files. Writer threads making the same calls, batched, measured slower: the sign-in
   * bench's ready files took 2.7 s this way and 3.0–3.6 s with one or two writers (2 cores, shared
   * with the server; the main thread is not what sets the pace). True when the file is in place;
   * a rename that fails (a folder in the way), or one that waits for the barrier, leaves a sealed
   * temp file for `finish`.
   */
  writeWhole(file: PlannedFile, data: Uint8Array): boolean {
    const slot = this.newSlot(file);
    let fd: number;
    try {
      fd = openSync(slot.tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, slot.createMode);
    } catch (err) {
      this.slots.delete(file);
      throw err;
    }
    slot.created = true;
    try {
      onFileSync(file.path, () => {
        if (writeSparseSync(fd, data, 0)) ftruncateSync(fd, data.byteLength);
        if (!slot.modeExact) fchmodSync(fd, slot.mode);
        futimesSync(fd, file.entry.mtimeMs / 1000, file.entry.mtimeMs / 1000);
        if (this.syncEach) fsyncSync(fd);
      });
    } finally {
      closeSync(fd);
    }
    slot.sealed = true;
    if (this.waits(file) || !this.placeSync(file, slot.tmp)) return false;
    this.slots.delete(file);
    this.dirtyDirs.add(dirname(file.path));
    return true;
  }

  async write(file: PlannedFile, offset: number, data: Uint8Array): Promise<void> {
    const fh = await this.acquire(file);
    try {
      if (await onFile(file.path, () => writeSparse(fh, data, offset))) (this.slots.get(file) as Slot).holes = true;
    } finally {
      this.release(file);
    }
  }

  /**
   * Completes a fully written temp file without renaming it: mode and mtime, then fsync (so one
   * fsync makes all of it durable), then close. The seed phase seals files it completed, so that
   * their handles are not reopened later only to finish them.
   */
  async seal(file: PlannedFile): Promise<void> {
    if (this.slots.get(file)?.sealed) return;
    const fh = await this.acquire(file);
    const slot = this.slots.get(file) as Slot;
    try {
      await onFile(file.path, async () => {
        if (slot.holes) await fh.truncate(file.entry.size);
        if (!slot.modeExact) await fh.chmod(slot.mode);
        const mtime = file.entry.mtimeMs / 1000;
        await fh.utimes(mtime, mtime);
        if (this.syncEach) await fh.sync();
      });
    } finally {
      this.release(file);
      await this.close(file);
    }
    slot.sealed = true;
  }

  /** seal, then the rename over the target: at once, or after the barrier (`flush`). */
  async finish(file: PlannedFile): Promise<void> {
    await this.seal(file);
    if (!this.waits(file)) return this.rename(file);
    this.waiting.push(file);
    this.waitingBytes += file.entry.size;
    if (this.waitingBytes >= FLUSH_BYTES) await this.flush();
  }

  /** Runs the barrier, then the renames of the files finished before it (`batched`). */
  async flush(): Promise<void> {
    if (this.durability.mode !== 'batched' || this.waiting.length === 0) return;
    const files = this.waiting;
    this.waiting = [];
    this.waitingBytes = 0;
    await this.durability.barrier();
    for (const file of files) await this.rename(file);
  }

  private async rename(file: PlannedFile): Promise<void> {
    const slot = this.slots.get(file) as Slot;
    await this.place(file, slot.tmp);
    this.slots.delete(file);
    this.dirtyDirs.add(dirname(file.path));
  }

  /**
   * Puts the sealed temp `tmp` at `file`'s path with synchronous calls; false when that takes more
   * (a rename that fails: a folder in the way; with `placing`, something there the walk did not
   * see), left to `place`. A path the walk saw empty costs a link and an unlink, no lstat.
   */
  private placeSync(file: PlannedFile, tmp: string): boolean {
    const found = this.placing?.found(file, false);
    try {
      if (this.placing === undefined) renameSync(tmp, file.path);
      else if (found === undefined) return placeNewSync(tmp, file.path);
      else {
        const now = lstatNow(file.path);
        if (now === undefined || !stillFound(found, now, file.path)) return false;
        renameSync(tmp, file.path);
      }
    } catch {
      return false;
    }
    return true;
  }

  /**
   * Puts the sealed temp `tmp` at `file`'s path. With `placing`, only what the walk saw there is
   * replaced; anything else (made or changed there since, a folder made there) is kept aside first,
   * and where nothing is, the file goes in without replacing what may appear meanwhile (renameNoReplace).
   * What the walk saw may still change between the lstat and the rename: Node has no
   * renameat2(RENAME_EXCHANGE) to close that window of one call.
   */
  private async place(file: PlannedFile, tmp: string): Promise<void> {
    if (this.placing === undefined) return replaceWith(tmp, file.path);
    for (;;) {
      const now = lstatNow(file.path);
      if (now === undefined) {
        if (await renameNoReplace(tmp, file.path)) return;
        continue;
      }
      const found = this.placing.found(file, true);
      if (found !== undefined && stillFound(found, now, file.path)) return rename(tmp, file.path);
      await this.placing.keep(file, now);
    }
  }

  /** Closes every handle and removes every unfinished temp file (after a failure or an abort), those waiting for the barrier too. */
  async discardAll(): Promise<void> {
    this.waiting = [];
    this.waitingBytes = 0;
    for (const [file, slot] of this.slots) {
      await this.close(file).catch(() => undefined);
      if (slot.created) await unlink(slot.tmp).catch(() => undefined);
    }
    this.slots.clear();
  }

  private async acquire(file: PlannedFile): Promise<FileHandle> {
    const slot = this.slots.get(file) ?? this.newSlot(file);
    slot.busy++;
    this.lru.delete(file);
    this.lru.add(file);
    if (!slot.fh) {
      slot.fh = this.openSlot(slot);
      slot.fh.catch(() => undefined);
      await this.evictIdle();
    }
    return slot.fh;
  }

  private newSlot(file: PlannedFile): Slot {
    const { create, final, exact } = createMode(file.entry.mode);
    const tmp = this.temps.in(dirname(file.path));
    const slot: Slot = { tmp, createMode: create, mode: final, modeExact: exact, created: false, holes: false, sealed: false, fh: undefined, busy: 0 };
    this.slots.set(file, slot);
    return slot;
  }

  private release(file: PlannedFile): void {
    const slot = this.slots.get(file);
    if (slot) slot.busy--;
  }

  private async openSlot(slot: Slot): Promise<FileHandle> {
    if (slot.created) return open(slot.tmp, constants.O_RDWR | NOFOLLOW);
    slot.created = true;
    return open(slot.tmp, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, slot.createMode);
  }

  private async close(file: PlannedFile): Promise<void> {
    const slot = this.slots.get(file);
    this.lru.delete(file);
    if (!slot?.fh) return;
    const fh = slot.fh;
    slot.fh = undefined;
    await (await fh).close();
  }

  private async evictIdle(): Promise<void> {
    if (this.lru.size <= this.maxOpen) return;
    for (const file of this.lru) {
      if (this.lru.size <= this.maxOpen) break;
      if ((this.slots.get(file)?.busy ?? 0) === 0) await this.close(file);
    }
  }
}
