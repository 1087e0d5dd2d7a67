/**
 * Streaming chunkers: bytes arrive in pieces of any size, chunks leave as soon as they end, and
 * no more than the current unfinished chunk (< maxSize) is ever held.
 *
 * - Chunker yields each chunk's bytes. A chunk that lies inside one pushed piece is a view of
 *   that piece (no copy); only a chunk spanning pieces is copied, once. So callers must not
 *   reuse or modify a buffer after pushing it (fs read streams allocate a fresh one per read).
 * - ChunkHasher yields only ids, hashing pieces as they come: it never copies.
 */
import type { ChunkerParams } from '../repo/types.js';
import { CutFinder } from './fastcdc.js';
import { blobId, createHasher, DEFAULT_HASH, type Hasher, type HashAlgorithm } from './hash.js';

export interface Chunk {
  /** Offset of the chunk's first byte in the stream. */
  offset: number;
  length: number;
  data: Buffer;
}

export interface ChunkRef {
  id: string;
  offset: number;
  length: number;
}

export interface FileChunks {
  /** Bytes read (the file's size at the time it was read). */
  size: number;
  chunks: ChunkRef[];
}

function asBuffer(bytes: Uint8Array, start: number, end: number): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start);
}

export class Chunker {
  private readonly finder: CutFinder;
  private parts: Buffer[] = [];
  private partsLength = 0;
  private offset = 0;

  constructor(params: ChunkerParams) {
    this.finder = new CutFinder(params);
  }

  /** Feeds the next piece; returns the chunks that ended inside it. */
  push(bytes: Uint8Array): Chunk[] {
    const out: Chunk[] = [];
    let pos = 0;
    while (pos < bytes.length) {
      const end = this.finder.next(bytes, pos, bytes.length);
      if (end < 0) {
        this.parts.push(asBuffer(bytes, pos, bytes.length));
        this.partsLength += bytes.length - pos;
        break;
      }
      out.push(this.take(asBuffer(bytes, pos, end)));
      pos = end;
    }
    return out;
  }

  /** Ends the stream: returns the last chunk, if any bytes are left (it may be < minSize). */
  end(): Chunk[] {
    this.finder.reset();
    return this.partsLength > 0 ? [this.take(undefined)] : [];
  }

  private take(last: Buffer | undefined): Chunk {
    let data: Buffer;
    if (this.parts.length === 0 && last) data = last;
    else {
      if (last) this.parts.push(last);
      const length = this.partsLength + (last?.length ?? 0);
      data = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, length);
    }
    this.parts = [];
    this.partsLength = 0;
    const chunk = { offset: this.offset, length: data.length, data };
    this.offset += data.length;
    return chunk;
  }
}

export class ChunkHasher {
  private readonly finder: CutFinder;
  private hasher: Hasher;
  private start = 0;
  private pos = 0;

  constructor(params: ChunkerParams, private readonly algorithm: HashAlgorithm = DEFAULT_HASH) {
    this.finder = new CutFinder(params);
    this.hasher = createHasher(algorithm);
  }

  /** Bytes fed so far. */
  get size(): number {
    return this.pos;
  }

  push(bytes: Uint8Array): ChunkRef[] {
    const out: ChunkRef[] = [];
    let pos = 0;
    while (pos < bytes.length) {
      const end = this.finder.next(bytes, pos, bytes.length);
      this.hasher.update(bytes.subarray(pos, end < 0 ? bytes.length : end));
      if (end < 0) break;
      this.pos += end - pos;
      out.push(this.take());
      pos = end;
    }
    this.pos += bytes.length - pos;
    return out;
  }

  end(): ChunkRef[] {
    this.finder.reset();
    return this.pos > this.start ? [this.take()] : [];
  }

  private take(): ChunkRef {
    const ref = { id: this.hasher.digestHex(), offset: this.start, length: this.pos - this.start };
    this.start = this.pos;
    this.hasher = createHasher(this.algorithm);
    return ref;
  }
}

/** Chunks with their bytes, from any byte stream (e.g. an fs read stream). */
export async function* chunkStream(stream: AsyncIterable<Uint8Array>, params: ChunkerParams): AsyncIterable<Chunk> {
  const chunker = new Chunker(params);
  for await (const piece of stream) yield* chunker.push(piece);
  yield* chunker.end();
}

/** Chunks, ids and bytes of a buffer already in memory (small files). */
export function chunkBytes(bytes: Uint8Array, params: ChunkerParams, hash: HashAlgorithm = DEFAULT_HASH): { file: FileChunks; data: Buffer[] } {
  const chunker = new Chunker(params);
  const chunks = [...chunker.push(bytes), ...chunker.end()];
  return {
    file: { size: bytes.length, chunks: chunks.map((c) => ({ id: blobId(c.data, hash), offset: c.offset, length: c.length })) },
    data: chunks.map((c) => c.data),
  };
}
