/**
 * Reading a small changed file whole, at once, for the uploader's batches (upload.ts): a few
 * system calls on the calling thread instead of a dozen round trips to the thread pool, which
 * for thousands of small files cost far more than their bytes.
 *
 * Must hold:
 * - the bytes returned are the content of the file the walk listed with `st`: the open file is
 *   that inode with that size and mtime before the read, and the path still lists so after it. A
 *   file that changed, was replaced, or could not be read gives undefined, and the caller reads it
 *   the ordinary way (snapshot/file.ts), which reads again, skips or reports it;
 * - a file replaced by a FIFO or a device never blocks the thread: it is opened non-blocking, and
 *   only a regular file is read.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, type Stats } from 'node:fs';

/** Files below this size (bytes) are read whole; the pool chunks those inline one by one anyway. */
export const SMALL_FILE = 64 * 1024;

// Windows has no O_NONBLOCK, and no FIFOs in a folder either.
const FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

function sameFile(a: Stats, b: Stats): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;
}

/** The whole content of `abs`, listed with `st` (st.size < SMALL_FILE), or undefined (see the header). */
export function readSmall(abs: string, st: Stats): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(abs, FLAGS);
    const opened = fstatSync(fd);
    if (!opened.isFile() || !sameFile(opened, st)) return undefined;
    const bytes = Buffer.allocUnsafeSlow(st.size);
    for (let filled = 0; filled < st.size; ) {
      const n = readSync(fd, bytes, filled, st.size - filled, filled);
      if (n === 0) return undefined;
      filled += n;
    }
    closeSync(fd);
    fd = undefined;
    return sameFile(lstatSync(abs), st) ? bytes : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeQuietly(fd);
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Read-only: nothing of ours is lost if the close fails.
  }
}
