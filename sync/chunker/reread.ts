/**
 * Getting chunk bytes back after a worker has chunked a file: the worker returns only
 * boundaries and ids, and the caller re-reads just the chunks it wants (in an incremental backup
 * most chunks are already in the repository) with positional reads, one exact-size buffer per
 * chunk, so no bytes are copied or sent between threads.
 *
 * The file may change between the worker's pass and the re-read. Every re-read chunk is hashed
 * again and must match its id; if not, E_FILE_CHANGED is raised (the caller should re-scan the
 * file) and bytes that do not match their id are never handed on.
 */
import type { FileHandle } from 'node:fs/promises';
import { StrataError } from '../errors.js';
import { openRegular } from '../fsutil.js';
import { fileReadError, type FileChunks } from './file.js';
import { blobId, type HashAlgorithm } from './hash.js';
import type { ChunkRef } from './stream.js';

export interface ChunkWithData extends ChunkRef {
  data: Buffer;
}

export type OnChunk = (chunk: ChunkWithData) => Promise<void>;
export type WantChunk = (id: string) => boolean;

function changed(path: string, ref: ChunkRef, why: string): StrataError {
  return new StrataError('E_FILE_CHANGED', `file changed while it was read: chunk at ${ref.offset}+${ref.length} ${why}`, { path });
}

async function readChunk(fh: FileHandle, path: string, ref: ChunkRef): Promise<Buffer> {
  const data = Buffer.allocUnsafe(ref.length);
  let filled = 0;
  while (filled < ref.length) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await fh.read(data, filled, ref.length - filled, ref.offset + filled));
    } catch (err) {
      throw fileReadError(path, err);
    }
    if (bytesRead === 0) throw changed(path, ref, 'is now past the end of the file');
    filled += bytesRead;
  }
  return data;
}

/** Calls onChunk, in file order and one at a time, for every chunk of `file` that `want` accepts. */
export async function rereadChunks(path: string, file: FileChunks, hash: HashAlgorithm, want: WantChunk, onChunk: OnChunk): Promise<void> {
  const wanted = file.chunks.filter((c) => want(c.id));
  if (wanted.length === 0) return;
  let fh: FileHandle;
  try {
    fh = await openRegular(path);
  } catch (err) {
    throw fileReadError(path, err);
  }
  try {
    for (const ref of wanted) {
      const data = await readChunk(fh, path, ref);
      if (blobId(data, hash) !== ref.id) throw changed(path, ref, 'no longer matches its id');
      await onChunk({ ...ref, data });
    }
  } finally {
    await fh.close();
  }
}
