/**
 * RequestCounter: counts what really goes over the wire. It sits *under* the RetryingStore, so a
 * retried request counts each time it is sent, which is what a bill or a rate limit sees. The
 * repository's own CountingStore sits above and counts logical requests; the CLI reports these.
 */
import type { Readable } from 'node:stream';
import { bodySize, type ByteRange, type ObjectInfo, type ObjectStore, type PutBody } from '../store/index.js';

export interface RequestCounts {
  gets: number;
  puts: number;
  lists: number;
  heads: number;
  deletes: number;
  bytesDownloaded: number;
  bytesUploaded: number;
}

type ListWithOptions = (prefix: string, opts?: unknown) => AsyncIterable<ObjectInfo>;

export class RequestCounter implements ObjectStore {
  readonly counts: RequestCounts = { gets: 0, puts: 0, lists: 0, heads: 0, deletes: 0, bytesDownloaded: 0, bytesUploaded: 0 };

  constructor(readonly inner: ObjectStore) {}

  get location(): string {
    return this.inner.location;
  }

  async put(key: string, body: PutBody): Promise<void> {
    this.counts.puts++;
    await this.inner.put(key, body);
    this.counts.bytesUploaded += bodySize(body);
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    this.counts.gets++;
    const bytes = await this.inner.get(key, range);
    this.counts.bytesDownloaded += bytes.byteLength;
    return bytes;
  }

  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    this.counts.gets++;
    const stream = await this.inner.getStream(key, range);
    stream.on('data', (chunk: Uint8Array) => {
      this.counts.bytesDownloaded += chunk.byteLength;
    });
    return stream;
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    this.counts.heads++;
    return this.inner.head(key);
  }

  /** Passes list options (startAfter) through, so RetryingStore can resume a listing cheaply. */
  list(prefix: string, opts?: unknown): AsyncIterable<ObjectInfo> {
    this.counts.lists++;
    return (this.inner.list.bind(this.inner) as ListWithOptions)(prefix, opts);
  }

  delete(key: string): Promise<void> {
    this.counts.deletes++;
    return this.inner.delete(key);
  }
}
