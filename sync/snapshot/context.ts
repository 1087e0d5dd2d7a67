/**
 * The state one takeSnapshot run shares between the walker and the file jobs: the repository,
 * the chunker, the running statistics and the progress reports.
 */
import type { Stats } from 'node:fs';
import type { HashAlgorithm } from '../chunker/hash.js';
import type { Repository } from '../repo/index.js';
import type { BlobType, ChunkerParams } from '../repo/types.js';
import type { SmallBatch } from './batch.js';
import type { JobLimit } from './limit.js';
import type { ParentTrees } from './prefetch.js';
import type { FileChunker, SnapshotOptions, SnapshotStats } from './types.js';

export interface Context {
  readonly repo: Repository;
  readonly root: string;
  readonly params: ChunkerParams;
  /** The repository's id hash: every chunk and tree id is computed with it. */
  readonly hash: HashAlgorithm;
  readonly chunker: FileChunker;
  readonly files: JobLimit;
  /** Small changed files read whole, waiting to be chunked together (batch.ts). */
  readonly small: SmallBatch;
  /** The parent snapshot's trees, read ahead; the walk takes each directory's from here. */
  readonly parents: ParentTrees;
  /**
   * A parent's entry for a file of the same size and mtime is taken without reading the file only
   * when that mtime and the file's ctime are before this time (ms): see RACY_MS and file.ts.
   * Undefined: never (no stat cache).
   */
  readonly trustBefore?: number;
  readonly exclude: SnapshotOptions['exclude'];
  readonly onProgress: SnapshotOptions['onProgress'];
  readonly signal: AbortSignal | undefined;
  readonly stats: SnapshotStats;
  readonly progress: { files: number; bytes: number; bytesDone: number };
}

/**
 * How long before a read an mtime must lie for a stat cache to vouch for the content. Within one
 * timestamp tick, a same-size rewrite leaves size and mtime as they were (git calls such entries
 * racy). A tick is a few ms on local disks and 2 s on FAT, and network file systems stamp with
 * the server's clock, so the margin is generous: its cost is one more read of a file just written.
 */
export const RACY_MS = 3000;

/** The hash the repository names blobs with (its format object's); every id this run computes uses it. */
export function idHash(repo: Repository): HashAlgorithm {
  return repo.format.hash;
}

export function newStats(): SnapshotStats {
  return { files: 0, dirs: 0, symlinks: 0, bytes: 0, bytesRead: 0, bytesAdded: 0, blobsAdded: 0, filesUnchanged: 0, skipped: [] };
}

export function skip(ctx: Context, path: string, reason: string): void {
  ctx.stats.skipped.push({ path, reason });
}

export function report(ctx: Context, currentPath: string): void {
  ctx.onProgress?.({ ...ctx.progress, currentPath });
}

/** Adds a blob and counts it when it was new. */
export async function addBlob(ctx: Context, type: BlobType, id: string, data: Uint8Array): Promise<void> {
  if (await ctx.repo.addBlob(type, id, data)) {
    ctx.stats.blobsAdded++;
    ctx.stats.bytesAdded += data.byteLength;
  }
}

/** Permission bits as stored in trees. */
export function modeOf(st: Stats): number {
  return st.mode & 0o7777;
}

/**
 * Trees refuse negative times; a file dated before 1970 is stored at the epoch. Whole
 * milliseconds: a time set with utimes reads back with float noise below the microsecond, and a
 * stored mtime must read back equal after a restore or sync writes it, or every pass would see a
 * change.
 */
export function mtimeOf(st: Stats): number {
  return Math.max(0, Math.round(st.mtimeMs));
}

/** `a/b` joined the way tree paths are written, whatever the platform separator. */
export function relJoin(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}
