/**
 * Small files in batches: a file below SMALL_FILE is read whole, at once (a few system calls on
 * the calling thread instead of a dozen round trips to the thread pool, which for thousands of
 * small files cost far more than their bytes), and many such files are chunked in one call (the
 * pool's chunkBuffers: one message to a worker). The uploader (agent/upload.ts), the snapshot
 * walk (snapshot/batch.ts) and the restore's seeding (restore/seed.ts) all batch this way.
 *
 * Must hold:
 * - the bytes returned are the content of the file the walk listed with `st`: the open file is
 *   that inode with that size, mtime and ctime before the read, and the path still lists so after
 *   it (the ctime shows a same-size rewrite whose mtime was set back: touch -r, rsync -t). A
 *   file that changed, was replaced, or could not be read gives undefined, and the caller chunks it
 *   the ordinary way, by path (snapshot/file.ts), which reads again, skips or reports it;
 * - a file replaced by a FIFO, a device or a link never blocks the thread nor is followed: it is
 *   opened as openRegularSync does (fsutil.ts).
 */
import { closeSync, lstatSync, readSync, type Stats } from 'node:fs';
import { openRegularSync } from '../fsutil.js';
import type { FileChunks } from './stream.js';

/** Files below this size (bytes) are read whole; the pool chunks those inline one by one anyway. */
export const SMALL_FILE = 64 * 1024;

/** A batch of small files is chunked once it holds this many files, or this many bytes. */
export const BATCH_FILES = 64;
export const BATCH_BYTES = 1024 * 1024;

/** True once a batch of `files` files and `bytes` bytes is to be chunked. */
export function batchFull(files: number, bytes: number): boolean {
  return files >= BATCH_FILES || bytes >= BATCH_BYTES;
}

/** `items` in order, cut into batches (batchFull). */
export function batchesOf<T>(items: readonly T[], size: (item: T) => number): T[][] {
  const out: T[][] = [];
  let batch: T[] = [];
  let bytes = 0;
  for (const item of items) {
    batch.push(item);
    bytes += size(item);
    if (batchFull(batch.length, bytes)) {
      out.push(batch);
      batch = [];
      bytes = 0;
    }
  }
  if (batch.length > 0) out.push(batch);
  return out;
}

/** Chunks many files' bytes in one call (ChunkPool.chunkBuffers with the caller's params and hash). */
export type ChunkBuffersFn = (files: readonly Uint8Array[]) => Promise<FileChunks[]>;

/**
 * The chunks of each of `files` (each listed with `st`, below SMALL_FILE), read whole and chunked
 * in one call; undefined for a file that changed or could not be read so (readSmall).
 */
export async function chunkSmall(files: readonly { path: string; st: FileIdentity }[], chunkBuffers: ChunkBuffersFn): Promise<(FileChunks | undefined)[]> {
  const read = files.map((f) => readSmall(f.path, f.st));
  const chunked = await chunkBuffers(read.filter((b) => b !== undefined));
  let next = 0;
  return read.map((b) => (b === undefined ? undefined : chunked[next++]));
}

/** What readSmall compares of a file's lstat to tell that it did not change. */
export type FileIdentity = Pick<Stats, 'size' | 'mtimeMs' | 'ino' | 'ctimeMs'>;

function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino && a.ctimeMs === b.ctimeMs;
}

/** The whole content of `abs`, listed with `st` (st.size < SMALL_FILE), or undefined (see the header). */
export function readSmall(abs: string, st: FileIdentity): Buffer | undefined {
  let fd: number | undefined;
  try {
    const opened = openRegularSync(abs);
    fd = opened.fd;
    if (!sameFile(opened.st, st)) return undefined;
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
