/**
 * How DirStore turns file-system errors into the store's error codes (index.ts).
 *
 * - Errno errors must carry a store code, the key and where they happened, and say in words what
 *   is wrong where a user can act on it (a full disk, a read-only share, a refused permission).
 * - Only errors a retry may cure are E_TRANSIENT; a missing file is E_NOT_FOUND for reads only.
 * - Anything that is not an errno error is a programming error and passes through untouched.
 */
import { StrataError } from '../errors.js';
import { notFound } from './index.js';

export type FsOp = 'put' | 'get' | 'head' | 'list' | 'delete';
const READ_OPS = new Set<FsOp>(['get', 'head']);
/** Errors a retry may cure: flaky disks and shares, lock contention, descriptor exhaustion. */
const TRANSIENT = new Set(['EIO', 'EAGAIN', 'EBUSY', 'ETIMEDOUT', 'ESTALE', 'EINTR', 'ECONNRESET', 'EMFILE', 'ENFILE', 'EHOSTDOWN']);
const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device holding the store',
  EDQUOT: 'disk quota exceeded on the store folder',
  EROFS: 'the store folder is on a read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'the key conflicts with an existing object (a parent is a file)',
  EISDIR: 'the key conflicts with an existing folder',
  ENAMETOOLONG: 'the key is too long for this file system',
};

/** Errno errors become store codes; anything else (a programming error) passes through as is. */
export function mapFsError(err: unknown, op: FsOp, key: string, location: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (err instanceof StrataError || typeof code !== 'string') return err;
  const where = `${op} in ${location}`;
  if (READ_OPS.has(op) && ['ENOENT', 'ENOTDIR', 'EISDIR'].includes(code)) return notFound(key, location);
  if (TRANSIENT.has(code)) return new StrataError('E_TRANSIENT', `${code} during ${where}`, { key }, { cause: err });
  const reason = REASONS[code] ?? `${code} during ${where}`;
  return new StrataError('E_PERMANENT', `${reason} (${where})`, { key }, { cause: err });
}

/** One file-system call, its failure mapped by mapFsError. */
export async function withFsErrors<T>(op: FsOp, key: string, location: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw mapFsError(err, op, key, location);
  }
}
