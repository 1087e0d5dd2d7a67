/**
 * InProcessChunker: a FileChunker that chunks and hashes on the calling thread (the chunker
 * module's streaming chunkFileHere), for tests and for hosts that do not want worker threads.
 * The worker pool (sync/chunker/pool.ts ChunkPool) has the same shape and should be preferred
 * where every core may be used.
 */
import { chunkFileHere } from '../chunker/file.js';
import { chunkBytes } from '../chunker/stream.js';
import type { ChunkerParams } from '../repo/types.js';
import type { ChunkedFile, ChunkFileOptions, FileChunker } from './types.js';

export class InProcessChunker implements FileChunker {
  readonly size = 1;

  chunkFile(path: string, params: ChunkerParams, opts: ChunkFileOptions = {}): Promise<ChunkedFile> {
    return chunkFileHere(path, params, opts.hash);
  }

  chunkBuffers(files: readonly Uint8Array[], params: ChunkerParams, opts: ChunkFileOptions = {}): Promise<ChunkedFile[]> {
    return Promise.resolve(files.map((f) => chunkBytes(f, params, opts.hash).file));
  }
}
