/**
 * Writing file content with holes: runs of zero bytes are skipped instead of written, so that a
 * sparse file (a VM disk image, a preallocated database or download) takes blocks for its data
 * only, as where it came from — what `cp --sparse=auto`, `rsync --sparse` and restic's restore do.
 * Where the file system keeps no holes the bytes are the same: a place never written reads as
 * zeros, and the size set with ftruncate extends a file with zeros on every POSIX file system.
 *
 * What must hold for a writer that uses these:
 * - It writes only into a file it created empty, each place at most once: a place it skips must
 *   read as zeros, which holds only where nothing was written before.
 * - Once a write here skipped bytes (returned true), it sets the file's size with ftruncate before
 *   sealing it: zeros at the end of a file are not written at all.
 */
import { constants, writeSync } from 'node:fs';
import { copyFile, open, rm, type FileHandle } from 'node:fs/promises';
import { NOFOLLOW, writeAll } from './fsutil.js';

/**
 * Holes are cut at this grain, aligned to offsets in the file: the block of the common file systems
 * (ext4, XFS, APFS, NTFS: 4 KiB). A run of zeros not covering a whole block would take one anyway.
 */
export const HOLE_BLOCK = 4096;

/**
 * Zeros inside data are skipped from this long run on: a hole costs one write more (the data on
 * each side of it), and many short ones would cut a chunk into many small writes. A chunk of zeros
 * alone is always skipped (CDC cuts a long run of zeros into such chunks: the bulk of any hole).
 */
export const MIN_HOLE = 32 * 1024;

const ZEROS = new Uint8Array(HOLE_BLOCK);

function isZero(data: Uint8Array, from: number, to: number): boolean {
  // Most data blocks end here: a byte read in JS costs less than a compare call.
  if (data[from] !== 0 || data[to - 1] !== 0) return false;
  return Buffer.compare(data.subarray(from, to), ZEROS.subarray(0, to - from)) === 0;
}

/**
 * The [start, end) ranges of `data` to write when it goes at offset `position` of a file: all of it
 * but its runs of zeros of MIN_HOLE or more, in whole HOLE_BLOCKs of the file; none when it is all
 * zeros.
 */
export function dataRanges(data: Uint8Array, position: number): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  let start = 0;
  let zerosFrom = -1;
  for (let at = 0; at < data.byteLength; ) {
    const end = Math.min(data.byteLength, at + HOLE_BLOCK - ((position + at) % HOLE_BLOCK));
    if (isZero(data, at, end)) {
      if (zerosFrom < 0) zerosFrom = at;
    } else {
      if (zerosFrom >= 0 && at - zerosFrom >= MIN_HOLE) {
        if (zerosFrom > start) ranges.push([start, zerosFrom]);
        start = at;
      }
      zerosFrom = -1;
    }
    at = end;
  }
  const hole = zerosFrom === 0 || (zerosFrom > 0 && data.byteLength - zerosFrom >= MIN_HOLE);
  const end = hole ? zerosFrom : data.byteLength;
  if (end > start) ranges.push([start, end]);
  return ranges;
}

/** Whether `ranges` leave out some of `length` bytes. */
function skips(ranges: ReadonlyArray<[number, number]>, length: number): boolean {
  return ranges.reduce((n, [s, e]) => n + e - s, 0) < length;
}

/** writeAll but for the zero runs of `data` (dataRanges); true when it skipped some (see the header). */
export async function writeSparse(fh: FileHandle, data: Uint8Array, position: number): Promise<boolean> {
  const ranges = dataRanges(data, position);
  for (const [s, e] of ranges) await writeAll(fh, data.subarray(s, e), position + s);
  return skips(ranges, data.byteLength);
}

/** writeSparse on a descriptor, synchronously. */
export function writeSparseSync(fd: number, data: Uint8Array, position: number): boolean {
  const ranges = dataRanges(data, position);
  for (const [s, e] of ranges) {
    for (let done = s; done < e; ) done += writeSync(fd, data, done, e - done, position + done);
  }
  return skips(ranges, data.byteLength);
}

/** Bytes copySparse reads at a time. */
const COPY_BUFFER = 1 << 20;

/**
 * Copies the file `from` to `to`, created here (exclusively, mode 0600: the caller sets its mode),
 * with the runs of zeros as holes: a clone where the file system makes one (the blocks are shared,
 * holes included: Btrfs, XFS, APFS), else read and written with writeSparse. copyFile's own way
 * where there is no clone (copy_file_range, sendfile) writes every zero of a hole. `to` is removed
 * if the copy fails.
 */
export async function copySparse(from: string, to: string): Promise<void> {
  try {
    await copyFile(from, to, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE);
    return;
  } catch {
    // No clone here (or `from` cannot be read, which the copy below reports in its own words).
  }
  // O_NONBLOCK: a FIFO swapped in for `from` must not hang the open.
  const src = await open(from, constants.O_RDONLY | constants.O_NONBLOCK | NOFOLLOW);
  try {
    const dst = await open(to, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, 0o600);
    try {
      await copyInto(src, dst);
    } catch (err) {
      await dst.close().catch(() => undefined);
      await rm(to, { force: true });
      throw err;
    }
    await dst.close();
  } finally {
    await src.close();
  }
}

async function copyInto(src: FileHandle, dst: FileHandle): Promise<void> {
  const buf = Buffer.allocUnsafe(COPY_BUFFER);
  let holes = false;
  let at = 0;
  for (;;) {
    const { bytesRead } = await src.read(buf, 0, COPY_BUFFER, at);
    if (bytesRead === 0) break;
    if (await writeSparse(dst, buf.subarray(0, bytesRead), at)) holes = true;
    at += bytesRead;
  }
  if (holes) await dst.truncate(at);
}
