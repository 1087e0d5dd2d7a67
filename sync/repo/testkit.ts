/**
 * Test helpers for the repository's tests (not used by production code): fresh repositories on
 * a MemoryStore, deterministic blobs, and store wrappers that record or gate requests.
 */
import assert from 'node:assert/strict';
import { DEFAULT_HASH, blobId, type HashAlgorithm } from '../chunker/hash.js';
import { StrataError } from '../errors.js';
import { MemoryStore } from '../store/memory.js';
import { ForwardingStore } from '../store/forwarding.js';
import type { ObjectStore, PutBody } from '../store/index.js';
import { makeRng } from '../testing/random.js';
import { initRepository, openRepository, type OpenOptions } from './format.js';
import type { Repository } from './repository.js';
import { FORMAT_VERSION, type BlobId, type FileEntry, type TreeEntry } from './types.js';

export const T0 = new Date('2024-05-01T10:00:00.000Z');
/** An hour before T0: a file dated then is older than any snapshot taken at T0, so the stat cache trusts it (RACY_MS). */
export const BEFORE_T0 = new Date(T0.getTime() - 3_600_000);

export async function newRepo(opts: { packSize?: number; store?: MemoryStore; hash?: HashAlgorithm } & OpenOptions = {}): Promise<{ store: MemoryStore; repo: Repository }> {
  const store = opts.store ?? new MemoryStore();
  await initRepository(store, { id: 'test-repo', created: T0, packSize: opts.packSize ?? 8 * 1024 * 1024, hash: opts.hash });
  return { store, repo: await openRepository(store, { now: () => T0, ...opts }) };
}

/**
 * `n` deterministic blobs of `size` bytes (or sizes drawn in [1, size] when `vary`), named with
 * `hash`: pass `repo.format.hash` for a repository not made with the default.
 */
export function makeBlobs(seed: number, n: number, size: number, vary = false, hash: HashAlgorithm = DEFAULT_HASH): { id: BlobId; data: Uint8Array }[] {
  const rng = makeRng(seed);
  return Array.from({ length: n }, () => {
    const data = rng.bytes(vary ? rng.range(1, size) : size);
    return { id: blobId(data, hash), data };
  });
}

export function file(name: string, chunks: { id: BlobId; data: Uint8Array }[]): FileEntry {
  const size = chunks.reduce((s, c) => s + c.data.byteLength, 0);
  return { name, type: 'file', mode: 0o644, mtimeMs: 1_700_000_000_000, size, chunks: chunks.map((c) => c.id) };
}

export async function rejectsWith(p: Promise<unknown> | (() => unknown), code: string, key?: string | RegExp): Promise<StrataError> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof StrataError, `expected StrataError ${code}, got ${err === undefined ? 'no error' : String(err)}`);
  assert.equal(err.code, code, `expected ${code}, got ${err.toString()}`);
  if (typeof key === 'string') assert.equal(err.key, key);
  else if (key) assert.match(err.key ?? '', key);
  return err;
}

/** Records the key of every put, in the order the puts resolved. */
export class RecordingStore extends ForwardingStore {
  readonly puts: string[] = [];

  override async put(key: string, body: PutBody): Promise<void> {
    await this.inner.put(key, body);
    this.puts.push(key);
  }
}

/** Holds every pack put until `release()`; counts puts in flight. */
export class GatedStore extends RecordingStore {
  inFlight = 0;
  maxInFlight = 0;
  private waiters: (() => void)[] = [];
  gated = true;
  failNext: StrataError | undefined;

  override async put(key: string, body: PutBody) {
    if (key.startsWith('data/') && this.failNext) {
      const err = this.failNext;
      this.failNext = undefined;
      throw err;
    }
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    if (this.gated && key.startsWith('data/')) await new Promise<void>((r) => this.waiters.push(r));
    this.inFlight--;
    await super.put(key, body);
  }

  release() {
    this.gated = false;
    for (const w of this.waiters.splice(0)) w();
  }
}

/** Lets pending promise callbacks and I/O callbacks run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

export async function keysUnder(store: ObjectStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const { key } of store.list(prefix)) out.push(key);
  return out;
}

/**
 * A hostile bucket's tree bomb: `levels` small trees, each naming the next twice, so 2^levels paths
 * from a few hundred bytes. Saved and flushed; returns the top tree. Folders dated `mtimeMs`.
 */
export async function saveTreeBomb(repo: Repository, levels: number, mtimeMs = 0): Promise<BlobId> {
  const dir = (name: string, subtree: BlobId): TreeEntry => ({ name, type: 'dir', mode: 0o755, mtimeMs, subtree });
  let root = await repo.saveTree({ entries: [{ name: 'f', type: 'symlink', mtimeMs: 0, target: 'x' }] });
  for (let i = 0; i < levels; i++) root = await repo.saveTree({ entries: [dir('a', root), dir('b', root)] });
  await repo.flush();
  return root;
}

/** `layer`'s only snapshot and head: a tree bomb of `levels`, written by device "hostile". */
export async function saveBombLayer(repo: Repository, layer: string, levels: number, mtimeMs = 0): Promise<void> {
  const root = await saveTreeBomb(repo, levels, mtimeMs);
  const time = '2024-05-01T10:00:00.000Z';
  const id = await repo.saveSnapshot({ version: FORMAT_VERSION, layer, device: 'hostile', time, root, parents: [] });
  await repo.writeHead(layer, 'hostile', id, time);
}

/**
 * Runs `fn` failing it once it makes more than a million Map look-ups: each path a tree walk
 * visits is one look-up in the tree map, so a walk that expands a tree bomb path by path fails
 * early instead of running out of memory.
 */
export async function withoutPathWalk<T>(fn: () => Promise<T>): Promise<T> {
  const get = Map.prototype.get;
  let calls = 0;
  Map.prototype.get = function (this: Map<unknown, unknown>, key: unknown) {
    if (++calls > 1_000_000) throw new Error('the tree was expanded path by path');
    return get.call(this, key);
  };
  try {
    return await fn();
  } finally {
    Map.prototype.get = get;
  }
}
