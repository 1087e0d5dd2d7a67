/**
 * Reading a directory from disk: its names (each checked against the tree name rules before it
 * can reach a tree), symlink targets, and what a file system error means for the entry.
 *
 * Nothing is dropped silently: a name the tree validator would refuse, a non-UTF-8 name or
 * target, a special file, an unreadable entry — each is reported in `skipped` with its reason.
 * Only an entry that vanished between listing and reading is left out without a report, because
 * leaving it out is exactly what the disk says.
 */
import { readdir, readlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { StrataError } from '../errors.js';
import { entryNameProblem } from '../repo/index.js';

const MAX_TARGET_BYTES = 4096;

/** The entry disappeared (deleted or replaced) after it was listed. */
const VANISHED = new Set(['ENOENT', 'ENOTDIR']);
/** The entry is there but cannot be read now (permissions, locks on Windows, I/O). */
const UNREADABLE = new Set(['EACCES', 'EPERM', 'EBUSY', 'EIO', 'ENXIO', 'ETXTBSY', 'ELOOP', 'EAGAIN', 'EINVAL', 'EISDIR']);

/**
 * Why an entry is skipped whose path is longer than the OS lets a program name (ENAMETOOLONG:
 * past PATH_MAX, 4,096 bytes on Linux). It is there, so it must not read as deleted.
 */
export const TOO_LONG = 'its path is longer than the system allows (ENAMETOOLONG): neither it nor what is under it can be read, so they are not synced (nor deleted); shorten the names above it or move it higher up';

export type FsProblem = { vanished: true } | { unreadable: string };

/** The errno code of a file system error, also when a chunker wrapped it in a StrataError (as its cause). */
export function errnoOf(err: unknown): string | undefined {
  const e = err instanceof StrataError ? err.cause : err;
  const code = (e as NodeJS.ErrnoException | null | undefined)?.code;
  return typeof code === 'string' && !code.startsWith('E_') ? code : undefined;
}

/** What a file system error means for one entry; undefined for errors that must stop the snapshot. */
export function fsProblem(err: unknown): FsProblem | undefined {
  const code = errnoOf(err);
  if (code === undefined) return undefined;
  if (VANISHED.has(code)) return { vanished: true };
  if (UNREADABLE.has(code)) return { unreadable: `cannot be read (${code})` };
  if (code === 'ENAMETOOLONG') return { unreadable: TOO_LONG };
  return undefined;
}

export interface ListedName {
  /** The name as it decodes (with U+FFFD where the bytes are not UTF-8). */
  name: string;
  /** False when the bytes are not UTF-8: the decoded name does not reach the entry on disk. */
  utf8: boolean;
  /** Set when the name must not go into a tree. */
  problem?: string;
}

function decodeName(raw: Buffer): ListedName {
  const name = raw.toString('utf8');
  if (!Buffer.from(name, 'utf8').equals(raw)) return { name, utf8: false, problem: 'name is not valid UTF-8' };
  const problem = entryNameProblem(name);
  return problem ? { name, utf8: true, problem: `name ${problem}` } : { name, utf8: true };
}

/** The names in `dir`, sorted as trees require (UTF-16 code unit order). */
export async function listNames(dir: string): Promise<ListedName[]> {
  const raw = await readdir(dir, { encoding: 'buffer' });
  return raw.map(decodeName).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** A symlink's target as stored, or the reason it cannot be. */
export async function readTarget(path: string): Promise<{ target: string } | { problem: string }> {
  const raw = await readlink(path, { encoding: 'buffer' });
  const target = raw.toString('utf8');
  if (!Buffer.from(target, 'utf8').equals(raw)) return { problem: 'symlink target is not valid UTF-8' };
  if (raw.byteLength === 0 || raw.byteLength > MAX_TARGET_BYTES) return { problem: `symlink target is empty or longer than ${MAX_TARGET_BYTES} bytes` };
  return { target };
}

/** Why an entry of this kind is not stored, or undefined for files, directories and symlinks. */
export function unsupportedKind(st: Stats): string | undefined {
  if (st.isFile() || st.isDirectory() || st.isSymbolicLink()) return undefined;
  if (st.isFIFO()) return 'is a FIFO (named pipe); only files, directories and symlinks are stored';
  if (st.isSocket()) return 'is a socket; only files, directories and symlinks are stored';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'is a device; only files, directories and symlinks are stored';
  return 'is of an unknown kind; only files, directories and symlinks are stored';
}
