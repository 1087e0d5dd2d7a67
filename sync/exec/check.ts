/**
 * The executor's two guards, run right before every op:
 * - a layer path must name one place inside the root, reached through real directories only
 *   (a symlink or a file planted where a dir was scanned is a change, never something to follow);
 * - the target must still be in the state the plan expects, else the op is not applied.
 *
 * A regular file is compared by size, mtime (to the ms), mode and, where the scan's is known, ctime:
 * the same stat the scanner keyed its stat cache on; reading bytes back would not be cheaper than
 * the scan that produced `expect`.
 */
import { readlinkSync, type Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { StrataError } from '../errors.js';
import type { Node } from '../plan/index.js';
import { ancestorsOf } from '../plan/nodes.js';
import { MODE_MASK } from '../restore/assembly.js';
import { lstatNow, pathInside } from '../restore/fsutil.js';
import { isErrno } from '../fsutil.js';

/** `root/<rel>` for a well-formed layer path; anything else is refused before touching the disk. */
export function absPath(root: string, rel: string): string {
  const parts = rel.split('/');
  if (rel === '' || parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\0') || p.includes('\\'))) {
    throw new StrataError('E_BAD_PATH', 'not a layer-relative path', { path: rel });
  }
  return pathInside(root, rel);
}

export async function lstatOrNull(path: string): Promise<Stats | null> {
  try {
    return await lstat(path);
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ENOTDIR')) return null;
    throw err;
  }
}

/**
 * lstatOrNull without the thread pool (restore/fsutil.ts lstatNow): for the commit of a batch's
 * writes, where a round trip through the pool costs several times the local lstat itself.
 */
export function lstatOrNullNow(path: string): Stats | null {
  return lstatNow(path) ?? null;
}

/**
 * The first ancestor of `rel` that is not a real directory (a link, a file, nothing), or
 * undefined when all are. Checked afresh for every op, never cached: the user may swap a dir for
 * a link between two ops of one run.
 */
export async function badAncestor(root: string, rel: string): Promise<string | undefined> {
  for (const a of ancestorsOf(rel)) {
    const st = await lstatOrNull(absPath(root, a));
    if (!st?.isDirectory()) return a;
  }
  return undefined;
}

/** badAncestor with synchronous calls (lstatOrNullNow). */
export function badAncestorNow(root: string, rel: string): string | undefined {
  for (const a of ancestorsOf(rel)) {
    if (!lstatOrNullNow(absPath(root, a))?.isDirectory()) return a;
  }
  return undefined;
}

/** What the disk holds, in words, for a `changed` result. */
export function describeStat(st: Stats | null): string {
  if (st === null) return 'nothing';
  if (st.isFile()) return `file size ${st.size} mtime ${st.mtimeMs} mode ${(st.mode & 0o7777).toString(8)}`;
  if (st.isDirectory()) return `dir mode ${(st.mode & 0o7777).toString(8)}`;
  if (st.isSymbolicLink()) return 'symlink';
  return 'special file';
}

/** Equal to the millisecond: file systems store finer, or exactly ms at worst. */
function sameMtime(a: number, b: number): boolean {
  return Math.abs(a - b) < 1;
}

/**
 * Whether `st` (an lstat of `abs`, null = nothing) is the expected node. A dir's owner bits are
 * not compared: the executor keeps dirs owner-writable while it fills them. `self` is the stat of
 * a move's source: on a case-insensitive disk a name that differs only in case finds the source
 * itself, and the target then counts as free (ops.ts); any other entry never does. A link's target
 * is read synchronously, as its lstat was just made: one local call. `ctimeMs`: the file's ctime
 * when `expect` was found (a same-size edit with its mtime set back moves only the ctime).
 */
export function matches(abs: string, st: Stats | null, expect: Node | null, self?: Stats | null, ctimeMs?: number): boolean {
  if (expect === null) return st === null || (self != null && st.ino === self.ino && st.dev === self.dev);
  if (st === null) return false;
  switch (expect.type) {
    case 'file':
      return st.isFile() && st.size === expect.size && sameMtime(st.mtimeMs, expect.mtimeMs) && (st.mode & MODE_MASK) === (expect.mode & MODE_MASK) && (ctimeMs === undefined || st.ctimeMs === ctimeMs);
    case 'dir':
      return st.isDirectory() && ((st.mode | 0o700) & MODE_MASK) === ((expect.mode | 0o700) & MODE_MASK);
    case 'symlink':
      if (!st.isSymbolicLink() || (expect.mtimeMs !== undefined && !sameMtime(st.mtimeMs, expect.mtimeMs))) return false;
      return readlinkSync(abs) === expect.target;
    default:
      throw new StrataError('E_EXEC_UNKNOWN_NODE', `unknown node kind ${JSON.stringify((expect as { type: unknown }).type)}`, { path: abs });
  }
}
