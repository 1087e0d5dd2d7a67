/**
 * One regular file into the repository.
 *
 * - Stat cache: when the parent snapshot has a file of the same size and mtime whose chunks are
 *   all still in the repository, its chunk list is reused and the file is not opened — only when
 *   both the file's mtime and its ctime lie more than RACY_MS before the parent's start
 *   (ctx.trustBefore). The mtime: the parent may have read the file in the same timestamp tick as
 *   a same-size rewrite. The ctime: a same-size edit whose mtime was set back since the parent
 *   (touch -r, rsync -t, cp -p, an archive extracted over the file) leaves size and mtime as the
 *   parent recorded them, and a tree entry has no ctime or inode to tell (tree ids must not
 *   depend on the machine: DESIGN §2). No process can set a ctime, so one older than the
 *   parent's start says the file was last changed before the parent looked at it. A chmod, rename
 *   or new hard link since moves the ctime too: the file is read again, which costs a read and
 *   never a wrong entry. The comparison is sound only on the clock that stamps the disk, which is
 *   why only a parent this device took is trusted, and only for the folder it was taken from: a
 *   copy elsewhere that kept sizes and mtimes (cp -a) may hold other bytes (snapshot.ts).
 * - Otherwise the chunker finds the boundaries and ids, and only the chunks the repository lacks
 *   are read again (positional reads of just those ranges) and added. Each re-read chunk must hash
 *   to the id the chunker gave it, and the file's size, mtime, inode and ctime must be what they
 *   were when it was listed (the ctime shows a same-size rewrite whose mtime was set back, which
 *   the chunks already stored are not read again to see); if not, the file changed under us and
 *   is chunked again, at most MAX_ATTEMPTS times, after which it is skipped and reported. A
 *   snapshot must never record chunks that do not belong together.
 */
import type { Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { rereadChunks } from '../chunker/reread.js';
import { isStrataError } from '../errors.js';
import type { FileEntry, TreeEntry } from '../repo/types.js';
import { addBlob, modeOf, mtimeOf, report, type Context } from './context.js';
import type { ChunkedFile } from './types.js';

export const MAX_ATTEMPTS = 3;

/** What happened to one file: its entry and the stat it was read at, or why there is none. */
export type FileOutcome = { entry: FileEntry; st: Stats } | { skipped: string };

export function entryFor(name: string, st: Stats, chunks: string[]): FileEntry {
  return { name, type: 'file', mode: modeOf(st), mtimeMs: mtimeOf(st), size: st.size, chunks };
}

/** The parent's chunk list for a file it vouches for unchanged (stat cache), else undefined. */
export function cached(ctx: Context, st: Stats, prev: TreeEntry | undefined): string[] | undefined {
  if (prev?.type !== 'file' || prev.size !== st.size || prev.mtimeMs !== mtimeOf(st)) return undefined;
  const trustBefore = ctx.trustBefore ?? Number.NaN;
  if (!(prev.mtimeMs < trustBefore && st.ctimeMs < trustBefore)) return undefined;
  return prev.chunks.every((id) => ctx.repo.hasBlob(id)) ? prev.chunks : undefined;
}

function coversExactly(chunked: ChunkedFile, size: number): boolean {
  let at = 0;
  for (const c of chunked.chunks) {
    if (c.offset !== at || c.length <= 0) return false;
    at += c.length;
  }
  return at === size && chunked.size === size;
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino && a.ctimeMs === b.ctimeMs;
}

/** Re-reads and adds the chunks the repository lacks; false when the file changed under us. */
async function addMissing(ctx: Context, abs: string, rel: string, chunked: ChunkedFile, done: { bytes: number }): Promise<boolean> {
  try {
    await rereadChunks(abs, chunked, ctx.hash, (id) => !ctx.repo.hasBlob(id), async (c) => {
      ctx.signal?.throwIfAborted();
      await addBlob(ctx, 'data', c.id, c.data);
      done.bytes += c.length;
      ctx.progress.bytesDone += c.length;
      report(ctx, rel);
    });
    return true;
  } catch (err) {
    if (isStrataError(err, 'E_FILE_CHANGED')) return false;
    throw err;
  }
}

/** One pass: chunk, add what is missing; undefined when the file changed while being read. */
async function chunkOnce(ctx: Context, abs: string, rel: string, st: Stats): Promise<ChunkedFile | undefined> {
  const chunked = await ctx.chunker.chunkFile(abs, ctx.params, { hash: ctx.hash });
  ctx.stats.bytesRead += chunked.size;
  if (!coversExactly(chunked, st.size)) return undefined;
  const done = { bytes: 0 };
  const ok = (await addMissing(ctx, abs, rel, chunked, done)) && sameFile(st, await lstat(abs));
  // A failed pass is redone from the start: its progress must not count twice.
  ctx.progress.bytesDone += ok ? st.size - done.bytes : -done.bytes;
  return ok ? chunked : undefined;
}

/** Snapshot one regular file that was listed with stat `st`; `prev` is the parent's entry of that name. */
export async function snapshotFile(ctx: Context, abs: string, rel: string, name: string, st: Stats, prev: TreeEntry | undefined): Promise<FileOutcome> {
  ctx.progress.files++;
  ctx.progress.bytes += st.size;
  const reuse = cached(ctx, st, prev);
  if (reuse) {
    ctx.stats.filesUnchanged++;
    ctx.progress.bytesDone += st.size;
    report(ctx, rel);
    return { entry: entryFor(name, st, reuse), st };
  }
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const chunked = await chunkOnce(ctx, abs, rel, st);
    if (chunked) return { entry: entryFor(name, st, chunked.chunks.map((c) => c.id)), st };
    const now = await lstat(abs);
    if (!now.isFile()) return { skipped: 'changed into something other than a file while being read' };
    ctx.progress.bytes += now.size - st.size;
    st = now;
  }
  return { skipped: `kept changing while being read (gave up after ${MAX_ATTEMPTS} attempts)` };
}
