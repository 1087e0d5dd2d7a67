/**
 * Per-layer objects in the store: snapshots and device heads. Listing is forgiving where it must
 * be — one device's corrupt head must not hide the other devices' heads — and strict about each
 * object: every one returned has been validated, every one refused is reported with its key.
 */
import { StrataError, isStrataError } from '../errors.js';
import { isObjectError, type ObjectInfo, type ObjectStore } from '../store/index.js';
import { isBlobId, type HashAlgorithm } from '../chunker/hash.js';
import { checkDeviceId, checkLayerId } from './names.js';
import { MAX_HEAD_BYTES, MAX_SNAPSHOT_BYTES, decodeHead, decodeSnapshot, validateHead } from './snapshot.js';
import { Invalid, canonicalBytes } from './json.js';
import { mapLimit } from './pool.js';
import { keys, type Head, type Snapshot, type SnapshotId } from './types.js';

export interface SnapshotRecord {
  id: SnapshotId;
  snapshot: Snapshot;
}

function byKey(errors: StrataError[]): StrataError[] {
  return errors.sort((a, b) => ((a.key ?? '') < (b.key ?? '') ? -1 : 1));
}

async function getCapped(store: ObjectStore, key: string, size: number, max: number): Promise<Uint8Array> {
  if (size > max) throw new StrataError('E_OBJECT_TOO_LARGE', `object is ${size} bytes, over the ${max}-byte limit`, { key });
  return store.get(key);
}

/**
 * The object at `key`, whose size is not known, in one request: a ranged GET of `max` + 1 bytes,
 * refused (E_OBJECT_TOO_LARGE) when it brings more than `max`. A HEAD first would cost a round
 * trip; a hostile object costs no more than the limit either way. E_NOT_FOUND as get's.
 */
export async function getAtMost(store: ObjectStore, key: string, max: number): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await store.get(key, { offset: 0, length: max + 1 });
  } catch (err) {
    // A range from offset 0 starts past the end only of an empty object.
    if (isStrataError(err, 'E_BAD_RANGE')) return new Uint8Array(0);
    throw err;
  }
  if (bytes.byteLength > max) throw new StrataError('E_OBJECT_TOO_LARGE', `object is over the ${max}-byte limit`, { key });
  return bytes;
}

/** `listedSize`: the size a listing of the layer's snapshots gave (without it, one capped GET: getAtMost). */
export async function loadSnapshot(store: ObjectStore, hash: HashAlgorithm, layer: string, id: SnapshotId, listedSize?: number): Promise<Snapshot> {
  checkLayerId(layer);
  if (!isBlobId(id)) throw new StrataError('E_BAD_OBJECT', `snapshot id ${JSON.stringify(id)} is not an id`, { key: keys.snapshots(layer) });
  const key = keys.snapshot(layer, id);
  try {
    if (listedSize !== undefined) return await readSnapshot(store, hash, layer, { id, key, size: listedSize });
    return decodeSnapshot(await getAtMost(store, key, MAX_SNAPSHOT_BYTES), key, layer, id, hash);
  } catch (err) {
    throw isStrataError(err, 'E_NOT_FOUND') ? new StrataError('E_SNAPSHOT_NOT_FOUND', `snapshot ${id} does not exist`, { key }) : err;
  }
}

/** Reads and verifies the snapshot at `key`, whose size (a listing's or a HEAD's) is known. */
async function readSnapshot(store: ObjectStore, hash: HashAlgorithm, layer: string, at: { id: SnapshotId; key: string; size: number }): Promise<Snapshot> {
  return decodeSnapshot(await getCapped(store, at.key, at.size, MAX_SNAPSHOT_BYTES), at.key, layer, at.id, hash);
}

/** The ids of `layer`'s snapshots, from the listing alone: none is read (a key not ending in an id is skipped). */
export async function listSnapshotIds(store: ObjectStore, layer: string): Promise<SnapshotId[]> {
  const prefix = keys.snapshots(checkLayerId(layer));
  const ids: SnapshotId[] = [];
  for await (const { key } of store.list(prefix)) {
    const id = key.slice(prefix.length);
    if (isBlobId(id)) ids.push(id);
  }
  return ids;
}

/**
 * Every valid snapshot of `layer`, oldest first (ties by id); invalid ones are in `errors`. With
 * `limit`, only the `limit` newest: those written last by the listing's dates are read (one GET
 * each, with those written in the same tick as the last; an invalid one's place taken by the
 * next), the newest by their time kept; a store whose listing gives no dates has every
 * snapshot read.
 */
export async function listSnapshots(store: ObjectStore, hash: HashAlgorithm, layer: string, concurrency: number, limit?: number): Promise<{ snapshots: SnapshotRecord[]; errors: StrataError[] }> {
  const prefix = keys.snapshots(checkLayerId(layer));
  const listed: { key: string; size: number; modified?: number | undefined }[] = [];
  for await (const info of store.list(prefix)) listed.push(info);
  const errors: StrataError[] = [];
  const read = async (items: typeof listed): Promise<SnapshotRecord[]> => {
    const found = await mapLimit(items, concurrency, async ({ key, size }) => {
      const id = key.slice(prefix.length);
      try {
        if (!isBlobId(id)) throw new StrataError('E_BAD_OBJECT', 'snapshot key does not end in an id', { key });
        return { id, snapshot: await readSnapshot(store, hash, layer, { id, key, size }) };
      } catch (err) {
        if (isStrataError(err, 'E_NOT_FOUND')) return undefined;
        if (!isObjectError(err)) throw err;
        errors.push(err);
        return undefined;
      }
    });
    return found.filter((s): s is SnapshotRecord => s !== undefined);
  };
  let snapshots: SnapshotRecord[];
  if (limit === undefined || listed.some((l) => l.modified === undefined)) {
    snapshots = await read(listed);
  } else {
    const lastWritten = [...listed].sort((a, b) => (b.modified ?? 0) - (a.modified ?? 0) || (a.key < b.key ? 1 : -1));
    snapshots = [];
    for (let at = 0; snapshots.length < limit && at < lastWritten.length; ) {
      let end = at + limit - snapshots.length;
      // Written in the same tick (S3 dates are to the second): which of them is newer, only their times say.
      while (end < lastWritten.length && lastWritten[end]?.modified === lastWritten[end - 1]?.modified) end++;
      const next = lastWritten.slice(at, end);
      at = end;
      snapshots.push(...(await read(next)));
    }
  }
  snapshots.sort((a, b) => Date.parse(a.snapshot.time) - Date.parse(b.snapshot.time) || (a.id < b.id ? -1 : 1));
  return { snapshots: limit === undefined ? snapshots : snapshots.slice(-limit), errors: byKey(errors) };
}

export async function writeHead(store: ObjectStore, head: Head): Promise<void> {
  const key = keys.head(checkLayerId(head.layer), checkDeviceId(head.device));
  const snapKey = keys.snapshot(head.layer, head.snapshot);
  if (!isBlobId(head.snapshot) || !(await store.head(snapKey))) {
    throw new StrataError('E_NOT_DURABLE', `head would point at snapshot ${head.snapshot}, which is not in the store`, { key });
  }
  validateHead(JSON.parse(JSON.stringify(head)), new Invalid('E_BAD_OBJECT', key, 'head being written'));
  await store.put(key, canonicalBytes(head));
}

/**
 * `device`'s head of `layer`, read by its key rather than through a listing (a listing may lag a
 * write); undefined when there is none.
 */
export async function readHead(store: ObjectStore, layer: string, device: string): Promise<Head | undefined> {
  const key = keys.head(checkLayerId(layer), checkDeviceId(device));
  const info = await store.head(key);
  if (!info) return undefined;
  try {
    return decodeHead(await getCapped(store, key, info.size, MAX_HEAD_BYTES), key, layer, device);
  } catch (err) {
    // Deleted between the two requests.
    if (isStrataError(err, 'E_NOT_FOUND')) return undefined;
    throw err;
  }
}

/**
 * Heads read before, by key, with the listing version they were read at (ObjectInfo.version). A
 * poller keeps one: a head whose version is unchanged is not fetched again, so an idle poll of a
 * layer costs one listing however many devices (VDI sessions) have written it.
 */
export type HeadCache = Map<string, { version: string; head: Head }>;

export interface ListedHeads {
  heads: Head[];
  errors: StrataError[];
  /** When the bucket got each device's head (ms, its clock), where the listing tells. */
  written: Map<string, number>;
}

/** The valid heads of `layer`, by device; a corrupt head is reported in `errors`, not fatal. */
export async function listHeads(store: ObjectStore, layer: string, concurrency: number, cache?: HeadCache): Promise<ListedHeads> {
  const prefix = keys.heads(checkLayerId(layer));
  const listed: ObjectInfo[] = [];
  for await (const info of store.list(prefix)) listed.push(info);
  const errors: StrataError[] = [];
  const found = await mapLimit(listed, concurrency, async ({ key, size, version }) => {
    const known = version === undefined ? undefined : cache?.get(key);
    if (known !== undefined && known.version === version) return { ...known.head };
    try {
      const device = checkDeviceId(key.slice(prefix.length), { key });
      const head = decodeHead(await getCapped(store, key, size, MAX_HEAD_BYTES), key, layer, device);
      if (cache && version !== undefined) cache.set(key, { version, head: { ...head } });
      return head;
    } catch (err) {
      // A head deleted between list and get is simply gone.
      if (isStrataError(err, 'E_NOT_FOUND')) return undefined;
      if (!isObjectError(err)) throw err;
      errors.push(err);
      return undefined;
    }
  });
  if (cache) {
    const now = new Set(listed.map((i) => i.key));
    for (const key of cache.keys()) if (key.startsWith(prefix) && !now.has(key)) cache.delete(key);
  }
  const written = new Map<string, number>();
  for (const { key, modified } of listed) if (modified !== undefined) written.set(key.slice(prefix.length), modified);
  return { heads: found.filter((h): h is Head => h !== undefined), errors: byKey(errors), written };
}

/** The newest snapshot any device's head points at; heads whose snapshot fails are skipped. Snapshots load `concurrency` at a time, newest heads first. */
export async function latestSnapshot(store: ObjectStore, hash: HashAlgorithm, layer: string, concurrency: number, cache?: HeadCache): Promise<SnapshotRecord | undefined> {
  const { heads, errors } = await listHeads(store, layer, concurrency, cache);
  return newestSnapshot(store, hash, layer, heads, errors, concurrency);
}

/**
 * latestSnapshot of heads the caller has listed (`errors`: the listing's, thrown, the first by
 * key, when no snapshot is found; snapshots that fail to load are added to it).
 */
export async function newestSnapshot(
  store: ObjectStore,
  hash: HashAlgorithm,
  layer: string,
  heads: readonly Head[],
  errors: StrataError[],
  concurrency: number,
  listedSizes?: ReadonlyMap<SnapshotId, number>,
): Promise<SnapshotRecord | undefined> {
  // A head's time is its snapshot's (Repository.writeHead), or, written by older versions, when the
  // head was written, after the snapshot, by the same clock: either way it bounds the snapshot's.
  // Heads are read newest first, the newest alone (its snapshot is most often the newest: no other
  // is read), then a batch at a time, until the next head is older than the newest snapshot
  // found: of a layer written by hundreds of devices (every VDI session is one) only the last few
  // snapshots are read. A head time that does not parse bounds nothing.
  const bound = (h: Head): number => {
    const t = Date.parse(h.time);
    return Number.isNaN(t) ? Infinity : t;
  };
  // Devices that took the same snapshot and wrote nothing since point at it alike: it is read
  // once, by the newest of their heads (the one that bounds it best).
  const sorted = [...heads].sort((a, b) => bound(b) - bound(a) || (a.snapshot < b.snapshot ? 1 : -1));
  const seen = new Set<SnapshotId>();
  const order = sorted.filter((h) => {
    if (seen.has(h.snapshot)) return false;
    seen.add(h.snapshot);
    return true;
  });
  let best: SnapshotRecord | undefined;
  for (let i = 0; i < order.length; i += i === 0 ? 1 : concurrency) {
    const batch = order.slice(i, i === 0 ? 1 : i + concurrency);
    if (best !== undefined && bound(batch[0] as Head) < Date.parse(best.snapshot.time)) break;
    const loaded = await mapLimit(batch, concurrency, async (head): Promise<SnapshotRecord | undefined> => {
      try {
        return { id: head.snapshot, snapshot: await loadSnapshot(store, hash, layer, head.snapshot, listedSizes?.get(head.snapshot)) };
      } catch (err) {
        if (!isObjectError(err)) throw err;
        errors.push(err);
        return undefined;
      }
    });
    for (const rec of loaded) {
      if (rec === undefined) continue;
      // Times are compared as instants: "…:00Z" and "…:00.000Z" are the same moment.
      const diff = best ? Date.parse(rec.snapshot.time) - Date.parse(best.snapshot.time) : 1;
      if (!best || diff > 0 || (diff === 0 && rec.id > best.id)) best = rec;
    }
  }
  if (!best && errors.length > 0) throw byKey(errors)[0] as StrataError;
  return best;
}

/** How long a SnapshotBulk trusts its listing of the layer's snapshots before listing again. */
const BULK_LISTING_MS = 5 * 60_000;

/**
 * A layer's snapshots read in bulk by write date, for a history walk (SnapshotGraph) that would
 * otherwise read them one at a time: a machine whose own head is 500 snapshots old spent 5.7 s of
 * its sign-in (local server; 1,000 requests) on one such walk. The listing's dates are the
 * server's and only choose what to read; every snapshot read is decoded and verified as ever.
 */
interface DatedSnapshot {
  id: SnapshotId;
  key: string;
  size: number;
  modified: number;
}

export class SnapshotBulk {
  private listing: { at: number; items: DatedSnapshot[] } | undefined;

  constructor(
    private readonly store: ObjectStore,
    private readonly hash: HashAlgorithm,
    private readonly layer: string,
    private readonly concurrency: number,
  ) {}

  /** The valid snapshots listed as written at or after `since` (ms) that `skip` does not name; unreadable ones are left out. */
  async since(since: number, skip: (id: SnapshotId) => boolean): Promise<SnapshotRecord[]> {
    const items = (await this.listed()).filter((l) => l.modified >= since && !skip(l.id));
    const loaded = await mapLimit(items, this.concurrency, async (l): Promise<SnapshotRecord | undefined> => {
      try {
        return { id: l.id, snapshot: await readSnapshot(this.store, this.hash, this.layer, l) };
      } catch (err) {
        // A bulk read is only a head start: what it cannot read, the walk reads (and reports) itself.
        if (isStrataError(err, 'E_NOT_FOUND') || isObjectError(err)) return undefined;
        throw err;
      }
    });
    return loaded.filter((r): r is SnapshotRecord => r !== undefined);
  }

  private async listed(): Promise<DatedSnapshot[]> {
    const now = Date.now();
    if (this.listing && now - this.listing.at < BULK_LISTING_MS) return this.listing.items;
    const prefix = keys.snapshots(checkLayerId(this.layer));
    const items: DatedSnapshot[] = [];
    // Without a date (a store that gives none), a snapshot is never read in bulk.
    for await (const info of this.store.list(prefix)) {
      const id = info.key.slice(prefix.length);
      if (isBlobId(id) && info.modified !== undefined) items.push({ id, key: info.key, size: info.size, modified: info.modified });
    }
    this.listing = { at: now, items };
    return items;
  }
}
