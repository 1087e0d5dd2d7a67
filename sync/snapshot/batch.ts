/**
 * Small changed files in batches, for the snapshot walk (walk.ts) and the uploader
 * (agent/upload.ts): a file below SMALL_FILE is read whole as the walk hands it over
 * (chunker/small.ts) and waits in the open batch; one job (ctx.files) chunks a batch in one call
 * (one message to a worker) and adds the chunks the repository lacks from the bytes it read, so a
 * small file is neither read nor hashed twice. A job is one large file or one batch of at most
 * BATCH_FILES files and BATCH_BYTES bytes, so memory stays bounded.
 *
 * Must hold: a file's entry names the chunks of the bytes read, and those bytes are the file as it
 * was listed (readSmall); a file that changed while it was read, or could not be read so, is not
 * taken (add answers false) and goes the ordinary way (file.ts), which reads it again or reports it.
 */
import { join } from 'node:path';
import type { Stats } from 'node:fs';
import { batchFull, readSmall, SMALL_FILE } from '../chunker/small.js';
import type { BlobId } from '../repo/types.js';
import { addBlob, report, type Context } from './context.js';
import type { FileChunk } from './types.js';

/** A small file for the open batch. */
export interface SmallFile {
  /** Layer-relative path (`/`-separated), under ctx.root. */
  rel: string;
  /** As the walk listed it. */
  st: Stats;
  /** Called as its batch starts: its progress counts from then. */
  started?: () => void;
  /** Called with its chunk ids once the chunks the repository lacked are added; `readAt`: Date.now() just before the read. */
  done: (chunks: BlobId[], readAt: number) => void;
}

interface ReadFile extends SmallFile {
  bytes: Buffer;
  readAt: number;
}

export class SmallBatch {
  private files: ReadFile[] = [];
  private bytes = 0;
  /** Batch jobs started and not yet finished. */
  private readonly running = new Set<Promise<unknown>>();

  /** Reads `f` whole into the open batch; false when it is not for a batch (see the header). */
  async add(ctx: Context, f: SmallFile): Promise<boolean> {
    if (f.st.size >= SMALL_FILE || ctx.chunker.chunkBuffers === undefined) return false;
    const readAt = Date.now();
    const bytes = readSmall(join(ctx.root, f.rel), f.st);
    if (bytes === undefined) return false;
    this.files.push({ ...f, bytes, readAt });
    this.bytes += bytes.byteLength;
    if (batchFull(this.files.length, this.bytes)) await this.send(ctx);
    return true;
  }

  /** Starts the job that chunks the open batch, when it holds any file. */
  async send(ctx: Context): Promise<void> {
    const files = this.files;
    if (files.length === 0) return;
    this.files = [];
    this.bytes = 0;
    const started = await ctx.files.start(() => chunkAndStore(ctx, files));
    this.running.add(started.result);
    void started.result.finally(() => this.running.delete(started.result));
  }

  /** Sends the open batch and waits for every batch job (a failed one's error is ctx.files.check's). */
  async drain(ctx: Context): Promise<void> {
    await this.send(ctx);
    while (this.running.size > 0) await Promise.all(this.running);
  }
}

async function chunkAndStore(ctx: Context, files: ReadFile[]): Promise<void> {
  ctx.signal?.throwIfAborted();
  for (const f of files) {
    f.started?.();
    ctx.progress.files++;
    ctx.progress.bytes += f.st.size;
  }
  const chunked = await ctx.chunker.chunkBuffers!(
    files.map((f) => f.bytes),
    ctx.params,
    { hash: ctx.hash },
  );
  for (const [i, f] of files.entries()) await store(ctx, f, chunked[i]!.chunks);
}

/** Adds the new chunks of a file read whole and answers with its chunk ids. */
async function store(ctx: Context, f: ReadFile, chunks: readonly FileChunk[]): Promise<void> {
  ctx.stats.bytesRead += f.bytes.byteLength;
  for (const c of chunks) {
    if (ctx.repo.hasBlob(c.id)) continue;
    ctx.signal?.throwIfAborted();
    // A piece of the file's buffer is copied: kept in a pack, it must not keep the rest alive.
    const data = c.length === f.bytes.byteLength ? f.bytes : Buffer.from(f.bytes.subarray(c.offset, c.offset + c.length));
    await addBlob(ctx, 'data', c.id, data);
  }
  ctx.progress.bytesDone += f.st.size;
  f.done(
    chunks.map((c) => c.id),
    f.readAt,
  );
  report(ctx, f.rel);
}
