/**
 * Symlinks and metadata: links are restored as links (never followed), and folder modes and
 * mtimes are set after everything inside them was written, deepest first, or the writes would
 * bump the mtimes again. Every metadata change goes through a descriptor opened without following
 * links, so it cannot land on whatever a planted link points to.
 *
 * A folder mtime of 0 means "not known" (the agent syncs no folder times: agent/trees.ts): such a
 * folder must keep the time it has, which for one the restore made is when it was made and filled.
 */
import { closeSync, constants, fchmodSync, fstatSync, futimesSync, openSync, type Stats } from 'node:fs';
import { lstat, lutimes, open, readlink, rename, symlink, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { MODE_MASK, stillFound, type Placing } from './assembly.js';
import { forEachLimit } from '../repo/pool.js';
import { byDepth, lstatNow, replaceWith } from './fsutil.js';
import { StrataError } from '../errors.js';
import { NOFOLLOW, fsyncDir, isErrno, onFile, onFileSync, openRegular, syncDirHandle, tempPathIn } from '../fsutil.js';
import type { FileStat, Found } from './seed.js';
import type { DirMeta, PlannedDir, PlannedLink } from './types.js';

/** Equal to the millisecond (file systems store finer or, at worst, exactly ms). */
export function sameMtime(st: { mtimeMs: number }, mtimeMs: number): boolean {
  return Math.abs(st.mtimeMs - mtimeMs) < 1;
}

export function sameMode(st: { mode: number }, mode: number): boolean {
  return (st.mode & 0o7777) === (mode & MODE_MASK);
}

/**
 * Sets mode and mtime of an existing regular file in place (its content is already right), fsynced
 * after unless `sync` is false (deferSync); returns true. Something else swapped in there since (a
 * FIFO must not be waited on, a link not followed) is left as it is: E_RESTORE_RACE. With `seen`
 * (what the restore's walk saw there, before its content was judged right), a file that
 * is no longer that (size, mtime, mode: assembly.ts stillFound) was changed since, by the user or an
 * app: it is left as it is (false), a local edit live sync takes up. The snapshot's mtime on it
 * would hide the edit from live sync, whose stat cache would take it for the file laid.
 */
export async function fixFileMeta(path: string, mode: number, mtimeMs: number, sync = true, seen?: FileStat): Promise<boolean> {
  const fh = await openRegular(path).catch((err: unknown) => {
    if (isErrno(err, 'ENOTREG', 'ELOOP')) throw new StrataError('E_RESTORE_RACE', 'something other than a file appeared while the restore set its mode and time', { path }, { cause: err });
    throw err;
  });
  try {
    // fstat without the thread pool: microseconds, on a file the restore has open anyway.
    if (seen !== undefined && !stillFound(seen, fstatSync(fh.fd), path)) return false;
    await onFile(path, async () => {
      await fh.chmod(mode & MODE_MASK);
      await fh.utimes(mtimeMs / 1000, mtimeMs / 1000);
      if (sync) await fh.sync();
    });
  } finally {
    await fh.close();
  }
  return true;
}

/**
 * Makes `link.path` a symlink to its target; returns false when it already was exactly that. With
 * `placing` (newcomers), only what the restore's walk saw at the path is replaced, as for a file
 * (assembly.ts), or a link to the snapshot's target (the snapshot's version already): anything
 * else there (a file made or changed since, a link to another target or a folder put there since)
 * is kept aside first, and where nothing is, the link is made at the path itself, which fails on a
 * name taken meanwhile. Without it, whatever is there is replaced (a folder removed: the snapshot wins).
 */
export async function restoreLink(link: PlannedLink, placing?: Placing): Promise<boolean> {
  const st = await lstat(link.path).catch(() => undefined);
  if (st?.isSymbolicLink() && sameMtime(st, link.entry.mtimeMs) && (await readlink(link.path)) === link.entry.target) return false;
  if (placing === undefined) await viaTemp(link, (tmp) => replaceWith(tmp, link.path));
  else await placeLink(link, st, placing);
  return true;
}

async function placeLink(link: PlannedLink, st: Stats | undefined, placing: Placing): Promise<void> {
  for (let now = st; ; now = lstatNow(link.path)) {
    if (now === undefined) {
      if (await linkNew(link)) return;
      continue;
    }
    if (mayReplace(link, now, placing.found(link, true))) return viaTemp(link, (tmp) => rename(tmp, link.path));
    await placing.keep(link, now);
  }
}

/** Whether `now`, at the link's path, is what the walk saw there (`found`), or a link to the link's own target. */
function mayReplace(link: PlannedLink, now: Stats, found: Found | undefined): boolean {
  return stillFound({ link: link.entry.target }, now, link.path) || (found !== undefined && stillFound(found, now, link.path));
}

/** Puts the link at a temp name beside its path with its mtime, then `put`s it at the path. */
async function viaTemp(link: PlannedLink, put: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = tempPathIn(dirname(link.path));
  await symlink(link.entry.target, tmp);
  try {
    const mtime = link.entry.mtimeMs / 1000;
    await lutimes(tmp, mtime, mtime);
    await put(tmp);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/**
 * Makes the link at its path where nothing is; false, and nothing made, where something is now.
 * Made in place rather than moved from a temp name: a move that replaces nothing makes the link
 * again at the new name (renameNoReplace), its time set after all the same. Cut off before its time
 * is set, it is a link the next restore finds not yet right, and replaces.
 */
async function linkNew(link: PlannedLink): Promise<boolean> {
  try {
    await symlink(link.entry.target, link.path);
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    throw err;
  }
  const mtime = link.entry.mtimeMs / 1000;
  await lutimes(link.path, mtime, mtime);
  return true;
}

/** Whether a folder's recorded mtime is one to set (see the header). */
function knownTime(entry: DirMeta): boolean {
  return entry.mtimeMs !== 0;
}

/** Mode and mtime of a folder, through a descriptor, with synchronous calls (a thread-pool round trip each would cost more). */
function setDirMeta(path: string, entry: DirMeta): void {
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | NOFOLLOW);
  try {
    onFileSync(path, () => {
      fchmodSync(fd, entry.mode & MODE_MASK);
      if (knownTime(entry)) futimesSync(fd, entry.mtimeMs / 1000, entry.mtimeMs / 1000);
    });
  } finally {
    closeSync(fd);
  }
}

/**
 * setDirMeta, then an fsync when the folder's entries (`dirty`) or its metadata changed: through
 * the same descriptor, opened before the folder's mode is set (the mode may forbid opening it).
 */
async function setDirMetaDurably(path: string, entry: DirMeta, dirty: boolean): Promise<void> {
  const fh = await open(path, constants.O_RDONLY | constants.O_DIRECTORY | NOFOLLOW);
  try {
    const st = await fh.stat();
    const changed = !sameMode(st, entry.mode) || (knownTime(entry) && !sameMtime(st, entry.mtimeMs));
    await onFile(path, async () => {
      await fh.chmod(entry.mode & MODE_MASK);
      if (knownTime(entry)) await fh.utimes(entry.mtimeMs / 1000, entry.mtimeMs / 1000);
      if (dirty || changed) await syncDirHandle(fh);
    });
  } finally {
    await fh.close();
  }
}

async function finishDir(dir: PlannedDir, dirty: boolean, syncEach: boolean): Promise<void> {
  if (!dir.entry) {
    if (dirty) await fsyncDir(dir.path);
  } else if (syncEach && process.platform !== 'win32') {
    await setDirMetaDurably(dir.path, dir.entry, dirty);
  } else {
    if (dirty) await fsyncDir(dir.path);
    setDirMeta(dir.path, dir.entry);
  }
}

/**
 * fsyncs each changed folder once and sets folder metadata (unless `meta` is false), deepest level
 * first (a parent's mode may forbid reaching its children), the folders of one level in parallel:
 * metadata of one folder does not touch its siblings'. With `syncEach` (the caller does not sync
 * the file system as a whole), a folder's fsync comes after its metadata is set, and a folder whose
 * metadata changed is fsynced even if its entries did not.
 */
export async function finishDirs(dirs: readonly PlannedDir[], dirty: ReadonlySet<string>, concurrency: number, meta = true, syncEach = false): Promise<void> {
  if (!meta) return forEachLimit([...dirty], concurrency, fsyncDir);
  const planned = new Set(dirs.map((d) => d.path));
  await forEachLimit([...dirty].filter((path) => !planned.has(path)), concurrency, fsyncDir);
  for (const level of byDepth(dirs).reverse()) {
    await forEachLimit(level, concurrency, (dir) => finishDir(dir, dirty.has(dir.path), syncEach));
  }
}
