/**
 * The mutations of the hostile-bucket fuzzer (hostile-bucket.ts): each changes one object of a
 * clean bucket, or one blob in it, and says what it did. Objects named by their hash are changed
 * in place (their bytes no longer match their name) or sealed again: written under their new hash,
 * with every tree, snapshot and head above them written anew, so that a well-formed hostile object
 * gets past the hash checks to the code that uses it. Not used by production code.
 */
import { blobId, type HashAlgorithm } from '../chunker/index.js';
import { canonicalJson } from '../repo/json.js';
import { openRepository } from '../repo/format.js';
import { keys, type BlobId } from '../repo/types.js';
import type { MemoryStore } from '../store/memory.js';
import { PROFILE_KEY, storeOf, type Bucket, type TreeRef } from './hostile-bucket.js';
import type { Rng } from './random.js';

export interface Mutation {
  store: MemoryStore;
  /** What was done, for the failure message. */
  what: string;
}

type Json = Record<string, unknown>;
type TreeJson = { entries: Json[] };

const ID = (c: string) => c.repeat(64);
const HOSTILE_VALUES: unknown[] = [
  null, true, false, 0, -1, 1.5, 2 ** 31, 2 ** 32 + 1, 1e15, -1e15, 2 ** 53, 2 ** 53 - 1, 8.64e15 + 1, 1e308, -0,
  '', 'x', '.', '..', '../../escape', '/etc/passwd', 'a\u0000b', 'C:\\Windows', 'a\\b', 'a/b', 'CON', 'x.', ' ', '\u202e', 'a'.repeat(5000),
  [], {}, [1, 2], { a: 1 }, ['..'], [ID('a')], ID('a'), ID('0'), ID('A'),
  'user/bob', 'org/ghost', 'user/alice', 'org/dept', 'user/..', '9999-12-31T23:59:59.999Z', '1970-01-01T00:00:00Z', '0000-01-01T00:00:00Z', 'yesterday',
  'fifo', 'file', 'dir', 'symlink', 'whiteout', 'tree', 'data', 'blake3', 'sha256', 'fastcdc', 'none',
];

type JsonPath = (string | number)[];

function paths(value: unknown, at: JsonPath = [], out: JsonPath[] = []): JsonPath[] {
  out.push(at);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...at, i], out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) paths(v, [...at, k], out);
  return out;
}

function getAt(value: unknown, path: JsonPath): unknown {
  return path.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], value);
}

/** `value` with the node at `path` replaced by `f(node)` (undefined deletes it). */
function setAt(value: unknown, path: JsonPath, f: (node: unknown) => unknown): unknown {
  if (path.length === 0) return f(value);
  const [k, ...rest] = path;
  if (Array.isArray(value)) {
    const copy = [...value];
    const next = setAt(copy[k as number], rest, f);
    if (next === undefined && rest.length === 0) copy.splice(k as number, 1);
    else copy[k as number] = next;
    return copy;
  }
  const copy = { ...(value as Record<string, unknown>) };
  const next = setAt(copy[k as string], rest, f);
  if (next === undefined && rest.length === 0) delete copy[k as string];
  else copy[k as string] = next;
  return copy;
}

/** One structural change to a JSON value; `ids` are real ids of the bucket to swap in. */
export function mutateJson(rng: Rng, value: unknown, ids: readonly string[]): { value: unknown; what: string } {
  const all = paths(value);
  const path = rng.pick(all);
  const node = getAt(value, path);
  const where = path.length === 0 ? '(root)' : path.join('.');
  const r = rng.int(8);
  if (r === 0 && path.length > 0) return { value: setAt(value, path, () => undefined), what: `delete ${where}` };
  if (r === 1 && Array.isArray(node) && node.length > 0) {
    const i = rng.int(node.length);
    const times = rng.pick([1, 2, 1000]);
    const copy = [...node];
    copy.splice(i, 0, ...Array<unknown>(times).fill(node[i]));
    return { value: setAt(value, path, () => copy), what: `repeat ${where}[${i}] ${times} more times` };
  }
  if (r === 2 && Array.isArray(node) && node.length > 1) return { value: setAt(value, path, () => [...node].reverse()), what: `reverse ${where}` };
  if (r === 3 && node !== null && typeof node === 'object' && !Array.isArray(node)) {
    return { value: setAt(value, path, (n) => ({ ...(n as object), [rng.pick(['extra', '__proto__', 'name', 'size'])]: rng.pick(HOSTILE_VALUES) })), what: `add a field to ${where}` };
  }
  if (r === 4 && ids.length > 0) {
    const id = rng.pick(ids);
    return { value: setAt(value, path, () => id), what: `${where} = id ${id.slice(0, 12)}` };
  }
  if (r === 5 && typeof node === 'number') {
    const n = rng.pick([node + 1, node - 1, node * 2 ** 20, -node, node + 0.5, 2 ** 53 + 2, 8.64e15]);
    return { value: setAt(value, path, () => n), what: `${where} = ${n}` };
  }
  const hostile = rng.pick(HOSTILE_VALUES);
  return { value: setAt(value, path, () => hostile), what: `${where} = ${JSON.stringify(hostile)?.slice(0, 40)}` };
}

/** Raw damage to bytes: flips, a cut, an extension, garbage. */
export function mutateBytes(rng: Rng, bytes: Uint8Array): { bytes: Uint8Array; what: string } {
  const b = Uint8Array.from(bytes);
  switch (rng.int(6)) {
    case 0: {
      const n = rng.range(1, 8);
      for (let i = 0; i < n && b.length > 0; i++) {
        const at = rng.int(b.length);
        b[at] = (b[at] as number) ^ (1 << rng.int(8));
      }
      return { bytes: b, what: `flip ${n} bits` };
    }
    case 1: {
      const n = b.length === 0 ? 0 : rng.int(b.length);
      return { bytes: b.slice(0, n), what: `truncate to ${n} bytes` };
    }
    case 2: {
      const extra = rng.bytes(rng.pick([1, 7, 100, 5000]));
      return { bytes: Buffer.concat([b, extra]), what: `extend by ${extra.length} bytes` };
    }
    case 3:
      return { bytes: new Uint8Array(0), what: 'empty' };
    case 4:
      return { bytes: rng.bytes(rng.range(1, 300)), what: 'random bytes' };
    default: {
      const junk = Buffer.from(rng.pick(['{', '[]', 'null', '{"version":1}', '\u0000', '\ufeff']));
      return { bytes: Buffer.concat([junk, b]), what: `prepend ${JSON.stringify(junk.toString())}` };
    }
  }
}

/** JSON bytes, canonical where the value allows (it always does here: only finite numbers). */
function bytesOf(value: unknown): Uint8Array {
  return Buffer.from(canonicalJson(value), 'utf8');
}

function parse(bytes: Uint8Array): unknown {
  return JSON.parse(Buffer.from(bytes).toString('utf8'));
}

const MISSING = ID('e');
const CASE_TWIN = (name: string) => (name === name.toUpperCase() ? name.toLowerCase() : name.toUpperCase());

/** The ids of the trees from the snapshot's root down to the parent of `ref`. */
function ancestors(bucket: Bucket, ref: TreeRef): BlobId[] {
  const snapshot = bucket.snapshots.get(ref.snapshot);
  if (!snapshot) throw new Error(`no snapshot ${ref.snapshot}`);
  const out: BlobId[] = [];
  let id = snapshot.snapshot.root;
  for (const name of ref.path) {
    out.push(id);
    const e = (bucket.treeJson.get(id) as TreeJson).entries.find((x) => x.name === name);
    id = e?.subtree as BlobId;
  }
  return out;
}

/** One hostile change to a tree's entries, aimed at what validation lets through. */
function mutateEntries(rng: Rng, bucket: Bucket, ref: TreeRef, tree: TreeJson): string {
  const entries = tree.entries;
  const i = rng.int(entries.length);
  const e = entries[i] as Json;
  const up = ancestors(bucket, ref);
  const otherTree = rng.pick(bucket.trees).id;
  const data = rng.pick(bucket.dataIds);
  const options: [string, () => void][] = [
    ['name = a sibling\'s', () => void (e.name = (entries[(i + 1) % entries.length] as Json).name)],
    ['name in other case', () => void (e.name = CASE_TWIN(e.name as string))],
    ['a copy of the entry', () => void entries.splice(i, 0, { ...e })],
    ['becomes a whiteout', () => void entries.splice(i, 1, { name: e.name, type: 'whiteout' })],
    ['a folder naming an ancestor', () => void entries.splice(i, 0, { name: 'loop', type: 'dir', mode: 0o755, mtimeMs: 1, subtree: up.length > 0 ? rng.pick(up) : ref.id })],
    ['a folder naming the tree itself', () => void entries.splice(i, 0, { name: 'self', type: 'dir', mode: 0o755, mtimeMs: 1, subtree: ref.id })],
    ['mtime out of Date range', () => void (e.mtimeMs = rng.pick([8.64e15 + 1, 2 ** 53 - 1, 1e300]))],
    ['mode with type bits', () => void (e.mode = rng.pick([0o7777, 0o170644, 0o120777, 0o40755, 0]))],
  ];
  if (e.type === 'file') {
    const size = e.size as number;
    const chunks = e.chunks as string[];
    options.push(
      ['size off by one', () => void (e.size = size + rng.pick([1, -1]))],
      ['size huge', () => void (e.size = rng.pick([1e15, 2 ** 53 - 1, 2 ** 31]))],
      ['no chunks', () => void (e.chunks = [])],
      ['a chunk repeated', () => void (e.chunks = Array<string>(rng.pick([2, 1000, 100_000])).fill(chunks[0] as string))],
      ['a chunk that is a tree', () => void (e.chunks = [otherTree])],
      ['a chunk nobody has', () => void (e.chunks = [MISSING, ...chunks.slice(1)])],
      ['another file\'s chunk', () => void (e.chunks = [data, ...chunks.slice(1)])],
      ['a folder instead', () => void entries.splice(i, 1, { name: e.name, type: 'dir', mode: 0o755, mtimeMs: 1, subtree: otherTree })],
    );
  } else if (e.type === 'dir') {
    options.push(
      ['subtree is a data blob', () => void (e.subtree = data)],
      ['subtree nobody has', () => void (e.subtree = MISSING)],
      ['subtree of another place', () => void (e.subtree = otherTree)],
      ['a file instead', () => void entries.splice(i, 1, { name: e.name, type: 'file', mode: 0o644, mtimeMs: 1, size: 4, chunks: [data] })],
    );
  } else if (e.type === 'symlink') {
    options.push(['a target outside', () => void (e.target = rng.pick(['../../sentinel/x', '/etc/passwd', '..', 'C:\\x', '\\\\server\\share', 'a'.repeat(4096)]))]);
  }
  const [what, apply] = rng.pick(options);
  apply();
  // Mostly sorted, so that the tree gets past the order check to what uses it.
  if (rng.chance(0.85)) entries.sort((a, b) => (String(a.name) < String(b.name) ? -1 : String(a.name) > String(b.name) ? 1 : 0));
  return `entry ${JSON.stringify(e.name)}: ${what}`;
}

/** Writes `layer`'s snapshot `old` again as `json`, and points the heads that named it at the new one. */
async function reseatSnapshot(store: MemoryStore, hash: HashAlgorithm, layer: string, old: string, json: unknown): Promise<string> {
  const bytes = bytesOf(json);
  const id = blobId(bytes, hash);
  await store.put(keys.snapshot(layer, id), bytes);
  for await (const { key } of store.list(keys.heads(layer))) {
    const head = parse(await store.get(key)) as Json;
    if (head.snapshot === old) await store.put(key, bytesOf({ ...head, snapshot: id }));
  }
  return id;
}

/** Tree `ref` as `json` (raw), sealed under its new id, with its ancestors, snapshot and heads written anew. */
async function sealTree(store: MemoryStore, bucket: Bucket, ref: TreeRef, json: unknown): Promise<void> {
  const repo = await openRepository(store);
  const bytes = bytesOf(json);
  let child = repo.blobId(bytes);
  await repo.addBlob('tree', child, bytes);
  const up = ancestors(bucket, ref);
  for (let d = up.length - 1; d >= 0; d--) {
    const parent = structuredClone(bucket.treeJson.get(up[d] as BlobId) as TreeJson);
    (parent.entries.find((x) => x.name === ref.path[d]) as Json).subtree = child;
    const b = bytesOf(parent);
    child = repo.blobId(b);
    await repo.addBlob('tree', child, b);
  }
  await repo.flush();
  const { layer, snapshot } = bucket.snapshots.get(ref.snapshot) as { layer: string; snapshot: object };
  await reseatSnapshot(store, repo.format.hash, layer, ref.snapshot, { ...snapshot, root: child });
}

function keysOf(bucket: Bucket, prefix: string): string[] {
  return [...bucket.objects.keys()].filter((k) => k.startsWith(prefix));
}

/** One mutation of a fresh copy of the bucket. */
export async function mutate(rng: Rng, bucket: Bucket): Promise<Mutation> {
  const store = await storeOf(bucket.objects);
  const hash = (parse(bucket.objects.get(keys.config) as Uint8Array) as { hash: HashAlgorithm }).hash;
  const snapshotIds = [...bucket.snapshots.keys()];
  const ids = [...snapshotIds, ...bucket.trees.map((t) => t.id), ...bucket.dataIds, MISSING];
  const r = rng.int(100);
  if (r < 35) {
    const ref = rng.pick(bucket.trees);
    const tree = structuredClone(bucket.treeJson.get(ref.id) as TreeJson);
    let what: string;
    let json: unknown = tree;
    if (rng.chance(0.7)) what = mutateEntries(rng, bucket, ref, tree);
    else ({ value: json, what } = mutateJson(rng, tree, ids));
    await sealTree(store, bucket, ref, json);
    return { store, what: `tree ${ref.layer}:/${ref.path.join('/')} sealed: ${what}` };
  }
  if (r < 47) {
    const old = rng.pick(snapshotIds);
    const { layer, snapshot } = bucket.snapshots.get(old) as { layer: string; snapshot: object };
    const { value, what } = mutateJson(rng, snapshot, ids);
    await reseatSnapshot(store, hash, layer, old, value);
    return { store, what: `snapshot ${layer}/${old.slice(0, 8)} sealed: ${what}` };
  }
  if (r < 57) {
    const key = rng.pick(keysOf(bucket, 'index/'));
    const { value, what } = mutateJson(rng, parse(bucket.objects.get(key) as Uint8Array), ids);
    const bytes = bytesOf(value);
    await store.put(keys.index(blobId(bytes, hash)), bytes);
    const dropped = rng.chance(0.7);
    if (dropped) await store.delete(key);
    return { store, what: `index ${key} sealed${dropped ? ' in its place' : ' beside it'}: ${what}` };
  }
  if (r < 67) {
    const key = rng.pick(keysOf(bucket, 'layers/').filter((k) => k.includes('/heads/')));
    const { value, what } = mutateJson(rng, parse(bucket.objects.get(key) as Uint8Array), ids);
    const at = rng.chance(0.3) ? key.replace(/[^/]+$/, 'evil') : key;
    await store.put(at, bytesOf(value));
    return { store, what: `head ${at} from ${key}: ${what}` };
  }
  if (r < 75) {
    const key = rng.pick([PROFILE_KEY, keys.config, ...keysOf(bucket, 'index/'), ...keysOf(bucket, 'layers/')]);
    const { value, what } = mutateJson(rng, parse(bucket.objects.get(key) as Uint8Array), ids);
    await store.put(key, bytesOf(value));
    return { store, what: `${key} in place: ${what}` };
  }
  if (r < 93) {
    const key = rng.pick([...bucket.objects.keys()]);
    const { bytes, what } = mutateBytes(rng, bucket.objects.get(key) as Uint8Array);
    store.corrupt(key, () => bytes);
    return { store, what: `${key} bytes: ${what}` };
  }
  const key = rng.pick([...bucket.objects.keys()]);
  await store.delete(key);
  return { store, what: `${key} deleted` };
}
