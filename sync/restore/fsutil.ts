/**
 * File-system steps of a restore that must never follow a link out of the target.
 *
 * What must hold: every path written is `target/<rel>` with each folder on the way a real
 * directory that the restore itself checked (lstat) or created. Whatever else sits on a folder's
 * path — a symlink (perhaps pointing outside), a file — is removed, never followed: the snapshot
 * wins inside the target. Renames replace a link itself, not what it points to.
 */
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rm, chmod } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { StrataError } from '../errors.js';

/** Prefix of files being assembled; a crash leaves them behind and the next restore removes them. */
export const TEMP_PREFIX = '.strata-tmp-';
export const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

export function isErrno(err: unknown, ...codes: string[]): boolean {
  return codes.includes((err as NodeJS.ErrnoException | null)?.code ?? '');
}

/** `target/<rel>`, refusing any result that is not inside target (rel was validated; this is a second guard). */
export function pathInside(target: string, rel: string): string {
  if (rel === '') return target;
  const path = resolve(target, ...rel.split('/'));
  if (!path.startsWith(target.endsWith(sep) ? target : target + sep)) {
    throw new StrataError('E_BAD_PATH', 'path would land outside the restore target', { path: rel });
  }
  return path;
}

/**
 * Makes `path` a real directory whose parent is already one: missing → created; a link or a file
 * → removed and created. An existing directory is made owner-writable for the restore (its mode
 * from the snapshot is set at the end; a crashed run may have left it read-only).
 */
export async function ensureDir(path: string): Promise<void> {
  const st = await lstat(path).catch((err: unknown) => {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  });
  if (st?.isDirectory()) {
    if ((st.mode & 0o700) !== 0o700) await chmod(path, (st.mode & 0o7777) | 0o700);
    return;
  }
  if (st) await rm(path, { force: true });
  await mkdir(path).catch((err: unknown) => {
    if (!isErrno(err, 'EEXIST')) throw err;
  });
  const made = await lstat(path);
  if (!made.isDirectory()) throw new StrataError('E_RESTORE_RACE', 'something other than a folder appeared while the restore created it', { path });
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

/** Removes leftovers of a crashed restore from the given folders; returns how many. */
export async function removeTemps(dirs: Iterable<string>): Promise<number> {
  let removed = 0;
  for (const dir of dirs) {
    const names = await readdir(dir).catch((err: unknown) => {
      if (isErrno(err, 'ENOENT', 'ENOTDIR')) return [] as string[];
      throw err;
    });
    for (const name of names) {
      if (!name.startsWith(TEMP_PREFIX)) continue;
      await rm(resolve(dir, name), { recursive: true, force: true });
      removed++;
    }
  }
  return removed;
}

/** Makes a folder's entries (renames, creations) durable. */
export async function fsyncDir(path: string): Promise<void> {
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | NOFOLLOW);
    await fh.sync();
  } catch (err) {
    // Some platforms cannot open or sync a directory; the renames are then as durable as it gets.
    if (!isErrno(err, 'EISDIR', 'EINVAL', 'EPERM', 'EACCES', 'ENOENT', 'ELOOP')) throw err;
  } finally {
    await fh?.close().catch(() => undefined);
  }
}
