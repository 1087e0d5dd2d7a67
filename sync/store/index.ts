/**
 * The object store: where a repository's bytes live.
 *
 * An ObjectStore is a flat namespace of keys (`/`-separated, relative to the store's own prefix)
 * holding byte strings. Every backend — S3, a plain folder, memory — must give these guarantees,
 * and the conformance suite (`conformance.ts`) checks each one:
 *
 * - put is atomic: a reader sees the whole old object, the whole new one, or nothing; never a
 *   prefix. A put that resolved is durable.
 * - put of an immutable (content-named) object is idempotent: writing the same bytes under the
 *   same key again is harmless, so a retry after an unclear failure is always safe.
 * - get returns the whole object, or with a range exactly the bytes [offset, offset+length)
 *   (clipped at the object's end); a range starting at or past the end is an error.
 * - head returns the size of an object, or undefined when there is none.
 * - list yields every key under a prefix exactly once, in lexicographic order, paging internally;
 *   with startAfter, only the keys after it.
 * - delete of a missing key succeeds.
 * - listUploads yields the partial uploads under a prefix: multipart uploads begun and never
 *   completed nor aborted (a crash, a lost answer), whose parts cost storage though no listing
 *   shows them; abortUpload removes one, and of one already gone succeeds. A folder's are the
 *   temp files of puts that crashed before their rename; memory, whose puts leave nothing of the
 *   kind, has none.
 * - Failures are StrataErrors with a code that says what a caller may do:
 *     E_NOT_FOUND  the key does not exist (never retried);
 *     E_TRANSIENT  may succeed if tried again (5xx, throttling, timeouts, resets);
 *     E_AUTH       credentials refused (permanent);
 *     E_PERMANENT  anything else that retrying cannot fix.
 *
 * The store does not know about chunks, packs or heads; the repository (`sync/repo`) does.
 */
import type { Readable } from 'node:stream';
import { StrataError, isStrataError } from '../errors.js';

export interface ObjectInfo {
  key: string;
  size: number;
  /**
   * Listings only, where the store can tell: a token that changes whenever the object is written
   * with other bytes (S3: the ETag; a folder: inode, size and mtime; memory: a write counter). The
   * same token means the bytes a reader fetched before are still the object's.
   */
  version?: string;
  /** Listings only, where the store can tell: when the object was last written (ms since the epoch, the server's clock). */
  modified?: number;
}

export interface ByteRange {
  offset: number;
  length: number;
}

/**
 * A body too large to hold in memory: its size and a way to open it. `open` may be called more
 * than once (a retry opens it again), and each call must yield the same bytes.
 */
export interface StreamBody {
  size: number;
  open(): Readable;
}

export type PutBody = Uint8Array | StreamBody;

/** A multipart upload begun and never completed nor aborted. */
export interface PartialUpload {
  key: string;
  /** The server's id of the upload. */
  uploadId: string;
  /** When the upload began, where the store can tell (ms since the epoch, the server's clock). */
  started?: number;
}

export interface ListOptions {
  /** Yield only keys strictly after this one; lets a retry resume a long listing. */
  startAfter?: string;
}

export interface ObjectStore {
  /** Where this store points, for messages: `s3://bucket/prefix`, `file:///path`, `memory:`. */
  readonly location: string;

  put(key: string, body: PutBody): Promise<void>;
  get(key: string, range?: ByteRange): Promise<Uint8Array>;
  /** Like get, as a stream, for objects too large to buffer. */
  getStream(key: string, range?: ByteRange): Promise<Readable>;
  head(key: string): Promise<ObjectInfo | undefined>;
  list(prefix: string, opts?: ListOptions): AsyncIterable<ObjectInfo>;
  delete(key: string): Promise<void>;
  listUploads(prefix: string): AsyncIterable<PartialUpload>;
  abortUpload(upload: PartialUpload): Promise<void>;
}

export function notFound(key: string, location: string): StrataError {
  return new StrataError('E_NOT_FOUND', `no such object in ${location}`, { key });
}

export function isTransient(err: unknown): boolean {
  return isStrataError(err, 'E_TRANSIENT');
}

/**
 * A request that failed (E_TRANSIENT after any retries, E_AUTH, E_PERMANENT), as against an object
 * that is missing or whose bytes are bad: the store or the way to it is at fault, not the object.
 */
export function isRequestFailure(err: unknown): err is StrataError {
  return isStrataError(err) && (err.code === 'E_TRANSIENT' || err.code === 'E_AUTH' || err.code === 'E_PERMANENT');
}

/** An error of one object (missing, corrupt, invalid, too large): reported or skipped, where a request failure stops. */
export function isObjectError(err: unknown): err is StrataError {
  return isStrataError(err) && !isRequestFailure(err);
}

/** Keys are relative, `/`-separated and never empty, absolute or climbing. */
export function checkKey(key: string): void {
  if (
    key === '' ||
    key.startsWith('/') ||
    key.endsWith('/') ||
    key.includes('\0') ||
    key.split('/').some((part) => part === '' || part === '.' || part === '..')
  ) {
    throw new StrataError('E_BAD_KEY', 'invalid object key', { key });
  }
}

export function bodySize(body: PutBody): number {
  return body instanceof Uint8Array ? body.byteLength : body.size;
}

/** Clip a range to an object of `size` bytes; a range that starts at or past the end is invalid. */
export function clipRange(key: string, size: number, range: ByteRange): ByteRange {
  if (!Number.isSafeInteger(range.offset) || !Number.isSafeInteger(range.length) || range.offset < 0 || range.length <= 0) {
    throw new StrataError('E_BAD_RANGE', `invalid range ${range.offset}+${range.length}`, { key });
  }
  if (range.offset >= size) {
    throw new StrataError('E_BAD_RANGE', `range ${range.offset}+${range.length} starts past the end (${size} bytes)`, { key });
  }
  return { offset: range.offset, length: Math.min(range.length, size - range.offset) };
}

export async function readAll(stream: Readable): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}
