/**
 * How restore chunks local files for seeding, and with which hash.
 *
 * Seeding only works if local files are cut and named exactly as the snapshot side cut and named
 * them, so both come from sync/chunker: the same FastCDC parameters (the repository's format
 * object) and the same hash the repository names blobs with.
 */
import { ChunkPool, chunkFileHere, type HashAlgorithm } from '../chunker/index.js';
import { isStrataError } from '../errors.js';
import type { Repository } from '../repo/repository.js';
import type { ChunkFileFn } from './types.js';

let shared: ChunkPool | undefined;
let workersBroken = false;

/** The algorithm chunk ids of `repo` are computed with: the one its format object names. */
export function repoHash(repo: Repository): HashAlgorithm {
  return repo.format.hash;
}

/**
 * Chunks on sync/chunker's worker pool (one worker per core; idle workers do not keep the process
 * alive). Seeding is an optimisation, so when workers cannot run at all (E_CHUNK_WORKER: e.g. a
 * loader that worker threads do not inherit) it carries on with the calling thread.
 */
export const poolChunkFile: ChunkFileFn = async (path, params, hash) => {
  if (!workersBroken) {
    try {
      return await (shared ??= new ChunkPool()).chunkFile(path, params, { hash });
    } catch (err) {
      if (!isStrataError(err, 'E_CHUNK_WORKER')) throw err;
      workersBroken = true;
    }
  }
  return chunkFileHere(path, params, hash);
};
