/**
 * MemoryStore: an ObjectStore in a Map, for fast tests and simulations. It copies bytes in and
 * out so that callers can never alias its contents.
 */
import { Readable } from 'node:stream';
import { checkKey, clipRange, notFound, readAll, type ByteRange, type ListOptions, type ObjectInfo, type ObjectStore, type PartialUpload, type PutBody } from './index.js';

export class MemoryStore implements ObjectStore {
  readonly location: string;
  private readonly objects = new Map<string, Uint8Array>();
  /** Each write's number (a listing's `version`) and time. */
  private readonly versions = new Map<string, number>();
  private readonly written = new Map<string, number>();
  private writes = 0;

  constructor(name = 'memory:') {
    this.location = name;
  }

  async put(key: string, body: PutBody): Promise<void> {
    checkKey(key);
    const bytes = body instanceof Uint8Array ? Uint8Array.from(body) : await readAll(body.open());
    this.objects.set(key, bytes);
    this.versions.set(key, ++this.writes);
    this.written.set(key, Date.now());
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    checkKey(key);
    const bytes = this.objects.get(key);
    if (!bytes) throw notFound(key, this.location);
    if (!range) return Uint8Array.from(bytes);
    const r = clipRange(key, bytes.byteLength, range);
    return bytes.slice(r.offset, r.offset + r.length);
  }

  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    return Readable.from([Buffer.from(await this.get(key, range))]);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    checkKey(key);
    const bytes = this.objects.get(key);
    return bytes && { key, size: bytes.byteLength };
  }

  async *list(prefix: string, opts: ListOptions = {}): AsyncIterable<ObjectInfo> {
    const after = opts.startAfter;
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix) && (after === undefined || k > after)).sort();
    for (const key of keys) {
      const bytes = this.objects.get(key);
      if (bytes) yield { key, size: bytes.byteLength, version: `w${this.versions.get(key)}`, modified: this.written.get(key) ?? 0 };
    }
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    this.objects.delete(key);
  }

  /** A put here is whole or nothing: no partial uploads. */
  async *listUploads(): AsyncIterable<PartialUpload> {}

  async abortUpload(): Promise<void> {}

  /** Test helper: replace an object's bytes without going through put (to simulate corruption). */
  corrupt(key: string, mutate: (bytes: Uint8Array) => Uint8Array | undefined): void {
    const bytes = this.objects.get(key);
    if (!bytes) throw notFound(key, this.location);
    const next = mutate(bytes);
    if (next === undefined) this.objects.delete(key);
    else {
      this.objects.set(key, next);
      this.versions.set(key, ++this.writes);
    }
  }
}
