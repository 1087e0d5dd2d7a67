/**
 * The settings mirror's writes to its key files (mirror.ts), made as one batch: a run that meets a
 * big dconf dir for the first time writes thousands of files at once.
 *
 * What must hold: each file is replaced atomically (a temp beside it, renamed over it) through real
 * folders only, never a symlink; and when writeKeyFiles returns, every file it wrote or removed is
 * durable — each file's content before its rename, the renames, removals and new folders after —,
 * since the mirror then records those values as agreed: a record that named a value the disk could
 * still lose would take the loss for a change (a key reset in the store, a value pushed back).
 *
 * Durability costs two syncs of the whole file system (syncfs, Linux) for a big batch, and for a
 * small one an fsync per file, side by side, and one per folder touched: never two per file one
 * after the other. syncfs is kept for big batches because it also waits for every other program's
 * writes to that disk; where syncfs fails (not there, or a disk error), the batch is made durable
 * file by file after all.
 *
 * For the same reason a key file the mirror did not write but whose value it records as agreed
 * (another writer's, or a run's cut off before its sync) must be made durable first: makeDurable.
 */
import { lstat, mkdir, open, readdir, rename, rm, rmdir, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { StrataError } from '../errors.js';
import { canSyncFileSystem, fsyncDir, fsyncFile, isErrno, onFile, TEMP_PREFIX, tempName, trySyncFileSystem } from '../fsutil.js';
import { tempInUse } from '../temps.js';
import { forEachLimit } from '../repo/pool.js';

/** A batch with at least this many files to write is made durable by syncfs where there is one. */
export const SYNCFS_FROM = 64;
/** Temp files written (and fsynced) at once. */
const PARALLEL = 8;

/** One file of a key (or a conflict copy of it): `value` written into it, or the file removed (undefined). */
export interface KeyFileWrite {
  key: string;
  /** Relative to the root. */
  rel: string;
  value: string | undefined;
}

/**
 * Writes `writes` under `root`, removing the folders a removal empties up to `folder` (relative to
 * `root`). A write whose file cannot go where it belongs (isKeyPlaceError: a folder of its name, a
 * file or symlink on the way) fails its key alone: the key's later writes are not made, and it is
 * in `failed` with its error. Any other error fails the batch, its temp files removed.
 */
export async function writeKeyFiles(root: string, folder: string, writes: readonly KeyFileWrite[]): Promise<{ done: KeyFileWrite[]; failed: Map<string, unknown> }> {
  const failed = new Map<string, unknown>();
  const fail = (w: KeyFileWrite, err: unknown): void => {
    if (!isKeyPlaceError(err)) throw err;
    if (!failed.has(w.key)) failed.set(w.key, err);
  };
  const sets = writes.filter((w) => w.value !== undefined);
  let whole = canSyncFileSystem() && sets.length >= SYNCFS_FROM;
  // The temps are written in the mirror's own folder, all at once, and each renamed to its key's
  // folder in the order of `writes`, that folder made then: as if each file were written on its own
  // (a key's file is there before a later key needs a folder of that name, and fails it).
  const tempDir = join(root, folder);
  // Folders whose entries changed: fsynced once each at the end (unless syncfs does it).
  const touched = new Set<string>(sets.length > 0 ? [tempDir] : []);
  const temps = new Map<KeyFileWrite, string>();
  const done: KeyFileWrite[] = [];
  try {
    if (sets.length > 0) {
      for (const made of (await realDirs(root, folder, true)) ?? []) touched.add(dirname(made));
      await removeTemps(tempDir);
    }
    await forEachLimit(sets, PARALLEL, async (w) => {
      const temp = join(tempDir, tempName('settings'));
      temps.set(w, temp);
      await writeTemp(temp, join(root, w.rel), `${w.value}\n`, !whole);
    });
    if (whole && !(await trySyncFileSystem(root))) {
      whole = false;
      await forEachLimit([...temps.values()], PARALLEL, fsyncFile);
    }
    for (const w of writes) {
      if (failed.has(w.key)) continue;
      try {
        const path = join(root, w.rel);
        if (w.value === undefined) {
          const left = await removeKeyFile(root, folder, w.rel);
          if (left !== undefined) touched.add(left);
        } else {
          for (const made of (await realDirs(root, dirname(w.rel), true)) ?? []) touched.add(dirname(made));
          await rename(temps.get(w)!, path);
          temps.delete(w);
          touched.add(dirname(path));
        }
        done.push(w);
      } catch (err) {
        fail(w, err);
      }
    }
    if (!whole || !(await trySyncFileSystem(root))) await forEachLimit([...touched], PARALLEL, fsyncDir);
  } finally {
    await Promise.all([...temps.values()].map((t) => rm(t, { force: true })));
  }
  return { done, failed };
}

/**
 * Makes durable, as they are now, the files at `rels` (relative to `root`) that this process did not
 * write: each one present, and the folders from its own up to `root` (a removal, and a folder made
 * on the way, are entries of those). One syncfs for SYNCFS_FROM or more files where it works; else
 * an fsync per file and per folder, side by side. Nothing for none.
 */
export async function makeDurable(root: string, rels: readonly string[]): Promise<void> {
  if (rels.length === 0) return;
  if (canSyncFileSystem() && rels.length >= SYNCFS_FROM && (await trySyncFileSystem(root))) return;
  const dirs = new Set<string>();
  for (const rel of rels) for (let i = rel.lastIndexOf('/'); i > 0; i = rel.lastIndexOf('/', i - 1)) dirs.add(join(root, rel.slice(0, i)));
  dirs.add(root);
  await forEachLimit(rels, PARALLEL, async (rel) => {
    try {
      await fsyncFile(join(root, rel));
    } catch (err) {
      // Gone (a removal, or removed since it was read): its folder holds what is durable of it.
      if (!isErrno(err, 'ENOENT', 'ENOTDIR', 'ELOOP')) throw err;
    }
  });
  await forEachLimit([...dirs], PARALLEL, fsyncDir);
}

/**
 * Removes the temp files a run cut off (killed, a crash) left in `dir`, the mirror's own folder:
 * those of a process that has ended (tempInUse). Another process's are left alone: the sign-in,
 * the agent and the sign-out each run a mirror on the same home, and one's temps may be in flight
 * (the runs of one mirror never overlap: SettingsMirror.sync; this process's are in flight).
 */
async function removeTemps(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isFile() && e.name.startsWith(TEMP_PREFIX) && !tempInUse(join(dir, e.name), e.name)) await rm(join(dir, e.name), { force: true });
  }
}

/**
 * Creates `temp` (which must not exist) holding `text` for the key file `file`, fsynced if `sync`;
 * a failed write names `file`, as the temp is gone by the time anyone reads the error.
 */
async function writeTemp(temp: string, file: string, text: string, sync: boolean): Promise<void> {
  const fh = await open(temp, 'wx', 0o644);
  try {
    await onFile(file, async () => {
      await fh.writeFile(text);
      if (sync) await fh.sync();
    });
  } finally {
    await fh.close();
  }
}

/** Removes a key's file and the folders that removal empties (up to `folder`); the folder left that lost an entry (undefined: nothing removed). */
async function removeKeyFile(root: string, folder: string, rel: string): Promise<string | undefined> {
  const parent = rel.slice(0, rel.lastIndexOf('/'));
  if ((await realDirs(root, parent)) === undefined) return undefined;
  const st = await lstat(join(root, rel)).catch(() => undefined);
  if (st?.isFile() !== true) return undefined;
  await unlink(join(root, rel));
  let dir = parent;
  while (dir.length > folder.length) {
    try {
      await rmdir(join(root, dir));
    } catch {
      break;
    }
    dir = dir.slice(0, dir.lastIndexOf('/'));
  }
  return join(root, dir);
}

/**
 * Whether every folder of `rel` under `root` is a real folder: the folders made (absolute paths;
 * with `make`, missing ones are made), or undefined when one is missing. A symlink or a file there
 * is an E_SETTINGS error naming it.
 */
export async function realDirs(root: string, rel: string, make = false): Promise<string[] | undefined> {
  const made: string[] = [];
  let path = root;
  for (const name of rel.split('/')) {
    path = join(path, name);
    let st = await lstat(path).catch((err: unknown) => {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    });
    if (st === undefined) {
      if (!make) return undefined;
      try {
        await mkdir(path);
        made.push(path);
        continue;
      } catch (err) {
        if (!isErrno(err, 'EEXIST')) throw err;
      }
      // Made meanwhile: checked as if found.
      st = await lstat(path);
    }
    if (!st.isDirectory()) throw new StrataError('E_SETTINGS', 'is not a folder (a symlink or a file): settings are not synced through it', { path });
  }
  return made;
}

/** Whether `err` is about where one key's file goes (see writeKeyFiles), not the whole folder or disk. */
export function isKeyPlaceError(err: unknown): boolean {
  if (err instanceof StrataError) return err.code === 'E_SETTINGS' && err.path !== undefined;
  return isErrno(err, 'EISDIR', 'ENOTDIR', 'ENOTEMPTY', 'EEXIST');
}

