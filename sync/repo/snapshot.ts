/**
 * Snapshots and heads: their canonical encoding and the validation of what is read back.
 * A snapshot is immutable and named by the hash of its bytes; a head is the one mutable object,
 * written only by its device, so its content (not its name) says what it points to.
 */
import { blobId, isBlobId, type HashAlgorithm } from '../chunker/hash.js';
import { StrataError } from '../errors.js';
import { Invalid, canonicalBytes, expectObject, expectSafeInt, expectTime, parseJson, type Json } from './json.js';
import { isDeviceId, isLayerId } from './names.js';
import { FORMAT_VERSION, type Head, type Snapshot, type SnapshotSummary } from './types.js';

export const MAX_SNAPSHOT_BYTES = 1024 * 1024;
export const MAX_HEAD_BYTES = 64 * 1024;
const MAX_PARENTS = 1024;

function expectVersion(o: Json, v: Invalid): void {
  if (o.version !== FORMAT_VERSION) throw v.fail(`version ${JSON.stringify(o.version)} is not supported`, 'E_UNSUPPORTED_FORMAT');
}

function expectLayerDevice(o: Json, v: Invalid): void {
  if (!isLayerId(o.layer)) throw v.fail(`layer ${JSON.stringify(o.layer)} is not a valid layer id`);
  if (!isDeviceId(o.device)) throw v.fail(`device ${JSON.stringify(o.device)} is not a valid device id`);
}

function validateSummary(value: unknown, v: Invalid): SnapshotSummary {
  const s = expectObject(value, ['files', 'dirs', 'bytes', 'bytesAdded'], v, 'summary');
  for (const k of ['files', 'dirs', 'bytes', 'bytesAdded']) expectSafeInt(s[k], v, `summary.${k}`);
  return s as unknown as SnapshotSummary;
}

export function validateSnapshot(value: unknown, v: Invalid): Snapshot {
  const s = expectObject(value, ['version', 'layer', 'device', 'time', 'root', 'parents'], v, 'snapshot', ['summary', 'source']);
  expectVersion(s, v);
  expectLayerDevice(s, v);
  expectTime(s.time, v, 'time');
  if (!isBlobId(s.root)) throw v.fail('root is not a tree id');
  if (!Array.isArray(s.parents) || s.parents.length > MAX_PARENTS) throw v.fail(`parents must be an array of at most ${MAX_PARENTS} ids`);
  s.parents.forEach((p, i) => {
    if (!isBlobId(p)) throw v.fail(`parents[${i}] is not a snapshot id`);
  });
  if (s.summary !== undefined) validateSummary(s.summary, v);
  if (s.source !== undefined && !isBlobId(s.source)) throw v.fail('source is not a hash');
  return s as unknown as Snapshot;
}

export function validateHead(value: unknown, v: Invalid): Head {
  const h = expectObject(value, ['version', 'layer', 'device', 'snapshot', 'time'], v, 'head', ['final']);
  expectVersion(h, v);
  expectLayerDevice(h, v);
  expectTime(h.time, v, 'time');
  if (!isBlobId(h.snapshot)) throw v.fail(`snapshot ${JSON.stringify(h.snapshot)?.slice(0, 80)} is not a snapshot id`);
  if (h.final !== undefined && h.final !== true) throw v.fail(`final must be true when present, got ${JSON.stringify(h.final)?.slice(0, 80)}`);
  return h as unknown as Head;
}

/** Canonical bytes and id of a snapshot; throws E_BAD_OBJECT if the caller's snapshot is invalid. */
/**
 * A new snapshot's time: `nowMs`, but a millisecond after its newest parent's when the clock says
 * otherwise (a device whose clock runs behind, a VDI machine booted with a stale one). Walks of the
 * history take the newest snapshot first, and a layer's latest snapshot is its newest.
 */
export function timeAfterParents(nowMs: number, parentTimes: readonly string[]): string {
  let time = nowMs;
  for (const t of parentTimes) time = Math.max(time, Date.parse(t) + 1);
  return new Date(time).toISOString();
}

export function encodeSnapshot(s: Snapshot, hash: HashAlgorithm): { id: string; bytes: Uint8Array } {
  validateSnapshot(JSON.parse(JSON.stringify(s)), new Invalid('E_BAD_OBJECT', '', 'snapshot being saved'));
  const bytes = canonicalBytes(s);
  return { id: blobId(bytes, hash), bytes };
}

/** Validates a snapshot read from `key`: its bytes must hash to `id` and it must belong to `layer`. */
export function decodeSnapshot(bytes: Uint8Array, key: string, layer: string, id: string, hash: HashAlgorithm): Snapshot {
  const v = new Invalid('E_BAD_OBJECT', key, 'snapshot');
  if (bytes.byteLength > MAX_SNAPSHOT_BYTES) throw v.fail('is over the snapshot size limit', 'E_OBJECT_TOO_LARGE');
  if (blobId(bytes, hash) !== id) throw new StrataError('E_OBJECT_HASH_MISMATCH', 'snapshot bytes do not match the id in its key', { key });
  const s = validateSnapshot(parseJson(bytes, v), v);
  if (s.layer !== layer) throw v.fail(`belongs to layer ${s.layer}, not ${layer}`);
  return s;
}

/** Validates a head read from `key`: it must name the layer and device its key says. */
export function decodeHead(bytes: Uint8Array, key: string, layer: string, device: string): Head {
  const v = new Invalid('E_BAD_OBJECT', key, 'head');
  if (bytes.byteLength > MAX_HEAD_BYTES) throw v.fail('is over the head size limit', 'E_OBJECT_TOO_LARGE');
  const h = validateHead(parseJson(bytes, v), v);
  if (h.layer !== layer || h.device !== device) throw v.fail(`names ${h.layer} / ${h.device}, not the layer and device of its key`);
  return h;
}
