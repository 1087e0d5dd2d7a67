/**
 * CountingStore: wraps the repository's store to count requests and bytes. The bench reports
 * these counts, and tests use them to prove that coalescing really saves requests.
 */
import type { Readable } from 'node:stream';
import { bodySize, type ByteRange, type ObjectInfo, type ObjectStore, type PutBody } from '../store/index.js';

export interface RepoStats {
  gets: number;
  puts: number;
  lists: number;
  heads: number;
  bytesDownloaded: number;
  bytesUploaded: number;
}

export class CountingStore implements ObjectStore {
  readonly stats: RepoStats = { gets: 0, puts: 0, lists: 0, heads: 0, bytesDownloaded: 0, bytesUploaded: 0 };

  constructor(readonly inner: ObjectStore) {}

  get location(): string {
    return this.inner.location;
  }

  async put(key: string, body: PutBody): Promise<void> {
    this.stats.puts++;
    await this.inner.put(key, body);
    this.stats.bytesUploaded += bodySize(body);
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    this.stats.gets++;
    const bytes = await this.inner.get(key, range);
    this.stats.bytesDownloaded += bytes.byteLength;
    return bytes;
  }

  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    this.stats.gets++;
    const stream = await this.inner.getStream(key, range);
    stream.on('data', (chunk: Uint8Array) => {
      this.stats.bytesDownloaded += chunk.byteLength;
    });
    return stream;
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    this.stats.heads++;
    return this.inner.head(key);
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    this.stats.lists++;
    return this.inner.list(prefix);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
}
