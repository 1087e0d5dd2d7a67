/**
 * A small real bucket for the fuzzer of the read paths (sync/cli/hostile-fuzz.test.ts), which
 * changes one object of it at a time (hostile-mutations.ts). Not used by production code.
 *
 * The bucket: an org layer (org/dept, one published version), a user layer (user/alice: two
 * snapshots, the second with a whiteout over an org file; heads of two devices), and the user's
 * profile assigning the org layer. Files of one and of several chunks, folders, a symlink. Built
 * once; every run takes a fresh store holding its objects (storeOf).
 */
import { cutPoints } from '../chunker/index.js';
import { initRepository, openRepository } from '../repo/format.js';
import { canonicalBytes } from '../repo/json.js';
import type { Repository } from '../repo/repository.js';
import type { BlobId, ChunkerParams, Snapshot, TreeEntry } from '../repo/types.js';
import { MemoryStore } from '../store/memory.js';

export const USER = 'alice';
export const USER_LAYER = `user/${USER}`;
export const ORG_LAYER = 'org/dept';
export const PROFILE_KEY = `users/${USER}/profile`;
/** Small chunks, so that a file of a few tens of KiB has several. */
const CHUNKER: ChunkerParams = { algorithm: 'fastcdc', minSize: 1024, avgSize: 4096, maxSize: 16384 };
const MTIME = Date.UTC(2024, 4, 1, 10);
const T1 = '2024-05-01T10:00:00.000Z';
const T2 = '2024-05-02T10:00:00.000Z';

type Spec = { [name: string]: string | Uint8Array | { $link: string } | { $whiteout: true } | Spec };

/** Bytes that cut into several chunks: deterministic, not compressible into one. */
function noise(n: number, salt: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = salt * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + i) | 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** A tree as stored, and where it sits: its layer, the snapshot and head above it, the path of names from that root. */
export interface TreeRef {
  id: BlobId;
  layer: string;
  snapshot: string;
  path: string[];
}

export interface Bucket {
  /** The clean objects, by key: clone them for each run. */
  objects: Map<string, Uint8Array>;
  trees: TreeRef[];
  /** Every tree's JSON, by id. */
  treeJson: Map<BlobId, { entries: Record<string, unknown>[] }>;
  dataIds: BlobId[];
  /** Snapshots by id, with their layer. */
  snapshots: Map<string, { layer: string; snapshot: Snapshot }>;
}

async function saveSpec(repo: Repository, spec: Spec, out: { data: BlobId[] }): Promise<BlobId> {
  const entries: TreeEntry[] = [];
  for (const [name, node] of Object.entries(spec)) {
    if (typeof node === 'string' || node instanceof Uint8Array) {
      const data = typeof node === 'string' ? Buffer.from(node) : node;
      const chunks: BlobId[] = [];
      let start = 0;
      for (const end of cutPoints(data, repo.format.chunker)) {
        const piece = data.subarray(start, end);
        const id = repo.blobId(piece);
        chunks.push(id);
        out.data.push(id);
        await repo.addBlob('data', id, piece);
        start = end;
      }
      entries.push({ name, type: 'file', mode: 0o644, mtimeMs: MTIME, size: data.byteLength, chunks });
    } else if ('$link' in node && typeof node.$link === 'string') {
      entries.push({ name, type: 'symlink', mtimeMs: MTIME, target: node.$link });
    } else if ('$whiteout' in node) {
      entries.push({ name, type: 'whiteout' });
    } else {
      entries.push({ name, type: 'dir', mode: 0o755, mtimeMs: MTIME, subtree: await saveSpec(repo, node as Spec, out) });
    }
  }
  return repo.saveTree({ entries });
}

const ORG: Spec = {
  Documents: { Policies: { 'p1.txt': 'policy one', sub: { 'p2.bin': noise(20_000, 1) } } },
  '.config': { app: { 'org.ini': 'org=1\n' } },
};
const USER_V1: Spec = {
  Documents: { 'notes.txt': 'notes v1', 'big.bin': noise(30_000, 2), 'link.txt': { $link: 'notes.txt' }, sub: { 'deep.txt': 'deep' } },
  '.config': { app: { 'user.ini': 'user=1\n' } },
};
const USER_V2: Spec = {
  Documents: {
    'notes.txt': 'notes v2',
    'big.bin': noise(30_000, 2),
    'link.txt': { $link: 'notes.txt' },
    'new.txt': 'new in v2',
    Policies: { 'p1.txt': { $whiteout: true } },
    sub: { 'deep.txt': 'deep' },
  },
  '.config': { app: { 'user.ini': 'user=2\n' } },
};

export async function buildBucket(): Promise<Bucket> {
  const store = new MemoryStore();
  await initRepository(store, { id: 'hostile', created: new Date(T1), chunker: CHUNKER, packSize: 64 * 1024 });
  const repo = await openRepository(store);
  const out = { data: [] as BlobId[] };
  const snapshots = new Map<string, { layer: string; snapshot: Snapshot }>();
  const save = async (layer: string, device: string, spec: Spec, time: string, parents: string[]): Promise<string> => {
    const root = await saveSpec(repo, spec, out);
    await repo.flush();
    const snapshot: Snapshot = { version: 1, layer, device, time, root, parents };
    const id = await repo.saveSnapshot(snapshot);
    await repo.writeHead(layer, device, id, time);
    snapshots.set(id, { layer, snapshot });
    return id;
  };
  await save(ORG_LAYER, 'admin', ORG, T1, []);
  const s1 = await save(USER_LAYER, 'pc2', USER_V1, T1, []);
  await save(USER_LAYER, 'pc1', USER_V2, T2, [s1]);
  await store.put(PROFILE_KEY, canonicalBytes({ version: 1, user: USER, displayName: 'Alice', layers: [ORG_LAYER], updated: T1 }));

  const objects = new Map<string, Uint8Array>();
  for await (const { key } of store.list('')) objects.set(key, await store.get(key));
  const treeJson = new Map<BlobId, { entries: Record<string, unknown>[] }>();
  const trees: TreeRef[] = [];
  const walk = async (id: BlobId, ref: Omit<TreeRef, 'id'>): Promise<void> => {
    if (!treeJson.has(id)) treeJson.set(id, JSON.parse(Buffer.from(await repo.readBlob(id)).toString('utf8')) as { entries: Record<string, unknown>[] });
    trees.push({ id, ...ref });
    for (const e of (treeJson.get(id) as { entries: Record<string, unknown>[] }).entries) {
      if (e.type === 'dir') await walk(e.subtree as BlobId, { ...ref, path: [...ref.path, e.name as string] });
    }
  };
  for (const [id, { layer, snapshot }] of snapshots) await walk(snapshot.root, { layer, snapshot: id, path: [] });
  return { objects, trees, treeJson, dataIds: [...new Set(out.data)], snapshots };
}

/** A fresh store holding `objects`. */
export async function storeOf(objects: ReadonlyMap<string, Uint8Array>): Promise<MemoryStore> {
  const store = new MemoryStore();
  for (const [key, bytes] of objects) await store.put(key, bytes);
  return store;
}
