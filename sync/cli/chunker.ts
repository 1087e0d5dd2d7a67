/**
 * The worker pool the CLI hands to snapshot and restore. One pool per command, closed when the
 * command ends: a worker thread left running would keep the process from exiting.
 */
import { ChunkPool } from '../chunker/index.js';
import type { ChunkFileFn } from '../restore/index.js';
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
