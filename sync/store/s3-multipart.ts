/**
 * S3Store's multipart upload, for bodies larger than its threshold.
 *
 * - The body is read one part at a time and at most two parts wait in memory for their upload,
 *   so memory stays at a few parts whatever the object's size.
 * - Parts are exactly `partSize` bytes (the last may be shorter), and grow so the body fits in
 *   MAX_PARTS; a body longer or shorter than its declared size fails the upload.
 * - A failed upload is aborted, and only after every part has settled, so an abort never races a
 *   part still uploading. The abort runs outside the caller's signal (abort.ts), so an upload cut
 *   off by a pause is still aborted on the server (its parts would stay there, unlisted, costing
 *   storage); it is bounded by its own ABORT_UPLOAD_MS, and its failure is ignored.
 * - A pause must not cut off the CreateMultipartUpload: the server makes the upload whether or not
 *   its answer is heard, and an upload whose id was never learned cannot be aborted. So the
 *   Create runs on for at most ABORT_UPLOAD_MS after a pause, then the upload it names is aborted
 *   and the put fails with the pause's reason. Only an id learned from this put's own Create is
 *   ever aborted: uploads are not told apart by writer (same credentials, same content-named key),
 *   and aborting another writer's upload would fail its complete. What is left (a Create whose
 *   answer never came) `strata admin gc` aborts once it is old (sync/repo/uploads-gc.ts).
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  UploadPartCommand,
  type CompletedPart,
  type CreateMultipartUploadCommandOutput,
  type ListMultipartUploadsCommandOutput,
  type UploadPartCommandOutput,
} from '@aws-sdk/client-s3';
import { StrataError } from '../errors.js';
import { requestSignal, withSignal } from './abort.js';
import type { PartialUpload, StreamBody } from './index.js';

/** Swift's s3api allows 1000 parts (AWS 10,000): part sizes grow to fit. */
const MAX_PARTS = 1000;

/** How long the best-effort abort of a failed upload may take. */
const ABORT_UPLOAD_MS = 5000;

/** One object's upload, as its store sees it. */
export interface Upload {
  bucket: string;
  location: string;
  /** The store's key, named in errors. */
  key: string;
  /** The object's key in the bucket, the store's prefix included. */
  Key: string;
  partSize: number;
  /** One request through the store's semaphore, failures mapped (s3-errors.ts); `bytes`: its body's length, for its deadline. */
  send<T>(op: string, command: () => { input: object }, bytes?: number): Promise<T>;
}

export async function putMultipart(up: Upload, body: StreamBody): Promise<void> {
  const { bucket: Bucket, Key } = up;
  const UploadId = await createUpload(up);
  try {
    const parts = await uploadParts(up, UploadId, body);
    await up.send('COMPLETE UPLOAD', () => new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }));
  } catch (err) {
    await abortUpload(up, UploadId);
    throw err;
  }
}

/** The new upload's id; a pause while the Create is in flight lets it answer, aborts the upload, then fails with its reason. */
async function createUpload(up: Upload): Promise<string> {
  const { bucket: Bucket, Key, key } = up;
  const pause = requestSignal();
  pause?.throwIfAborted();
  const own = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const onPause = (): void => void (timer = setTimeout(() => own.abort(pause?.reason), ABORT_UPLOAD_MS));
  pause?.addEventListener('abort', onPause, { once: true });
  let created: CreateMultipartUploadCommandOutput;
  try {
    created = await withSignal(own.signal, () => up.send<CreateMultipartUploadCommandOutput>('CREATE UPLOAD', () => new CreateMultipartUploadCommand({ Bucket, Key })));
  } catch (err) {
    throw pause?.aborted ? pause.reason : err;
  } finally {
    pause?.removeEventListener('abort', onPause);
    clearTimeout(timer);
  }
  const UploadId = created.UploadId;
  if (!UploadId) throw new StrataError('E_PERMANENT', `multipart upload at ${up.location} returned no upload id`, { key });
  if (pause?.aborted) {
    await abortUpload(up, UploadId);
    throw pause.reason;
  }
  return UploadId;
}

/** Best effort, outside the caller's signal (a paused put's upload too), bounded by ABORT_UPLOAD_MS. */
async function abortUpload(up: Upload, UploadId: string): Promise<void> {
  const { bucket: Bucket, Key } = up;
  await withSignal(AbortSignal.timeout(ABORT_UPLOAD_MS), () => up.send('ABORT UPLOAD', () => new AbortMultipartUploadCommand({ Bucket, Key, UploadId }))).catch(() => {});
}

/** Every part has settled before this returns or throws. */
async function uploadParts(up: Upload, UploadId: string, body: StreamBody): Promise<CompletedPart[]> {
  const partSize = Math.max(up.partSize, Math.ceil(body.size / MAX_PARTS));
  const parts: Promise<CompletedPart>[] = [];
  const inFlight = new Set<Promise<unknown>>();
  try {
    for await (const bytes of partsOf(body, partSize, up.key)) {
      const sent = uploadPart(up, UploadId, parts.length + 1, bytes);
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

async function uploadPart(up: Upload, UploadId: string, PartNumber: number, bytes: Uint8Array): Promise<CompletedPart> {
  const out = await up.send<UploadPartCommandOutput>('UPLOAD PART', () =>
    new UploadPartCommand({ Bucket: up.bucket, Key: up.Key, UploadId, PartNumber, Body: bytes, ContentLength: bytes.byteLength }),
    bytes.byteLength,
  );
  if (!out.ETag) throw new StrataError('E_PERMANENT', `part ${PartNumber} upload to ${up.location} returned no ETag`, { key: up.key });
  return { PartNumber, ETag: out.ETag };
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

/** The bucket's partial uploads under `Prefix` (the store's prefix included), keys as the store names them (its prefix cut off). */
export async function* listUploads(
  where: { bucket: string; location: string; prefix: string },
  Prefix: string,
  send: (command: () => { input: object }) => Promise<ListMultipartUploadsCommandOutput>,
): AsyncIterable<PartialUpload> {
  let KeyMarker: string | undefined;
  let UploadIdMarker: string | undefined;
  const seen = new Set<string>();
  do {
    const page = await send(() => new ListMultipartUploadsCommand({ Bucket: where.bucket, Prefix, KeyMarker, UploadIdMarker }));
    for (const u of page.Uploads ?? []) {
      if (u.Key === undefined || !u.Key.startsWith(Prefix) || !u.UploadId) {
        throw new StrataError('E_PERMANENT', `listing of uploads in ${where.location} returned one outside the prefix or without an id`, { key: u.Key ?? Prefix });
      }
      const upload: PartialUpload = { key: u.Key.slice(where.prefix.length), uploadId: u.UploadId };
      const started = u.Initiated?.getTime();
      if (started !== undefined && Number.isFinite(started)) upload.started = started;
      yield upload;
    }
    if (!page.IsTruncated) return;
    KeyMarker = page.NextKeyMarker;
    UploadIdMarker = page.NextUploadIdMarker;
    // A marker names a place in the listing: one given twice would list the same pages forever.
    const marker = JSON.stringify([KeyMarker, UploadIdMarker]);
    if (KeyMarker === undefined || seen.has(marker)) {
      throw new StrataError('E_PERMANENT', `listing of uploads in ${where.location} does not advance`, { key: Prefix });
    }
    seen.add(marker);
  } while (KeyMarker !== undefined);
}
