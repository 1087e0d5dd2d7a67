/**
 * The worker pool the CLI hands to snapshot and restore. One pool per command, closed when the
 * command ends: a worker thread left running would keep the process from exiting.
 */
import { ChunkPool } from '../chunker/index.js';
import { chunkSmall } from '../chunker/small.js';
import type { ChunkFileFn, ChunkFilesFn } from '../restore/index.js';
import type { Context } from './context.js';

export function openChunkPool(ctx: Context): ChunkPool {
  const pool = new ChunkPool();
  ctx.onClose(() => pool.close());
  return pool;
}

/** The pool in the shape restore takes. */
export function poolChunkFn(pool: ChunkPool): ChunkFileFn {
  return (path, params, hash) => pool.chunkFile(path, params, { hash });
}

/** The pool chunking small files in batches (chunker/small.ts: read whole, one message a batch), as restore takes them. */
export function poolChunkFilesFn(pool: ChunkPool): ChunkFilesFn {
  return (files, params, hash) => chunkSmall(files, (bytes) => pool.chunkBuffers(bytes, params, { hash }));
}
