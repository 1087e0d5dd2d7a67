/**
 * Writing a file whose whole content is in hand (one chunk: most small files), as one
 * synchronous step — create, write, fchmod, futimes, [fsync,] close, rename. One synchronous call
 * takes a few microseconds; a thread-pool round trip per call costs several times that, and a
 * restore of 20,000 small files makes 120,000 of them (1 s against 3–4 s here). A writer thread
 * doing the same calls measured no faster in the sign-in bench (the server and the disk, not the
 * main thread, set the pace), so they stay on the main thread, one file per blocking slice.
 *
 * What must hold (as assembly.ts): the temp file is created exclusively and never through a link;
 * the target changes only by one rename of the complete, sealed temp file; a failure before the
 * seal removes the temp file; a rename that fails (a folder in the way) leaves the sealed temp
 * file for the caller, who renames it on the slow path.
 */
import { closeSync, constants, fchmodSync, fsyncSync, futimesSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { NOFOLLOW } from '../fsutil.js';

/** setuid/setgid bits from a bucket are never restored: they would be a privilege gift. */
export const MODE_MASK = 0o1777;

export interface WholeJob {
  tmp: string;
  path: string;
  mode: number;
  mtimeMs: number;
  /** fsync before the rename (false: the caller syncs the file system itself). */
  sync: boolean;
}

/** 'placed': renamed over the target; 'sealed': complete, but the rename is left to the caller. */
export type WholeResult = 'placed' | 'sealed';

export function writeWholeNow(job: WholeJob, data: Uint8Array): WholeResult {
  const fd = openSync(job.tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, 0o600);
  try {
    for (let done = 0; done < data.byteLength; ) done += writeSync(fd, data, done, data.byteLength - done, done);
    fchmodSync(fd, job.mode & MODE_MASK);
    const mtime = job.mtimeMs / 1000;
    futimesSync(fd, mtime, mtime);
    if (job.sync) fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(job.tmp);
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(job.tmp, job.path);
  } catch {
    return 'sealed';
  }
  return 'placed';
}
