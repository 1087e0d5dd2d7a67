/**
 * ForwardingStore: an ObjectStore that hands every call to an inner store unchanged. Decorators
 * (counting, recording, gating in tests) extend it and override only what they add to, so that
 * none of them can forget an operation or drop an option on the way through.
 */
import type { Readable } from 'node:stream';
import type { ByteRange, ListOptions, ObjectInfo, ObjectStore, PartialUpload, PutBody } from './index.js';

export class ForwardingStore implements ObjectStore {
  constructor(readonly inner: ObjectStore) {}

  get location(): string {
    return this.inner.location;
  }

  put(key: string, body: PutBody): Promise<void> {
    return this.inner.put(key, body);
  }

  get(key: string, range?: ByteRange): Promise<Uint8Array> {
    return this.inner.get(key, range);
  }

  getStream(key: string, range?: ByteRange): Promise<Readable> {
    return this.inner.getStream(key, range);
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    return this.inner.head(key);
  }

  list(prefix: string, opts?: ListOptions): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix, opts);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }

  listUploads(prefix: string): AsyncIterable<PartialUpload> {
    return this.inner.listUploads(prefix);
  }

  abortUpload(upload: PartialUpload): Promise<void> {
    return this.inner.abortUpload(upload);
  }
}
