/**
 * S3Store: the ObjectStore on any S3-compatible service (AWS, MinIO, Ceph, OpenStack Swift's s3api).
 *
 * - The SDK must not retry (maxAttempts 1): RetryingStore owns retries, and an E_AUTH must fail at
 *   once. It must not add checksums S3-compatible servers may not know (WHEN_REQUIRED).
 * - Every request, of every kind, passes one semaphore of `maxConcurrency` slots; a getStream
 *   holds its slot only until the response headers arrive, so unread streams cannot deadlock it.
 * - Bodies up to `multipartThreshold` go in one PutObject; larger ones are read part by part and
 *   sent as a multipart upload, so memory stays at a few parts whatever the object's size.
 * - Nothing from the server is trusted: sizes, ranges, listings and body lengths are checked,
 *   and every failure is a StrataError naming the key (see errorFor in this file).
 * - A HEAD answer has no body, so a missing bucket looks like a missing object there; every other
 *   request names the missing bucket (E_PERMANENT).
 */
import { Readable } from 'node:stream';
import {
  S3Client,
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type CreateMultipartUploadCommandOutput,
  type GetObjectCommandOutput,
  type HeadObjectCommandOutput,
  type ListObjectsV2CommandOutput,
  type UploadPartCommandOutput,
} from '@aws-sdk/client-s3';
import { StrataError, type ErrorCode } from '../errors.js';
import { checkKey, readAll, type ByteRange, type ListOptions, type ObjectInfo, type ObjectStore, type PutBody, type StreamBody } from './index.js';

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
}

const MiB = 1024 * 1024;
/** Swift's s3api allows 1000 parts (AWS 10,000): part sizes grow to fit. */
const MAX_PARTS = 1000;

export class S3Store implements ObjectStore {
  readonly location: string;
  /** The SDK client, for tests (middleware) and tooling; not for bypassing the store. */
  readonly client: S3Client;
  readonly bucket: string;
  private readonly prefix: string;
  private readonly slots: Semaphore;
  private readonly partSize: number;
  private readonly threshold: number;

  constructor(opts: S3StoreOptions) {
    this.bucket = opts.bucket;
    this.prefix = normalizePrefix(opts.prefix);
    this.location = `s3://${opts.bucket}${this.prefix ? `/${this.prefix.slice(0, -1)}` : ''}`;
    const concurrency = opts.maxConcurrency ?? 8;
    this.slots = new Semaphore(concurrency);
    this.partSize = Math.max(opts.partSize ?? 8 * MiB, 5 * MiB);
    this.threshold = opts.multipartThreshold ?? 16 * MiB;
    this.client = new S3Client({
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      region: opts.region,
      forcePathStyle: opts.pathStyle,
      credentials: opts.credentials,
      maxAttempts: 1,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: 10_000, socketTimeout: 120_000, httpAgent: { keepAlive: true, maxSockets: concurrency * 2 } },
    });
  }

  async put(key: string, body: PutBody): Promise<void> {
    checkKey(key);
    if (body instanceof Uint8Array || body.size <= this.threshold) {
      const bytes = body instanceof Uint8Array ? body : await readExactly(body.open(), body.size, key);
      await this.send(key, 'PUT', () => new PutObjectCommand({ Bucket: this.bucket, Key: this.k(key), Body: bytes, ContentLength: bytes.byteLength }));
      return;
    }
    await this.putMultipart(key, body);
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    return readAll(await this.getStream(key, range));
  }

  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    checkKey(key);
    if (range) validRange(key, range);
    const Range = range && `bytes=${range.offset}-${range.offset + range.length - 1}`;
    const out: GetObjectCommandOutput = await this.send(key, 'GET', () => new GetObjectCommand({ Bucket: this.bucket, Key: this.k(key), Range }));
    const length = expectedLength(key, out, range);
    return checkedBody(key, this.location, out.Body as Readable, length);
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
    do {
      const page = await this.send<ListObjectsV2CommandOutput>(prefix, 'LIST', () =>
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token, StartAfter: token ? undefined : startAfter }),
      );
      for (const obj of page.Contents ?? []) {
        const info = this.listed(prefix, obj.Key, obj.Size);
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

  /** Create the bucket; one that already exists and is ours is fine. */
  async createBucket(): Promise<void> {
    try {
      await this.send('', 'CREATE BUCKET', () => new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      if (err instanceof StrataError && (err.cause as { name?: string } | undefined)?.name === 'BucketAlreadyOwnedByYou') return;
      throw err;
    }
  }

  private async putMultipart(key: string, body: StreamBody): Promise<void> {
    const Key = this.k(key);
    const created = await this.send<CreateMultipartUploadCommandOutput>(key, 'CREATE UPLOAD', () => new CreateMultipartUploadCommand({ Bucket: this.bucket, Key }));
    const UploadId = created.UploadId;
    if (!UploadId) throw new StrataError('E_PERMANENT', `multipart upload at ${this.location} returned no upload id`, { key });
    try {
      const parts = await this.uploadParts(key, UploadId, body);
      await this.send(key, 'COMPLETE UPLOAD', () =>
        new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId, MultipartUpload: { Parts: parts } }),
      );
    } catch (err) {
      await this.send(key, 'ABORT UPLOAD', () => new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId })).catch(() => {});
      throw err;
    }
  }

  /**
   * Reads the body one part at a time; at most two parts wait in memory for their upload. Every
   * part has settled before this returns or throws, so an abort never races a part still uploading.
   */
  private async uploadParts(key: string, UploadId: string, body: StreamBody): Promise<CompletedPart[]> {
    const partSize = Math.max(this.partSize, Math.ceil(body.size / MAX_PARTS));
    const parts: Promise<CompletedPart>[] = [];
    const inFlight = new Set<Promise<unknown>>();
    try {
      for await (const bytes of partsOf(body, partSize, key)) {
        const sent = this.uploadPart(key, UploadId, parts.length + 1, bytes);
        parts.push(sent);
        const tracked = sent.finally(() => inFlight.delete(tracked));
        tracked.catch(() => {});
        inFlight.add(tracked);
        if (inFlight.size >= 2) await Promise.race(inFlight);
      }
    } finally {
      await Promise.allSettled(inFlight);
    }
    const settled = await Promise.allSettled(parts);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((r) => (r as PromiseFulfilledResult<CompletedPart>).value);
  }

  private async uploadPart(key: string, UploadId: string, PartNumber: number, bytes: Uint8Array): Promise<CompletedPart> {
    const out = await this.send<UploadPartCommandOutput>(key, 'UPLOAD PART', () =>
      new UploadPartCommand({ Bucket: this.bucket, Key: this.k(key), UploadId, PartNumber, Body: bytes, ContentLength: bytes.byteLength }),
    );
    if (!out.ETag) throw new StrataError('E_PERMANENT', `part ${PartNumber} upload to ${this.location} returned no ETag`, { key });
    return { PartNumber, ETag: out.ETag };
  }

  private listed(prefix: string, raw: string | undefined, size: number | undefined): ObjectInfo {
    if (raw === undefined || !raw.startsWith(this.prefix + prefix)) {
      throw new StrataError('E_PERMANENT', `listing of ${this.location} returned a key outside the prefix`, { key: raw ?? prefix });
    }
    const key = raw.slice(this.prefix.length);
    if (size === undefined || !Number.isSafeInteger(size) || size < 0) {
      throw new StrataError('E_PERMANENT', `listing of ${this.location} gave no valid size`, { key });
    }
    return { key, size };
  }

  private k(key: string): string {
    return this.prefix + key;
  }

  /** One request through the semaphore, with SDK failures turned into StrataErrors. */
  private async send<T>(key: string, op: string, command: () => { input: object }): Promise<T> {
    await this.slots.acquire();
    try {
      return (await this.client.send(command() as never)) as T;
    } catch (err) {
      throw errorFor(err, { key, op, location: this.location, bucket: this.bucket });
    } finally {
      this.slots.release();
    }
  }
}

function normalizePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}

/** Cut a stream body into parts of exactly `partSize` bytes (the last may be shorter). */
async function* partsOf(body: StreamBody, partSize: number, key: string): AsyncGenerator<Uint8Array> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let total = 0;
  for await (const chunk of body.open()) {
    let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    total += buf.length;
    if (total > body.size) break;
    while (pendingBytes + buf.length >= partSize) {
      const take = partSize - pendingBytes;
      pending.push(buf.subarray(0, take));
      yield Buffer.concat(pending);
      buf = buf.subarray(take);
      pending = [];
      pendingBytes = 0;
    }
    if (buf.length > 0) {
      pending.push(buf);
      pendingBytes += buf.length;
    }
  }
  if (total !== body.size) {
    throw new StrataError('E_PERMANENT', `body was ${total > body.size ? 'longer' : 'shorter'} than its declared ${body.size} bytes`, { key });
  }
  if (pendingBytes > 0) yield Buffer.concat(pending);
}

/** Read a small stream body whole, refusing one whose length is not the declared size. */
async function readExactly(stream: Readable, size: number, key: string): Promise<Uint8Array> {
  const bytes = await readAll(stream);
  if (bytes.byteLength !== size) {
    throw new StrataError('E_PERMANENT', `body was ${bytes.byteLength} bytes, declared ${size}`, { key });
  }
  return bytes;
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

function validRange(key: string, range: ByteRange): void {
  const { offset, length } = range;
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length <= 0) {
    throw new StrataError('E_BAD_RANGE', `invalid range ${offset}+${length}`, { key });
  }
}

/** The body length a GET response promises, checked against the range that was asked for. */
function expectedLength(key: string, out: GetObjectCommandOutput, range: ByteRange | undefined): number {
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
function checkedBody(key: string, location: string, body: Readable, length: number): Readable {
  async function* check(): AsyncGenerator<Buffer> {
    let seen = 0;
    try {
      for await (const chunk of body) {
        seen += (chunk as Buffer).length;
        if (seen > length) break;
        yield chunk as Buffer;
      }
    } catch (err) {
      throw errorFor(err, { key, op: 'GET', location, bucket: '' });
    }
    if (seen !== length) {
      throw new StrataError('E_TRANSIENT', `GET at ${location}: body had ${seen > length ? 'more' : 'fewer'} bytes than its ${length}`, { key });
    }
  }
  return Readable.from(check(), { objectMode: false });
}

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const AUTH = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidToken', 'ExpiredToken', 'RequestTimeTooSkewed']);
const THROTTLED = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestThrottled', 'RequestLimitExceeded', 'TooManyRequests']);
const TRANSIENT = new Set(['InternalError', 'ServiceUnavailable', 'RequestTimeout', 'TimeoutError', ...THROTTLED]);
const NETWORK = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN',
  'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

interface Where {
  key: string;
  op: string;
  location: string;
  bucket: string;
}

/** Map an SDK or network failure to the store's error codes (index.ts), naming the key. */
export function errorFor(err: unknown, where: Where): StrataError {
  if (err instanceof StrataError) return err;
  const e = (err ?? {}) as SdkError;
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? 'Error';
  const detail = [status, e.code ?? name, e.message && e.message !== name ? e.message.slice(0, 200) : ''].filter(Boolean).join(' ');
  const make = (code: ErrorCode, message: string): StrataError => new StrataError(code, message, { key: where.key }, { cause: err });
  if (name === 'NoSuchBucket') {
    return make('E_PERMANENT', `bucket "${where.bucket}" does not exist (${where.op} at ${where.location})`);
  }
  if (status === 401 || status === 403 || AUTH.has(name)) return make('E_AUTH', `credentials refused by ${where.location}: ${name}`);
  if (status === 404 || name === 'NoSuchKey' || name === 'NotFound') return make('E_NOT_FOUND', `no such object in ${where.location}`);
  if (status === 416 || name === 'InvalidRange') return make('E_BAD_RANGE', `range not satisfiable (${where.op} at ${where.location})`);
  const transient =
    (status !== undefined && (status >= 500 || status === 408 || status === 429)) || TRANSIENT.has(name) || NETWORK.has(e.code ?? '');
  return make(transient ? 'E_TRANSIENT' : 'E_PERMANENT', `${where.op} at ${where.location} failed: ${detail}`);
}
