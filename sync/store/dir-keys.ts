/**
 * How DirStore's keys map to files under its root, and how the folder is listed back as keys.
 *
 * - Key `a/b/c` is the file `<root>/a/b/c`. Keys must not name temp files, contain '\', or (on
 *   Windows) name devices or alternate data streams, so no key escapes root or hides a temp file.
 * - A listing must yield keys in code-unit order, the order MemoryStore and the conformance suite
 *   use, skipping temp files, symlinks and whole folders outside the prefix or before `after`.
 * - A symlink to a folder within a listing's reach fails it (linkedFolder): it is never followed,
 *   and skipping it would hide objects from the listing that reads and writes could reach.
 */
import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '../errors.js';
import { TEMP_PREFIX, isErrno } from '../fsutil.js';
import { checkKey, type ObjectInfo } from './index.js';
import { mapFsError } from './dir-errors.js';

const STAT_BATCH = 32;
const WINDOWS = process.platform === 'win32';
/** On NTFS these would name alternate data streams or devices, not files. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what must be refused
const WINDOWS_BAD = /[<>:"|?*\x00-\x1f]|^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i;

/** The path of `key` under `root`, without its last `-drop` components. */
export function keyPath(root: string, key: string, drop = 0): string {
  checkKey(key);
  const parts = key.split('/');
  if (parts.some((p) => p.startsWith(TEMP_PREFIX) || p.includes('\\') || (WINDOWS && WINDOWS_BAD.test(p)))) {
    throw new StrataError('E_BAD_KEY', `invalid object key for a folder store (no '\\', no '${TEMP_PREFIX}' names)`, { key });
  }
  return join(root, ...parts.slice(0, parts.length + drop));
}

/** The error for a folder of the store's layout that is a symlink, met on the way to `key`. */
export function linkedFolder(path: string, key: string): StrataError {
  return new StrataError('E_PERMANENT', `store folder ${path} is a symlink, which a folder store never follows (put the folder itself there)`, { key });
}

/** One listing: keys starting with `prefix` that sort after `after` ('' means no bound). */
export interface Walk {
  root: string;
  location: string;
  prefix: string;
  after: string;
}

export async function* walk(w: Walk, relDir: string): AsyncGenerator<ObjectInfo> {
  const dirPath = relDir === '' ? w.root : keyPath(w.root, relDir);
  let entries;
  try {
    entries = await readdir(dirPath, { withFileTypes: true });
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ENOTDIR')) return;
    throw mapFsError(err, 'list', w.prefix, w.location);
  }
  // Sorting a directory as `name/` makes a depth-first walk yield keys in lexicographic order
  // (`a-b` < `a/x` because '-' < '/').
  const keyOf = (name: string) => (relDir === '' ? name : `${relDir}/${name}`);
  for (const e of entries) {
    if (!e.isSymbolicLink() || e.name.startsWith(TEMP_PREFIX) || !overlaps(`${keyOf(e.name)}/`, w.prefix)) continue;
    const path = join(dirPath, e.name);
    if ((await stat(path).catch(() => undefined))?.isDirectory()) throw linkedFolder(path, w.prefix);
  }
  const items = entries
    .filter((e) => !e.name.startsWith(TEMP_PREFIX) && (e.isFile() || e.isDirectory()))
    .map((e) => ({ key: keyOf(e.name), dir: e.isDirectory() }))
    .filter((e) => (e.dir ? overlaps(`${e.key}/`, w.prefix) && mayFollow(`${e.key}/`, w.after) : e.key.startsWith(w.prefix) && e.key > w.after))
    .sort((a, b) => compare(a.dir ? `${a.key}/` : a.key, b.dir ? `${b.key}/` : b.key));
  for (let i = 0; i < items.length; i += STAT_BATCH) {
    const batch = items.slice(i, i + STAT_BATCH);
    const infos = await Promise.all(batch.map((e) => (e.dir ? undefined : infoForList(w, e.key))));
    for (const [j, e] of batch.entries()) {
      if (e.dir) yield* walk(w, e.key);
      else if (infos[j] !== undefined) yield infos[j];
    }
  }
}

/** Puts write a temp file and rename it over the key: every write gives the key a new inode. */
async function infoForList(w: Walk, key: string): Promise<ObjectInfo | undefined> {
  try {
    const st = await lstat(keyPath(w.root, key), { bigint: true });
    return st.isFile() ? { key, size: Number(st.size), version: `${st.ino}:${st.size}:${st.mtimeNs}`, modified: Number(st.mtimeMs) } : undefined;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined; // deleted since readdir
    throw mapFsError(err, 'list', w.prefix, w.location);
  }
}

/** Whether some key under directory `dirSlash` (ending in '/') can start with `prefix`. */
function overlaps(dirSlash: string, prefix: string): boolean {
  return dirSlash.startsWith(prefix) || prefix.startsWith(dirSlash);
}

/** Whether some key under directory `dirSlash` can sort after `after` ('' means no bound). */
function mayFollow(dirSlash: string, after: string): boolean {
  return dirSlash > after || after.startsWith(dirSlash);
}

/** Code-unit order, the same order MemoryStore and the conformance suite use. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
