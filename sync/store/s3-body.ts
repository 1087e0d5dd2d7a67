/**
 * S3Store's checks on bodies and ranges: nothing the server sends is trusted.
 *
 * - A GET's promised length must match the range asked for, and the body must deliver exactly
 *   that many bytes; a short or long body fails (E_TRANSIENT) rather than passing on bad data.
 * - A small stream body sent in one PutObject must be exactly its declared size.
 * - Failures half-way through a response body are mapped like any other (s3-errors.ts).
 */
import { Readable } from 'node:stream';
import type { GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { StrataError } from '../errors.js';
import { readAll, type ByteRange } from './index.js';
import { errorFor } from './s3-errors.js';

/** Read a small stream body whole, refusing one whose length is not the declared size. */
export async function readExactly(stream: Readable, size: number, key: string): Promise<Uint8Array> {
  const bytes = await readAll(stream);
  if (bytes.byteLength !== size) {
    throw new StrataError('E_PERMANENT', `body was ${bytes.byteLength} bytes, declared ${size}`, { key });
  }
  return bytes;
}

export function validRange(key: string, range: ByteRange): void {
  const { offset, length } = range;
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length <= 0) {
    throw new StrataError('E_BAD_RANGE', `invalid range ${offset}+${length}`, { key });
  }
}

/** The body length a GET response promises, checked against the range that was asked for. */
export function expectedLength(key: string, out: GetObjectCommandOutput, range: ByteRange | undefined): number {
  const length = out.ContentLength;
  if (length === undefined || !Number.isSafeInteger(length) || length < 0) {
    throw new StrataError('E_PERMANENT', 'GET returned no valid Content-Length', { key });
  }
  if (!range) return length;
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(out.ContentRange ?? '');
  const start = m ? Number(m[1]) : 0;
  const span = m ? Number(m[2]) - start + 1 : length;
  // Without Content-Range a server sent the whole object: fine only if that is what was asked.
  if (start !== range.offset || span !== length || length > range.length || length === 0) {
    throw new StrataError('E_PERMANENT', `GET answered range ${range.offset}+${range.length} with ${out.ContentRange ?? `${length} unranged bytes`}`, { key });
  }
  return length;
}

/** The response body, failing (mapped) on a network error or a length other than promised. */
export function checkedBody(key: string, location: string, body: Readable, length: number, signal?: AbortSignal, deadline?: { signal: AbortSignal; end(): void }): Readable {
  async function* check(): AsyncGenerator<Buffer> {
    let seen = 0;
    try {
      for await (const chunk of body) {
        seen += (chunk as Buffer).length;
        if (seen > length) break;
        yield chunk as Buffer;
      }
    } catch (err) {
      // Cut off by its request's abort (abort.ts) or deadline: that reason, not a network failure.
      if (signal?.aborted) throw signal.reason;
      if (deadline?.signal.aborted) throw deadline.signal.reason;
      throw errorFor(err, { key, op: 'GET', location, bucket: '' });
    } finally {
      deadline?.end();
    }
    if (seen !== length) {
      throw new StrataError('E_TRANSIENT', `GET at ${location}: body had ${seen > length ? 'more' : 'fewer'} bytes than its ${length}`, { key });
    }
  }
  return Readable.from(check(), { objectMode: false });
}
