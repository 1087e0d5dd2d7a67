/**
 * File-system steps of a restore that must never follow a link out of the target.
 *
 * What must hold: every path written is `target/<rel>` with each folder on the way a real
 * directory that the restore itself checked (lstat) or created. Whatever else sits on a folder's
 * path — a symlink (perhaps pointing outside), a file — is removed, never followed: the snapshot
 * wins inside the target (with `newcomers` or `aside`, only over what the caller saw there before
 * the restore: what appeared since is moved to a conflict copy instead). Renames replace a link itself, not what it points to.
 */
import { chmodSync, linkSync, lstatSync, mkdirSync, readdirSync, readlinkSync, rmSync, type Dirent, type Stats } from 'node:fs';
import { lstat, readdir, rename, rm } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { StrataError } from '../errors.js';
import { TEMP_PREFIX, isErrno } from '../fsutil.js';
import { forEachLimit } from '../repo/pool.js';
import { tempInUse } from '../temps.js';


/**
 * A `/`-separated relative path that could leave its root or name something else than it says: a
 * `.` or `..` component, an empty one (leading, trailing or doubled `/`), NUL, and on Windows a
 * backslash or a colon (a drive or a stream).
 */
const UNSAFE_REL = sep === '/' ? /(?:^|\/)\.\.?(?:\/|$)|^\/|\/\/|\/$|\0/ : /(?:^|\/)\.\.?(?:\/|$)|^\/|\/\/|\/$|\0|[\\:]/;

/**
 * `target/<rel>`, refusing a rel that could land anywhere else (rel was validated; this is a second
 * guard). A check of rel's components rather than path.resolve: a restore joins every path of the
 * layer, and resolve's normalizing cost a measurable share of the sign-in's planning.
 */
export function pathInside(target: string, rel: string): string {
  if (rel === '') return target;
  if (UNSAFE_REL.test(rel)) throw new StrataError('E_BAD_PATH', 'path would land outside the restore target', { path: rel });
  const native = sep === '/' ? rel : rel.replaceAll('/', sep);
  return target.endsWith(sep) ? target + native : target + sep + native;
}

/**
 * Makes `path` a real directory whose parent is already one: missing → created; a link or a file
 * → dealt with by clearTheWay, then created. An existing directory is made owner-writable for the
 * restore (its mode from the snapshot is set at the end; a crashed run may have left it read-only).
 * A new one is created with the snapshot's `mode` plus owner rwx (the umask may narrow it): never
 * more open than it will be, even before its mode is set. Returns undefined when this call created
 * it (a successful mkdir never follows a link and made an empty folder), else the lstat of what is
 * there: a real directory (its kind and identity: its mode may have changed since), or anything
 * else in the way, left as it is. `parentCreated`: the parent is a folder this restore just
 * created, so nothing is there yet and mkdir comes first; elsewhere the folder usually exists (a
 * golden image, a second sign-in), and one lstat settles it.
 */
function dirAt(path: string, createMode: number, parentCreated: boolean): Stats | undefined {
  let st = parentCreated ? undefined : lstatNow(path);
  if (st === undefined) {
    if (tryMkdir(path, createMode)) return undefined;
    st = lstatNow(path);
    if (st === undefined) return makeDir(path, createMode);
  }
  if (st.isDirectory() && (st.mode & 0o700) !== 0o700) chmodSync(path, (st.mode & 0o7777) | 0o700);
  return st;
}

/**
 * A link or a file `st` where a folder goes: removed and the folder made (the snapshot wins), or
 * with `inTheWay`, only if the caller saw it there before; anything else is moved aside until the
 * folder can be made (or one appeared there). Returns as dirAt.
 */
async function clearTheWay(dir: { rel: string; path: string }, st: Stats, createMode: number, inTheWay: InTheWay | undefined): Promise<Stats | undefined> {
  if (inTheWay === undefined || inTheWay.seen(dir.path, st)) {
    rmSync(dir.path, { force: true });
    return makeDir(dir.path, createMode);
  }
  for (let now: Stats | undefined = st; ; now = dirAt(dir.path, createMode, false)) {
    if (now === undefined || now.isDirectory()) return now;
    await inTheWay.keep(dir, now);
  }
}

/** mkdir where nothing is any more; E_RESTORE_RACE where something is there again. */
function makeDir(path: string, createMode: number): undefined {
  if (!tryMkdir(path, createMode) || !lstatNow(path)?.isDirectory()) throw new StrataError('E_RESTORE_RACE', 'something other than a folder appeared while the restore created it', { path });
  return undefined;
}

/**
 * What stands where a folder goes, with `newcomers` (or `aside`): only what the caller saw there
 * before the restore (first contact's listings of home, an earlier restore's walk: aside.ts seenBefore) is removed,
 * as its policy left it for the restore to replace; anything else appeared since (the user, an
 * app) and is moved to a conflict copy (`keep`).
 */
export interface InTheWay {
  seen(path: string, st: Stats): boolean;
  keep(dir: { rel: string; path: string }, st: Stats): Promise<void>;
}

function tryMkdir(path: string, mode: number): boolean {
  try {
    mkdirSync(path, mode);
    return true;
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    throw err;
  }
}

/**
 * lstat without the thread pool: a local lstat takes microseconds, a round trip through the pool
 * costs several times that, and a restore makes one per planned path. Undefined when nothing is
 * there (or a file is where a folder on the way should be).
 */
export function lstatNow(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch (err) {
    if (isErrno(err, 'ENOTDIR')) return undefined;
    throw err;
  }
}

/** readlink without the thread pool (see lstatNow); undefined when no link is there (any more). */
export function readlinkNow(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'EINVAL', 'ENOTDIR')) return undefined;
    throw err;
  }
}

/** Lets other work (downloads, timers, signals) run between the slices of a long synchronous loop. */
export async function breathe(i: number): Promise<void> {
  if (i % 512 === 511) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * dirAt for every folder (the target root excluded), parents before children, with synchronous
 * calls (see lstatNow); returns the folders this call created, and the lstat of each one that was
 * already there (the restore's walk takes it instead of looking at the folder again).
 */
export async function ensureDirs(dirs: readonly { path: string; depth: number; rel: string; entry?: { mode: number } | undefined }[], inTheWay?: InTheWay): Promise<{ created: Set<string>; existing: Map<string, Stats> }> {
  const created = new Set<string>();
  const existing = new Map<string, Stats>();
  let i = 0;
  for (const level of byDepth(dirs.filter((d) => d.rel !== ''))) {
    for (const d of level) {
      await breathe(i++);
      const createMode = d.entry === undefined ? 0o777 : (d.entry.mode & 0o777) | 0o700;
      let st = dirAt(d.path, createMode, created.has(dirname(d.path)));
      if (st !== undefined && !st.isDirectory()) st = await clearTheWay(d, st, createMode, inTheWay);
      if (st === undefined) created.add(d.path);
      else existing.set(d.path, st);
    }
  }
  return { created, existing };
}

/** Items grouped by depth, shallowest level first. */
export function byDepth<T extends { depth: number }>(items: readonly T[]): T[][] {
  const levels = new Map<number, T[]>();
  for (const it of items) {
    const list = levels.get(it.depth) ?? [];
    list.push(it);
    levels.set(it.depth, list);
  }
  return [...levels.entries()].sort(([a], [b]) => a - b).map(([, list]) => list);
}

/** renameNoReplace (a hard link, then the unlink of `from`) with synchronous calls (see lstatNow); false, and nothing changed, where it fails in any way (renameNoReplace then tells why). */
export function placeNewSync(from: string, to: string): boolean {
  try {
    linkSync(from, to);
  } catch {
    return false;
  }
  rmSync(from, { force: true });
  return true;
}

/** Renames `from` over `to`; a directory in the way is removed first (the snapshot wins). */
export async function replaceWith(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if (!isErrno(err, 'EISDIR', 'ENOTEMPTY', 'EEXIST', 'ENOTDIR', 'EPERM')) throw err;
    const st = await lstat(to).catch(() => undefined);
    if (!st?.isDirectory()) throw err;
    await rm(to, { recursive: true, force: true });
    await rename(from, to);
  }
}

/**
 * Removes temp leftovers (of a crashed restore, or apply) from the given folders; returns how many.
 * A temp another process may still be writing is not one (tempInUse); those in `keep` (absolute
 * paths) are kept for a use to come.
 */
export async function removeTemps(dirs: readonly string[], keep: ReadonlySet<string> = new Set()): Promise<number> {
  let removed = 0;
  for (const [i, dir] of dirs.entries()) {
    await breathe(i);
    for (const name of readdirNow(dir)) {
      if (!name.startsWith(TEMP_PREFIX) || keep.has(resolve(dir, name)) || tempInUse(resolve(dir, name), name)) continue;
      await rm(resolve(dir, name), { recursive: true, force: true });
      removed++;
    }
  }
  return removed;
}

/**
 * A folder's entries with their types, without the thread pool (see lstatNow); nothing for a folder
 * that is gone, or that fails with one of `tolerated` (errno codes).
 */
export function listDirNow(dir: string, tolerated: readonly string[] = []): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ENOTDIR', ...tolerated)) return [];
    throw err;
  }
}

/**
 * Folders listed like listDirNow, many at once through the thread pool: listing a folder whose
 * metadata is not in the page cache (a golden image's home at the first sign-in after boot) is a
 * disk read or two, and one at a time they took most of the sign-in's first contact there (8,000
 * folders: 2.7–3.9 s on a loaded machine, 2.0–2.5 s 16 at a time). Each folder is listed
 * once: the caller holds what it was told about the folder before (a real folder, not a link).
 */
export async function listDirs(dirs: readonly string[], concurrency = 16): Promise<Map<string, Dirent[]>> {
  const out = new Map<string, Dirent[]>();
  await forEachLimit(dirs, concurrency, async (dir) => {
    try {
      out.set(dir, await readdir(dir, { withFileTypes: true }));
    } catch (err) {
      if (!isErrno(err, 'ENOENT', 'ENOTDIR')) throw err;
      out.set(dir, []);
    }
  });
  return out;
}

/** readdir without the thread pool (see lstatNow); nothing for a folder that is gone. */
export function readdirNow(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ENOTDIR')) return [];
    throw err;
  }
}
