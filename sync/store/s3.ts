/**
 * S3Store: the ObjectStore on any S3-compatible service (AWS, MinIO, Ceph, OpenStack Swift's s3api).
 *
 * - The SDK must not retry (maxAttempts 1): RetryingStore owns retries, and an E_AUTH must fail at
 *   once. It must not add checksums S3-compatible servers may not know (WHEN_REQUIRED).
 * - Every request, of every kind, passes one semaphore of `maxConcurrency` slots; a getStream
 *   holds its slot only until the response headers arrive, so unread streams cannot deadlock it.
 * - Bodies up to `multipartThreshold` go in one PutObject; larger ones are read part by part and
 *   sent as a multipart upload, so memory stays at a few parts whatever the object's size.
 * - Nothing from the server is trusted: sizes, ranges, listings (order, prefix, continuation
 *   tokens that must advance) and body lengths are checked, and every failure is a StrataError
 *   naming the key (see s3-errors.ts, s3-body.ts).
 * - Every request has a deadline (S3StoreOptions.timeouts), its body included: a GET's from the
 *   length its answer promises.
 * - A request started under withSignal (abort.ts) carries that signal: its abort ends the request,
 *   its body included, at once, and it fails with the signal's reason. A multipart upload's Create
 *   alone runs on a little, so that the upload it made can be aborted (s3-multipart.ts).
 * - A HEAD answer has no body, so a missing bucket looks like a missing object there; every other
 *   request names the missing bucket (E_PERMANENT).
 */
import type { Readable } from 'node:stream';
import {
  S3Client,
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type GetObjectCommandOutput,
  type HeadObjectCommandOutput,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import { StrataError } from '../errors.js';
import { requestSignal } from './abort.js';
import { checkKey, readAll, type ByteRange, type ListOptions, type ObjectInfo, type ObjectStore, type PartialUpload, type PutBody } from './index.js';
import { checkedBody, expectedLength, readExactly, validRange } from './s3-body.js';
import { errorFor } from './s3-errors.js';
import { listUploads, putMultipart } from './s3-multipart.js';

export interface S3StoreOptions {
  /** e.g. `http://127.0.0.1:8080`; omit for AWS itself. */
  endpoint?: string;
  region: string;
  bucket: string;
  /** Key prefix inside the bucket (`a/b`); '' for the bucket's root. */
  prefix: string;
  /** Path-style addressing (`endpoint/bucket/key`), which most non-AWS servers need. */
  pathStyle: boolean;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Requests in flight at once, over all operations. Default 8. */
  maxConcurrency?: number;
  /** Size of one multipart part. Default 8 MiB; S3 needs at least 5 MiB. */
  partSize?: number;
  /** Bodies larger than this use a multipart upload. Default 16 MiB. */
  multipartThreshold?: number;
  /**
   * How long a connection may take to open (default 10 s), and a request go without a byte either
   * way (default 120 s), before it fails E_TRANSIENT. A request must also end within its deadline:
   * both timeouts plus its body's bytes at `minBytesPerSecond` (default 8 KiB/s), or a server
   * that trickles a byte now and then would hold it for good.
   */
  timeouts?: { connectMs?: number; idleMs?: number; minBytesPerSecond?: number };
}

const MiB = 1024 * 1024;

export class S3Store implements ObjectStore {
  readonly location: string;
  /** The SDK client, for tests (middleware) and tooling; not for bypassing the store. */
  readonly client: S3Client;
  readonly bucket: string;
  private readonly prefix: string;
  private readonly slots: Semaphore;
  private readonly partSize: number;
  private readonly threshold: number;
  private readonly idleMs: number;
  private readonly connectMs: number;
  private readonly minBytesPerSecond: number;

  constructor(opts: S3StoreOptions) {
    this.bucket = opts.bucket;
    this.prefix = normalizePrefix(opts.prefix);
    this.location = `s3://${opts.bucket}${this.prefix ? `/${this.prefix.slice(0, -1)}` : ''}`;
    const concurrency = opts.maxConcurrency ?? 8;
    this.slots = new Semaphore(concurrency);
    this.partSize = Math.max(opts.partSize ?? 8 * MiB, 5 * MiB);
    this.threshold = opts.multipartThreshold ?? 16 * MiB;
    this.idleMs = opts.timeouts?.idleMs ?? 120_000;
    this.connectMs = opts.timeouts?.connectMs ?? 10_000;
    this.minBytesPerSecond = opts.timeouts?.minBytesPerSecond ?? 8 * 1024;
    this.client = new S3Client({
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      region: opts.region,
      forcePathStyle: opts.pathStyle,
      credentials: opts.credentials,
      maxAttempts: 1,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: this.connectMs,
        socketTimeout: this.idleMs,
        httpAgent: { keepAlive: true, maxSockets: concurrency * 2 },
      },
    });
  }

  async put(key: string, body: PutBody): Promise<void> {
    checkKey(key);
    if (body instanceof Uint8Array || body.size <= this.threshold) {
      const bytes = body instanceof Uint8Array ? body : await readExactly(body.open(), body.size, key);
      await this.send(key, 'PUT', () => new PutObjectCommand({ Bucket: this.bucket, Key: this.k(key), Body: bytes, ContentLength: bytes.byteLength }), this.deadline(bytes.byteLength));
      return;
    }
    await putMultipart(
      {
        bucket: this.bucket,
        location: this.location,
        key,
        Key: this.k(key),
        partSize: this.partSize,
        send: <T>(op: string, command: () => { input: object }, bytes = 0) => this.send<T>(key, op, command, this.deadline(bytes)),
      },
      body,
    );
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    return readAll(await this.getStream(key, range));
  }

  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    checkKey(key);
    if (range) validRange(key, range);
    const Range = range && `bytes=${range.offset}-${range.offset + range.length - 1}`;
    const deadline = this.deadline(range?.length ?? 0);
    const out: GetObjectCommandOutput = await this.send(key, 'GET', () => new GetObjectCommand({ Bucket: this.bucket, Key: this.k(key), Range }), deadline, true);
    try {
      const length = expectedLength(key, out, range);
      // The deadline of a whole object's GET counts its bytes once the answer says how many.
      if (!range) deadline.extend(this.bodyMs(length));
      return checkedBody(key, this.location, out.Body as Readable, length, requestSignal(), deadline);
    } catch (err) {
      deadline.end();
      (out.Body as Readable | undefined)?.destroy();
      throw err;
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    checkKey(key);
    try {
      const out = await this.send<HeadObjectCommandOutput>(key, 'HEAD', () => new HeadObjectCommand({ Bucket: this.bucket, Key: this.k(key) }));
      const size = out.ContentLength;
      if (size === undefined || !Number.isSafeInteger(size) || size < 0) {
        throw new StrataError('E_PERMANENT', `HEAD at ${this.location} returned no valid size`, { key });
      }
      return { key, size };
    } catch (err) {
      if (err instanceof StrataError && err.code === 'E_NOT_FOUND') return undefined;
      throw err;
    }
  }

  async *list(prefix: string, opts: ListOptions = {}): AsyncIterable<ObjectInfo> {
    const startAfter = opts.startAfter === undefined ? undefined : this.prefix + opts.startAfter;
    let token: string | undefined;
    let last: Buffer | undefined;
    // A token names a place in the listing: one given twice would list the same pages forever
    // (pages may be empty, so the key order check alone cannot see it).
    const tokens = new Set<string>();
    do {
      const page = await this.send<ListObjectsV2CommandOutput>(prefix, 'LIST', () =>
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token, StartAfter: token ? undefined : startAfter }),
      );
      for (const obj of page.Contents ?? []) {
        const info = this.listed(prefix, obj.Key, obj.Size, obj.ETag, obj.LastModified);
        const raw = Buffer.from(info.key);
        if (last && Buffer.compare(last, raw) >= 0) {
          throw new StrataError('E_PERMANENT', `listing of ${this.location} is out of order or repeats a key`, { key: info.key });
        }
        last = raw;
        yield info;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      if (page.IsTruncated && !token) {
        throw new StrataError('E_PERMANENT', `listing of ${this.location} is truncated without a continuation token`, { key: prefix });
      }
      if (token !== undefined) {
        if (tokens.has(token)) throw new StrataError('E_PERMANENT', `listing of ${this.location} does not advance (a continuation token came back)`, { key: prefix });
        tokens.add(token);
      }
    } while (token);
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    try {
      await this.send(key, 'DELETE', () => new DeleteObjectCommand({ Bucket: this.bucket, Key: this.k(key) }));
    } catch (err) {
      if (!(err instanceof StrataError && err.code === 'E_NOT_FOUND')) throw err;
    }
  }

  listUploads(prefix: string): AsyncIterable<PartialUpload> {
    return listUploads({ bucket: this.bucket, location: this.location, prefix: this.prefix }, this.prefix + prefix, (command) => this.send(prefix, 'LIST UPLOADS', command));
  }

  async abortUpload(upload: PartialUpload): Promise<void> {
    checkKey(upload.key);
    const { key, uploadId: UploadId } = upload;
    try {
      await this.send(key, 'ABORT UPLOAD', () => new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.k(key), UploadId }));
    } catch (err) {
      if (!(err instanceof StrataError && err.code === 'E_NOT_FOUND')) throw err;
    }
  }

  /** Create the bucket; one that already exists and is ours is fine. */
  async createBucket(): Promise<void> {
    try {
      await this.send('', 'CREATE BUCKET', () => new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      if (err instanceof StrataError && (err.cause as { name?: string } | undefined)?.name === 'BucketAlreadyOwnedByYou') return;
      throw err;
    }
  }

  private listed(prefix: string, raw: string | undefined, size: number | undefined, etag: string | undefined, modified: Date | undefined): ObjectInfo {
    if (raw === undefined || !raw.startsWith(this.prefix + prefix)) {
      throw new StrataError('E_PERMANENT', `listing of ${this.location} returned a key outside the prefix`, { key: raw ?? prefix });
    }
    const key = raw.slice(this.prefix.length);
    if (size === undefined || !Number.isSafeInteger(size) || size < 0) {
      throw new StrataError('E_PERMANENT', `listing of ${this.location} gave no valid size`, { key });
    }
    const info: ObjectInfo = { key, size };
    if (etag) info.version = etag;
    // A listing's dates are hints (which snapshots to read first), never trusted for anything else.
    const ms = modified?.getTime();
    if (ms !== undefined && Number.isFinite(ms)) info.modified = ms;
    return info;
  }

  private k(key: string): string {
    return this.prefix + key;
  }

  /** A deadline for a request whose body is `bytes` long (S3StoreOptions.timeouts). */
  private deadline(bytes: number): Deadline {
    // Past both timeouts: a request that stalls outright fails by them, which say so more plainly.
    return new Deadline(this.connectMs + this.idleMs + this.bodyMs(bytes), this.minBytesPerSecond);
  }

  private bodyMs(bytes: number): number {
    return Math.ceil((bytes * 1000) / this.minBytesPerSecond);
  }

  /**
   * One request through the semaphore, with SDK failures turned into StrataErrors. Its deadline
   * starts once it has a slot, and ends with it unless `bodyFollows` (the caller reads a body, and
   * ends it: checkedBody).
   */
  private async send<T>(key: string, op: string, command: () => { input: object }, deadline = this.deadline(0), bodyFollows = false): Promise<T> {
    const outer = requestSignal();
    outer?.throwIfAborted();
    await this.slots.acquire();
    let ok = false;
    try {
      outer?.throwIfAborted();
      deadline.start(op, this.location, key);
      const signal = outer ? AbortSignal.any([outer, deadline.signal]) : deadline.signal;
      const out = (await this.client.send(command() as never, { abortSignal: signal })) as T;
      ok = true;
      return out;
    } catch (err) {
      if (outer?.aborted) throw outer.reason;
      if (deadline.signal.aborted) throw deadline.signal.reason;
      throw errorFor(err, { key, op, location: this.location, bucket: this.bucket });
    } finally {
      if (!ok || !bodyFollows) deadline.end();
      this.slots.release();
    }
  }
}

function normalizePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}

/** A request's deadline: its signal aborts, with an E_TRANSIENT naming the key, when the time is up. */
export class Deadline {
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private at = 0;
  private what = { op: '', location: '', key: '' };

  constructor(
    private ms: number,
    private readonly minBytesPerSecond: number,
  ) {}

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  start(op: string, location: string, key: string): void {
    this.what = { op, location, key };
    this.at = Date.now();
    this.arm();
  }

  /** Adds `ms` to the deadline (a body whose length is known only now). */
  extend(ms: number): void {
    this.ms += ms;
    if (this.timer !== undefined) this.arm();
  }

  end(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    clearTimeout(this.timer);
    const { op, location, key } = this.what;
    const message = `${op} at ${location} took longer than ${Math.round(this.ms / 1000)} s: the network or the server is slower than ${this.minBytesPerSecond} bytes/s`;
    this.timer = setTimeout(() => this.abort.abort(new StrataError('E_TRANSIENT', message, { key })), Math.max(0, this.at + this.ms - Date.now()));
    this.timer.unref();
  }
}

class Semaphore {
  private readonly waiters: (() => void)[] = [];
  constructor(private free: number) {}

  async acquire(): Promise<void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.free++;
  }
}
