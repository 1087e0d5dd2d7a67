/**
 * How restore chunks local files for seeding, and with which hash.
 *
 * Seeding only works if local files are cut and named exactly as the snapshot side cut and named
 * them, so both come from sync/chunker: the same FastCDC parameters (the repository's format
 * object) and the same hash the repository names blobs with.
 */
import { ChunkPool, chunkBytes, chunkFileHere, type HashAlgorithm } from '../chunker/index.js';
import { chunkSmall } from '../chunker/small.js';
import { isStrataError } from '../errors.js';
import type { Repository } from '../repo/repository.js';
import type { ChunkFileFn, ChunkFilesFn } from './types.js';

let shared: ChunkPool | undefined;
let workersBroken = false;

/** The algorithm chunk ids of `repo` are computed with: the one its format object names. */
export function repoHash(repo: Repository): HashAlgorithm {
  return repo.format.hash;
}

/**
 * `work` on sync/chunker's worker pool (one worker per core; idle workers do not keep the process
 * alive). Seeding is an optimisation, so when workers cannot run at all (E_CHUNK_WORKER: e.g. a
 * loader that worker threads do not inherit) it carries on with the calling thread (`here`).
 */
async function onPool<T>(work: (pool: ChunkPool) => Promise<T>, here: () => Promise<T> | T): Promise<T> {
  if (!workersBroken) {
    try {
      return await work((shared ??= new ChunkPool()));
    } catch (err) {
      if (!isStrataError(err, 'E_CHUNK_WORKER')) throw err;
      workersBroken = true;
    }
  }
  return here();
}

/** A file by path, on the pool. */
export const poolChunkFile: ChunkFileFn = (path, params, hash) =>
  onPool(
    (pool) => pool.chunkFile(path, params, { hash }),
    () => chunkFileHere(path, params, hash),
  );

/** Small files, read whole, in batches on the pool (one message a batch). */
export const poolChunkFiles: ChunkFilesFn = (files, params, hash) =>
  chunkSmall(files, (bytes) =>
    onPool(
      (pool) => pool.chunkBuffers(bytes, params, { hash }),
      () => bytes.map((b) => chunkBytes(b, params, hash).file),
    ),
  );
