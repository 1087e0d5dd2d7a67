/**
 * File-system primitives every part of the engine that writes to disk shares: the store's folder
 * backend, restore, the executor and the local state. One definition each, so that what counts
 * as a temp file, what "durable" means, and how a user's file is opened to be read (openRegular)
 * is the same everywhere.
 */
import { execFile } from 'node:child_process';
import { closeSync, constants, fstatSync, openSync, type Stats, type WriteFileOptions } from 'node:fs';
import { link, lstat, mkdir, open, readlink, rename, rmdir, stat, symlink, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isStrataError, StrataError } from './errors.js';
import { TEMP_NAME_BYTES } from './temps.js';

// Temp names and when one is a leftover: temps.ts. Re-exported, as every writer here uses them.
export { TEMP_NAME_BYTES, TEMP_PREFIX, TempNames, tempName, tempPathIn } from './temps.js';

/**
 * The bytes of the longest path a file-system call takes, its terminating NUL counted (PATH_MAX:
 * 4,096 on Linux, 1,024 on macOS; Node gives Windows long paths itself). A longer one fails with
 * ENAMETOOLONG however it is named.
 */
export const PATH_MAX = process.platform === 'darwin' ? 1024 : process.platform === 'win32' ? Infinity : 4096;

/** The absolute path of the layer path `rel` (`/`-separated) under `root`. */
export function layerPath(root: string, rel: string): string {
  return join(root, ...rel.split('/'));
}

/**
 * Whether the layer path `rel` can be laid under `root` on this machine (fitsHere). A machine whose
 * root is higher up may sync paths that do not fit here.
 */
export function fitsUnder(root: string, rel: string): boolean {
  // A UTF-16 unit is at most 3 bytes of UTF-8: most paths are known to fit without counting.
  if ((root.length + rel.length + TEMP_NAME_BYTES + 2) * 3 < PATH_MAX) return true;
  return fitsHere(layerPath(root, rel));
}

/**
 * Whether a file, link or folder can be laid at `abs`: its path, and that of a temp beside it
 * (tempPathIn: how files and links are written; its longest name, whatever the pid), are shorter
 * than PATH_MAX. What is too long is so at every path under it too.
 */
export function fitsHere(abs: string): boolean {
  // As in fitsUnder: most paths fit whatever their characters (a restore asks for every entry).
  if ((abs.length + 1 + TEMP_NAME_BYTES) * 3 < PATH_MAX) return true;
  return Math.max(Buffer.byteLength(abs), Buffer.byteLength(dirname(abs)) + 1 + TEMP_NAME_BYTES) < PATH_MAX;
}

/** `open` flag that refuses to follow a symlink in the last path component (0 where unknown). */
export const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/**
 * `open` flags for reading a user's file that a check (lstat, a listing) saw as a regular file: what
 * stands at the path now may have been swapped since. A FIFO must not hang the open until a writer
 * comes (O_NONBLOCK; Windows has neither FIFOs in a folder nor the flag), and a link must not be
 * followed out of the folder (NOFOLLOW).
 */
const READ_REGULAR = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | NOFOLLOW;

/** What openRegular throws where no regular file stands: code ENOTREG, as an errno error. */
function notRegular(path: string): NodeJS.ErrnoException {
  return Object.assign(new Error('not a regular file (a FIFO, device or folder now stands at its path)'), { code: 'ENOTREG', path });
}

/**
 * Opens for reading what is at `path` only if it is a regular file (READ_REGULAR, then fstat); a
 * link there fails with ELOOP, anything else with ENOTREG. Every read of a user's file by path
 * goes through this or openRegularSync.
 */
export async function openRegular(path: string): Promise<FileHandle> {
  const fh = await open(path, READ_REGULAR);
  let regular = false;
  try {
    regular = (await fh.stat()).isFile();
    if (!regular) throw notRegular(path);
    return fh;
  } finally {
    if (!regular) await fh.close();
  }
}

/** openRegular on the calling thread: the descriptor, and its fstat for the caller's own checks. */
export function openRegularSync(path: string): { fd: number; st: Stats } {
  const fd = openSync(path, READ_REGULAR);
  let st: Stats | undefined;
  try {
    st = fstatSync(fd);
    if (!st.isFile()) throw notRegular(path);
    return { fd, st };
  } finally {
    if (!st?.isFile()) closeSync(fd);
  }
}

export function isErrno(err: unknown, ...codes: string[]): boolean {
  const code = (err as NodeJS.ErrnoException | null | undefined)?.code;
  return typeof code === 'string' && codes.includes(code);
}

/**
 * An errno error of a call on a descriptor (write, fsync, ftruncate, futimes, fchmod, read: Node
 * names no path in those) as the same error naming `path`, the file it was about, in the form Node
 * gives a call by path ("ENOSPC: no space left on device, write '/a/b'"): its code, errno and
 * syscall stay (isErrno), and describeError shows the path. Any other error, or one that names a
 * path already, is returned as it is.
 */
export function namingPath(err: unknown, path: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (!(err instanceof Error) || typeof e.code !== 'string' || e.path !== undefined) return err;
  const call = e.syscall === undefined ? '' : `, ${e.syscall} '${path}'`;
  const what = e.message.endsWith(`, ${e.syscall}`) ? e.message.slice(0, -`, ${e.syscall}`.length) : e.message;
  return Object.assign(new Error(`${what}${call}`, { cause: err }), { code: e.code, errno: e.errno, syscall: e.syscall, path });
}

/** Runs `fn`, calls on a descriptor of the file at `path`, its errno errors naming `path` (namingPath). */
export async function onFile<T>(path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw namingPath(err, path);
  }
}

/**
 * fs.promises.writeFile, its errors naming `path`: it writes through a descriptor, so a failed write
 * ("ENOSPC: no space left on device, write") names no file.
 */
export async function writeFileNamed(path: string, data: string | Uint8Array, options?: WriteFileOptions): Promise<void> {
  await onFile(path, () => writeFile(path, data, options));
}

/** onFile for synchronous calls. */
export function onFileSync<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw namingPath(err, path);
  }
}

/**
 * `mkdir -p` without Node's `recursive: true`, which never returns where a parent exists but
 * refuses new entries with ENOENT (anywhere under /proc on Linux: it makes the parent, gets EEXIST,
 * and retries the child forever). Each missing folder is tried once, parents first, and a failure
 * is mkdir's own error (ENOENT, EACCES, ENOTDIR…); an existing folder, or a link to one, is fine,
 * and anything else there fails with EEXIST.
 */
export async function makeDirs(path: string, mode?: number): Promise<void> {
  try {
    await mkdir(path, mode);
    return;
  } catch (err) {
    if (isErrno(err, 'EEXIST')) {
      if ((await stat(path).catch(() => undefined))?.isDirectory()) return;
      throw err;
    }
    if (!isErrno(err, 'ENOENT') || dirname(path) === path) throw err;
  }
  await makeDirs(dirname(path), mode);
  await mkdir(path, mode);
}

/**
 * makeDirs, and each folder it made fsynced into its parent: a file made durable in a new folder
 * (writeFileAtomic fsyncs only the folder it is in) is lost with the folder's own entry otherwise.
 */
export async function makeDirsDurably(path: string, mode?: number): Promise<void> {
  const missing: string[] = [];
  for (let p = path; dirname(p) !== p && (await lstat(p).catch(() => undefined)) === undefined; p = dirname(p)) missing.push(p);
  await makeDirs(path, mode);
  for (const p of missing) await fsyncDir(dirname(p));
}

/**
 * fsyncs a directory so that a rename or a new entry in it survives a crash. Windows cannot open a
 * directory as a file (NTFS journals the rename itself), and some file systems cannot sync one or
 * refuse to open it; there the rename is as durable as the platform allows, so those errors pass.
 * A dir that is gone by now (removed, or a user put a file where one of its ancestors was) has
 * nothing left to make durable.
 */
export async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  let fh;
  try {
    fh = await open(dir, constants.O_RDONLY | NOFOLLOW);
    const opened = fh;
    await onFile(dir, () => opened.sync());
  } catch (err) {
    if (!unsyncableDir(err)) throw err;
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/** fsyncDir through a descriptor already open on the folder: the same errors pass. */
export async function syncDirHandle(fh: FileHandle): Promise<void> {
  if (process.platform === 'win32') return;
  try {
    await fh.sync();
  } catch (err) {
    if (!unsyncableDir(err)) throw err;
  }
}

function unsyncableDir(err: unknown): boolean {
  return isErrno(err, 'EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'EISDIR', 'EBADF', 'EPERM', 'EACCES', 'ENOENT', 'ENOTDIR', 'ELOOP');
}

/**
 * Writes all of `data` at `position`: a write may take fewer bytes than asked (POSIX allows it),
 * and the rest would be left a gap of zeros.
 */
export async function writeAll(fh: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.byteLength) {
    const { bytesWritten } = await fh.write(data, done, data.byteLength - done, position + done);
    done += bytesWritten;
  }
}

/**
 * fsyncs the file at `path` (a link there is not followed: ELOOP). A FIFO, socket or device there
 * has no bytes of its own to make durable (its entry is its folder's): it is opened without
 * waiting for a writer (O_NONBLOCK) and left as it is.
 */
export async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | NOFOLLOW);
  try {
    const st = await fh.stat();
    if (st.isFile() || st.isDirectory()) await onFile(path, () => fh.sync());
  } finally {
    await fh.close();
  }
}

/**
 * Whether syncFileSystem works here: Linux, through coreutils' `sync --file-system` (syncfs(2);
 * Node has no binding for it). Elsewhere a writer must fsync file by file.
 */
export function canSyncFileSystem(): boolean {
  return process.platform === 'linux';
}

/** Makes everything written to the file system holding `path` durable (syncfs), or fails. */
export async function syncFileSystem(path: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    execFile('sync', ['--file-system', path], (err, _stdout, stderr) => {
      if (!err) return resolve();
      const why = stderr.trim().split('\n')[0] || err.message;
      reject(new StrataError('E_SYNC_FS', `could not sync the file system: ${why}`, { path }, { cause: err }));
    });
  });
}

/**
 * syncFileSystem, or false where it fails: the call missing (ENOSYS), a sync(1) without
 * --file-system (coreutils before 8.24) or none, an error of the disk. The writer then fsyncs its
 * own files and folders one by one, whose errors are about them alone.
 */
export async function trySyncFileSystem(path: string): Promise<boolean> {
  try {
    await syncFileSystem(path);
    return true;
  } catch (err) {
    if (isStrataError(err, 'E_SYNC_FS')) return false;
    throw err;
  }
}

/**
 * Renames `from` to `to` unless something is at `to` (then false, and nothing moved). A plain
 * rename replaces a file there, and a folder replaces an empty folder there, so checking the name
 * first leaves a window in which whatever appears there is lost. Node has no renameat2 NOREPLACE:
 * a file is hard-linked to `to` (link refuses a name that is taken) and then unlinked from `from`,
 * a link is made again at `to` (symlink refuses too); a folder, or a file where the file system
 * has no hard links, claims the name instead by creating it exclusively (a folder, an empty file:
 * the kinds rename may replace), and the rename then replaces only that claim.
 *
 * Must hold: a process cut off between the two steps of a file or a link leaves the entry whole
 * under both names, never an empty file under `to` that sync would take for the user's; moving it
 * again to `to` finishes the move (finishMove). The claim of a folder, or on a file system without hard
 * links, may still be left empty by a crash.
 */
export async function renameNoReplace(from: string, to: string): Promise<boolean> {
  const st = await lstat(from);
  try {
    if (st.isDirectory()) return await claimAndRename(from, to, true);
    if (st.isSymbolicLink() && process.platform !== 'win32') await symlink(await readlink(from), to);
    else if (!(await linkUnlessUnsupported(from, to))) return await claimAndRename(from, to, false);
  } catch (err) {
    if (!isErrno(err, 'EEXIST')) throw err;
    return await finishMove(from, to);
  }
  await unlink(from);
  return true;
}

/**
 * Ends a move of renameNoReplace that was cut off after its first step, where `to` is already
 * `from` (sameEntry): removes `from` and returns true. False, and nothing changed, otherwise.
 */
export async function finishMove(from: string, to: string): Promise<boolean> {
  if (!(await sameEntry(from, to))) return false;
  await unlink(from);
  return true;
}

/**
 * link(from, to), or false where the file system (or this file) takes no hard link: a FAT disk, a
 * share, too many links; or `to` on another mount (EXDEV), which the rename then says.
 */
async function linkUnlessUnsupported(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
    return true;
  } catch (err) {
    if (isErrno(err, 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK', 'EXDEV')) return false;
    throw err;
  }
}

/**
 * Whether `to` is already `from`, as a move of renameNoReplace cut off after its first step
 * leaves it: the same file (hard-linked), or a link with the same target.
 */
async function sameEntry(from: string, to: string): Promise<boolean> {
  const [a, b] = await Promise.all([lstat(from), lstat(to).catch(() => undefined)]);
  if (b === undefined) return false;
  if (a.isSymbolicLink() && b.isSymbolicLink()) return (await readlink(from)) === (await readlink(to));
  return a.isFile() && a.dev === b.dev && a.ino === b.ino;
}

/** renameNoReplace by claiming `to` (a folder for a folder, else an empty file), then renaming over the claim. */
async function claimAndRename(from: string, to: string, dir: boolean): Promise<boolean> {
  try {
    if (dir) await mkdir(to);
    else await (await open(to, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | NOFOLLOW)).close();
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    throw err;
  }
  try {
    await rename(from, to);
  } catch (err) {
    await (dir ? rmdir(to) : unlink(to)).catch(() => undefined);
    throw err;
  }
  return true;
}
