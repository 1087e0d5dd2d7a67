/**
 * A pool of worker threads that chunk and hash files, so that a large scan uses every core.
 *
 * - Size: os.availableParallelism() workers (at least 1), started on first need.
 * - Requests queue in order; each worker handles one file at a time, reading it itself
 *   (streaming) and replying with boundaries and ids only.
 * - Files below `inlineBelow` bytes are chunked on the calling thread: for them a worker round
 *   trip costs more than the hashing.
 * - chunkBuffers: many small files the caller has read, chunked in one request (their bytes
 *   copied to the worker once, back to back), so that a folder of small files is hashed on every
 *   core without a message per file; a batch below `inlineBelow` bytes in all is chunked inline.
 * - chunkFileWithData: the worker chunks, then the caller re-reads only the chunks it wants
 *   (reread.ts). That beats shipping every chunk's bytes back, because in an incremental backup
 *   most chunks are already stored, and it needs no cross-thread backpressure.
 * - An idle pool must not keep the process alive: workers are unref'd whenever they have no task.
 *   close() ends the workers and fails queued requests with E_POOL_CLOSED.
 * - A worker that dies fails its request with E_CHUNK_WORKER and is replaced on the next request.
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { StrataError } from '../errors.js';
import { openRegular } from '../fsutil.js';
import type { ChunkerParams } from '../repo/types.js';
import { fileReadError, type FileChunks } from './file.js';
import { DEFAULT_HASH, type HashAlgorithm } from './hash.js';
import { validateChunkerParams } from './params.js';
import { fromWire, type ChunkReply, type ChunkRequest } from './protocol.js';
import { rereadChunks, type OnChunk, type WantChunk } from './reread.js';
import { chunkBytes } from './stream.js';

export interface ChunkPoolOptions {
  /** Worker count; default os.availableParallelism(). */
  size?: number;
  /** Files smaller than this are chunked inline; default 64 KiB. */
  inlineBelow?: number;
}

export interface ChunkFileOptions {
  hash?: HashAlgorithm;
  /** The file's size if the caller already has it (saves a stat). */
  size?: number;
}

export interface ChunkFileWithDataOptions extends ChunkFileOptions {
  /** Which chunks need their bytes (e.g. those not yet in the repository); default all. */
  want?: WantChunk;
}

interface Task {
  req: ChunkRequest;
  /** Buffers of `req` moved to the worker, not copied. */
  transfer: ArrayBuffer[];
  /** The reply's result: one file's chunks, or a batch's. */
  resolve: (r: FileChunks | FileChunks[]) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  task: Task | undefined;
}

/**
 * Starts a worker. From compiled JS (dist/) worker.js sits next to this file and is loaded
 * directly. Under tsx (tests, `npm run bench`) only worker.ts exists, and tsx does not register
 * its loader in worker threads on every Node version, so a small bootstrap registers tsx in the
 * worker and then imports worker.ts. The worker gets none of the parent's flags (`execArgv: []`):
 * it needs none, and some that a parent may carry (Node 24 under npx, `--input-type`) make the
 * Worker constructor throw.
 */
function startWorker(): Worker {
  const js = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js, { execArgv: [] });
  const ts = JSON.stringify(new URL('./worker.ts', import.meta.url).href);
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const bootstrap = `import(${tsx}).then((api) => { api.register(); return import(${ts}); });`;
  return new Worker(bootstrap, { eval: true, execArgv: [] });
}

export class ChunkPool {
  readonly size: number;
  private readonly inlineBelow: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;

  constructor(opts: ChunkPoolOptions = {}) {
    this.size = Math.max(1, Math.floor(opts.size ?? availableParallelism()));
    this.inlineBelow = opts.inlineBelow ?? 64 * 1024;
  }

  /** Chunk boundaries and ids of the file at `path`. */
  async chunkFile(path: string, params: ChunkerParams, opts: ChunkFileOptions = {}): Promise<FileChunks> {
    const hash = opts.hash ?? DEFAULT_HASH;
    validateChunkerParams(params, { path });
    if ((await this.sizeOf(path, opts)) < this.inlineBelow) return (await this.inline(path, params, hash)).file;
    return this.submit(path, params, hash);
  }

  /**
   * As chunkFile, and also calls onChunk (in file order, awaiting each call) with the bytes of
   * every chunk that `want` accepts. Raises E_FILE_CHANGED if the file changed under it.
   */
  async chunkFileWithData(path: string, params: ChunkerParams, onChunk: OnChunk, opts: ChunkFileWithDataOptions = {}): Promise<FileChunks> {
    const hash = opts.hash ?? DEFAULT_HASH;
    const want = opts.want ?? (() => true);
    validateChunkerParams(params, { path });
    if ((await this.sizeOf(path, opts)) < this.inlineBelow) {
      const { file, data } = await this.inline(path, params, hash);
      for (const [i, ref] of file.chunks.entries()) if (want(ref.id)) await onChunk({ ...ref, data: data[i]! });
      return file;
    }
    const file = await this.submit(path, params, hash);
    await rereadChunks(path, file, hash, want, onChunk);
    return file;
  }

  /** The chunks of each of `files` (bytes in memory), in order. */
  async chunkBuffers(files: readonly Uint8Array[], params: ChunkerParams, opts: { hash?: HashAlgorithm } = {}): Promise<FileChunks[]> {
    const hash = opts.hash ?? DEFAULT_HASH;
    validateChunkerParams(params);
    const lengths = files.map((f) => f.byteLength);
    const total = lengths.reduce((a, b) => a + b, 0);
    if (total < this.inlineBelow) return files.map((f) => chunkBytes(f, params, hash).file);
    // One buffer of their own, moved to the worker: a file's bytes may be a view of a larger buffer.
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const f of files) {
      bytes.set(f, at);
      at += f.byteLength;
    }
    return (await this.post({ id: this.nextId++, bytes: bytes.buffer, lengths, params, hash }, [bytes.buffer])) as FileChunks[];
  }

  /** Ends all workers; queued and running requests fail with E_POOL_CLOSED. */
  async close(): Promise<void> {
    this.closed = true;
    const err = new StrataError('E_POOL_CLOSED', 'chunk pool closed');
    for (const task of this.queue.splice(0)) task.reject(err);
    const slots = this.slots.splice(0);
    for (const slot of slots) slot.task?.reject(err);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private async sizeOf(path: string, opts: ChunkFileOptions): Promise<number> {
    if (opts.size !== undefined) return opts.size;
    try {
      return (await stat(path)).size;
    } catch (err) {
      throw fileReadError(path, err);
    }
  }

  private async inline(path: string, params: ChunkerParams, hash: HashAlgorithm) {
    let bytes: Buffer;
    let fh;
    try {
      fh = await openRegular(path);
      bytes = await fh.readFile();
    } catch (err) {
      throw fileReadError(path, err);
    } finally {
      await fh?.close();
    }
    return chunkBytes(bytes, params, hash);
  }

  private async submit(path: string, params: ChunkerParams, hash: HashAlgorithm): Promise<FileChunks> {
    return (await this.post({ id: this.nextId++, path, params, hash })) as FileChunks;
  }

  private post(req: ChunkRequest, transfer: ArrayBuffer[] = []): Promise<FileChunks | FileChunks[]> {
    if (this.closed) return Promise.reject(new StrataError('E_POOL_CLOSED', 'chunk pool closed', 'path' in req ? { path: req.path } : {}));
    return new Promise((resolve, reject) => {
      this.queue.push({ req, transfer, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const slot = this.slots.find((s) => !s.task) ?? (this.slots.length < this.size ? this.spawn() : undefined);
      if (!slot) return;
      const task = this.queue.shift()!;
      slot.task = task;
      slot.worker.ref();
      slot.worker.postMessage(task.req, task.transfer);
    }
  }

  private spawn(): Slot {
    const slot: Slot = { worker: startWorker(), task: undefined };
    slot.worker.on('message', (reply: ChunkReply) => this.settle(slot, reply));
    slot.worker.on('error', (err) => this.fail(slot, err));
    slot.worker.on('exit', (code) => this.fail(slot, new Error(`worker exited with code ${code}`)));
    this.slots.push(slot);
    return slot;
  }

  private settle(slot: Slot, reply: ChunkReply): void {
    const task = slot.task;
    slot.task = undefined;
    if (task && task.req.id === reply.id) {
      if (reply.ok) task.resolve('results' in reply ? reply.results : reply.result);
      else task.reject(fromWire(reply.error));
    }
    if (this.queue.length > 0) this.dispatch();
    else slot.worker.unref();
  }

  private fail(slot: Slot, err: Error): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    const req = slot.task?.req;
    const path = req !== undefined && 'path' in req ? req.path : undefined;
    slot.task?.reject(new StrataError('E_CHUNK_WORKER', `chunk worker failed: ${err.message}`, { path }, { cause: err }));
    void slot.worker.terminate();
    this.dispatch();
  }
}
