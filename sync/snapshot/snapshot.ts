/**
 * takeSnapshot: a folder on disk into a new snapshot of a layer, then this device's head.
 */
import type { BigIntStats } from 'node:fs';
import { opendir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { blobId } from '../chunker/hash.js';
import { StrataError } from '../errors.js';
import { checkDeviceId, checkLayerId, timeAfterParents, type Repository, type SnapshotRecord } from '../repo/index.js';
import { FORMAT_VERSION, type BlobId, type Snapshot } from '../repo/types.js';
import { SmallBatch } from './batch.js';
import { InProcessChunker } from './chunker.js';
import { idHash, newStats, RACY_MS, type Context } from './context.js';
import { JobLimit } from './limit.js';
import { errnoOf, fsProblem } from './listing.js';
import { resolveParent } from './parent.js';
import { isObjectError } from '../store/index.js';
import { ParentTrees } from './prefetch.js';
import type { FileChunker, SnapshotOptions, SnapshotResult } from './types.js';
import { snapshotDir } from './walk.js';

/**
 * The state of one walk of `root` into the repository: takeSnapshot's, the agent's uploader's
 * (agent/upload.ts) and a preload's (profile/preload.ts). At most twice the chunker's parallelism
 * of file jobs are in flight.
 */
export function newContext(
  repo: Repository,
  root: string,
  opts: Pick<Context, 'exclude' | 'onProgress' | 'signal'> & { chunker?: FileChunker | undefined; trustBefore?: number | undefined },
): Context {
  const chunker = opts.chunker ?? new InProcessChunker();
  return {
    repo,
    root,
    params: repo.format.chunker,
    hash: idHash(repo),
    chunker,
    files: new JobLimit(2 * Math.max(1, chunker.size ?? 1)),
    small: new SmallBatch(),
    parents: new ParentTrees(repo),
    trustBefore: opts.trustBefore,
    exclude: opts.exclude,
    onProgress: opts.onProgress,
    signal: opts.signal,
    stats: newStats(),
    progress: { files: 0, bytes: 0, bytesDone: 0 },
  };
}

function noRoot(root: string, why: string, cause?: unknown): StrataError {
  return new StrataError('E_NO_ROOT', `the folder to snapshot ${why}`, { path: root }, { cause });
}

/** The root must be a readable directory (a symlink to one is accepted: it is what the user named). Its stat. */
async function checkRoot(root: string): Promise<BigIntStats> {
  let st;
  try {
    st = await stat(root, { bigint: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw noRoot(root, code === 'ENOENT' || code === 'ENOTDIR' ? 'does not exist' : `cannot be read (${code ?? String(err)})`, err);
  }
  if (!st.isDirectory()) throw noRoot(root, 'is not a directory');
  try {
    await (await opendir(root)).close();
  } catch (err) {
    throw noRoot(root, `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, err);
  }
  return st;
}

/**
 * The snapshot's `source`: the folder it was taken from, as the hash of its absolute path and its
 * root's device and inode numbers (the bucket learns no path). Another folder with the same files'
 * sizes and mtimes (a copy made with cp -a) has another path, and a folder moved into this path
 * another inode: the stat cache must not take its files from this snapshot. An inode number can
 * be reused only once the folder it numbered is gone, after the parent's start, and every file
 * put into the new folder since (written, moved or linked) has a ctime after it: read again.
 */
function sourceOf(repo: Repository, root: string, st: BigIntStats): string {
  return blobId(Buffer.from(JSON.stringify([root, st.dev.toString(), st.ino.toString()]), 'utf8'), idHash(repo));
}

/**
 * File system errors that reach the top: the root's own listing failing (errors below it are
 * reported in `skipped`), or errors no single entry explains (EMFILE, ENOSPC …).
 */
function asStrataError(root: string, err: unknown): unknown {
  const code = errnoOf(err);
  if (err instanceof StrataError || code === undefined) return err;
  const path = (err as NodeJS.ErrnoException).path ?? root;
  if (path === root && fsProblem(err)) return noRoot(root, `could not be read during the snapshot (${code})`, err);
  return new StrataError('E_SNAPSHOT_READ', `file system error while taking a snapshot (${code})`, { path }, { cause: err });
}

/** Walks the root and writes every blob; resolves once they are all durable and indexed. */
async function writeBlobs(ctx: Context, parentRoot: BlobId | undefined): Promise<BlobId> {
  try {
    const root = await snapshotDir(ctx, ctx.root, '', parentRoot);
    await ctx.repo.flush();
    return root;
  } catch (err) {
    // No job may outlive the snapshot, and the writer must be usable again for the next one.
    await ctx.files.idle();
    await ctx.repo.abort();
    throw asStrataError(ctx.root, err);
  }
}

/**
 * Whether `parent`'s time is when its walk started by this machine's clock, so that file times on
 * this disk can be compared with it. Not so when it lies ahead of this clock now, nor when it was
 * dated just after a parent of its own (timeAfterParents: built on another device's snapshot whose
 * clock runs ahead, it took that clock's time). A parent of it that cannot be read leaves it untrusted.
 */
async function onThisClock(repo: Repository, layer: string, parent: SnapshotRecord, started: number): Promise<boolean> {
  const time = Date.parse(parent.snapshot.time);
  if (!(time <= started)) return false;
  for (const id of parent.snapshot.parents) {
    try {
      if (Date.parse((await repo.loadSnapshot(layer, id)).time) >= time - 1) return false;
    } catch (err) {
      if (!isObjectError(err)) throw err;
      return false;
    }
  }
  return true;
}

/**
 * Snapshots `opts.root` into layer `opts.layer` as device `opts.device` and points the device's
 * head at it. Write order (DESIGN §2): packs and indexes (flush resolves), then the snapshot, then
 * the head — a head never names anything not durable.
 *
 * One takeSnapshot at a time per Repository instance: a failure aborts the instance's pending
 * writes (Repository.abort), which would pull blobs from under a concurrent run.
 */
export async function takeSnapshot(repo: Repository, opts: SnapshotOptions): Promise<SnapshotResult> {
  const layer = checkLayerId(opts.layer);
  const device = checkDeviceId(opts.device);
  const rootPath = resolve(opts.root);
  const source = sourceOf(repo, rootPath, await checkRoot(rootPath));
  // Other devices' packs since the last call: the parent's trees and the dedup must see them.
  await repo.loadIndex();
  // A snapshot's time is when it started: every file it reads was read after it (RACY_MS).
  const started = (opts.now ?? (() => new Date()))().getTime();
  const parent = await resolveParent(repo, layer, device, opts.parent);
  // Only this device's own snapshot of this folder vouches for it: another machine's file, or another folder's, of the same
  // size and mtime may hold other bytes, and only this machine's clock can be compared with the ctimes of its disk (file.ts).
  // A parent without a source (not a folder snapshot, or written before sources were recorded) vouches for nothing.
  const trusted =
    opts.statCache !== false && parent?.snapshot.device === device && parent.snapshot.source === source && (await onThisClock(repo, layer, parent, started));
  // Where the parent vouches for nothing here (an org layer's versions, another device's snapshot),
  // the snapshot is never dated before it, whatever this clock says (timeAfterParents).
  const time = timeAfterParents(started, parent && !trusted ? [parent.snapshot.time] : []);
  const ctx = newContext(repo, rootPath, {
    chunker: opts.chunker,
    trustBefore: trusted ? Date.parse(parent.snapshot.time) - RACY_MS : undefined,
    exclude: opts.exclude,
    onProgress: opts.onProgress,
    signal: opts.signal,
  });
  const root = await writeBlobs(ctx, parent?.snapshot.root);
  const { stats } = ctx;
  const snapshot: Snapshot = {
    version: FORMAT_VERSION,
    layer,
    device,
    time,
    root,
    parents: parent ? [parent.id] : [],
    source,
    summary: { files: stats.files, dirs: stats.dirs, bytes: stats.bytes, bytesAdded: stats.bytesAdded },
  };
  opts.signal?.throwIfAborted();
  const snapshotId = await repo.saveSnapshot(snapshot);
  await repo.writeHead(layer, device, snapshotId, snapshot.time);
  return { snapshotId, snapshot, stats };
}
