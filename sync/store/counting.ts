/**
 * CountingStore: counts requests and bytes on their way to the inner store. Where it sits decides
 * what it counts: under a RetryingStore it sees every request sent (what a bill or a rate limit
 * sees; the CLI reports these), above it the logical requests (the repository's stats, which
 * tests use to prove that coalescing saves requests). Bytes count only for requests that succeed.
 */
import type { Readable } from 'node:stream';
import { ForwardingStore } from './forwarding.js';
import { bodySize, type ByteRange, type ListOptions, type ObjectInfo, type PutBody } from './index.js';

export interface RequestCounts {
  gets: number;
  puts: number;
  lists: number;
  heads: number;
  deletes: number;
  bytesDownloaded: number;
  bytesUploaded: number;
}

export function noRequests(): RequestCounts {
  return { gets: 0, puts: 0, lists: 0, heads: 0, deletes: 0, bytesDownloaded: 0, bytesUploaded: 0 };
}

export class CountingStore extends ForwardingStore {
  readonly counts: RequestCounts = noRequests();

  override async put(key: string, body: PutBody): Promise<void> {
    this.counts.puts++;
    await this.inner.put(key, body);
    this.counts.bytesUploaded += bodySize(body);
  }

  override async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    this.counts.gets++;
    const bytes = await this.inner.get(key, range);
    this.counts.bytesDownloaded += bytes.byteLength;
    return bytes;
  }

  override async getStream(key: string, range?: ByteRange): Promise<Readable> {
    this.counts.gets++;
    const stream = await this.inner.getStream(key, range);
    stream.on('data', (chunk: Uint8Array) => {
      this.counts.bytesDownloaded += chunk.byteLength;
    });
    return stream;
  }

  override head(key: string): Promise<ObjectInfo | undefined> {
    this.counts.heads++;
    return this.inner.head(key);
  }

  override list(prefix: string, opts?: ListOptions): AsyncIterable<ObjectInfo> {
    this.counts.lists++;
    return this.inner.list(prefix, opts);
  }

  override delete(key: string): Promise<void> {
    this.counts.deletes++;
    return this.inner.delete(key);
  }
}
