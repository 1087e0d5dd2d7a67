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
import { copyFile, open, rm, stat, type FileHandle } from 'node:fs/promises';
import { isErrno, NOFOLLOW, onFile, openRegular, writeAll } from './fsutil.js';

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

/**
 * Copies the regular file at `src` to a new file at `dest` (EEXIST if anything stands there): its
 * bytes, its holes and its mode. `src` is opened with openRegular: a FIFO, device or link swapped
 * in since the caller checked the path fails at once (ENOTREG, ELOOP), never waited on nor read;
 * the bytes then come from that descriptor, not from the path again. A clone where the file system
 * makes one (Btrfs, XFS: the blocks are shared, holes included), through /proc/self/fd on Linux
 * (reopenPath); else read and written with writeSparse, since copyFile's own way without a clone
 * (copy_file_range, sendfile) writes every zero of a hole. Windows copies by path (CopyFileW: block
 * cloning, a server-side copy on a share): no FIFO can stand in a folder there, and openRegular
 * would follow a link there too; its files hold no holes without FSCTL_SET_SPARSE anyway.
 */
export async function copyRegular(src: string, dest: string): Promise<void> {
  if (process.platform === 'win32') return copyFile(src, dest, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
  const fh = await openRegular(src);
  try {
    const reopen = await reopenPath(fh);
    if (reopen === undefined || !(await cloned(reopen, dest))) await onFile(src, () => copyThrough(fh, dest));
  } finally {
    await fh.close();
  }
}

/**
 * A path whose open opens the very file `fh` has open, whatever stands at its own path now:
 * Linux's /proc/self/fd/<fd>, where /proc is mounted and shows this process (undefined elsewhere).
 */
async function reopenPath(fh: FileHandle): Promise<string | undefined> {
  if (process.platform !== 'linux') return undefined;
  const path = `/proc/self/fd/${fh.fd}`;
  const [mine, there] = await Promise.all([fh.stat(), stat(path).catch(() => undefined)]);
  return there?.ino === mine.ino && there.dev === mine.dev ? path : undefined;
}

/** True once `from` is cloned to a new `to`; false where the file system makes no clone (copyFile then leaves no `to`). */
async function cloned(from: string, to: string): Promise<boolean> {
  try {
    await copyFile(from, to, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE);
    return true;
  } catch (err) {
    if (isErrno(err, 'EEXIST')) throw err;
    return false;
  }
}

/** The most bytes copyThrough holds at once. */
const COPY_BUFFER = 1 << 20;

/**
 * Copies what `src` has open to a new file at `dest` (not following a link there), bytes and mode,
 * with the runs of zeros left as holes; `dest` is removed if that fails. A failing write names
 * `dest`; a failing read names no path (the caller knows which file `src` is: copyRegular names it).
 */
export async function copyThrough(src: FileHandle, dest: string): Promise<void> {
  const out = await open(dest, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, 0o600);
  try {
    const st = await src.stat();
    const buf = Buffer.allocUnsafe(Math.max(1, Math.min(COPY_BUFFER, st.size)));
    let holes = false;
    let at = 0;
    for (;;) {
      const { bytesRead } = await src.read(buf, 0, buf.byteLength, at);
      if (bytesRead === 0) break;
      if (await onFile(dest, () => writeSparse(out, buf.subarray(0, bytesRead), at))) holes = true;
      at += bytesRead;
    }
    await onFile(dest, async () => {
      if (holes) await out.truncate(at);
      await out.chmod(st.mode & 0o7777);
      await out.close();
    });
  } catch (err) {
    await out.close().catch(() => undefined);
    await rm(dest, { force: true });
    throw err;
  }
}
