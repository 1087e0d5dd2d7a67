// A tree that no index holds (a dangling reference, or its index deleted or refused) has no key of
// its own: every read path must fail naming what referenced it — the parent tree's pack and the
// folder's path, or the snapshot whose root it is (DESIGN §2).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseOrgConfig } from '../../shared/org-config.js';
import { syncOnce } from '../agent/index.js';
import { chunkFileHere } from '../chunker/index.js';
import { StrataError } from '../errors.js';
import { openRepository, type Repository } from '../repo/index.js';
import { decodeIndex, encodeIndex } from '../repo/indexfile.js';
import { keys, type BlobId } from '../repo/types.js';
import { restoreSnapshot } from '../restore/index.js';
import { sessionFolder } from '../signin/folder.js';
import { layHome } from '../signin/lay.js';
import { readSession, writeSession } from '../signin/session.js';
import { openAgentState } from '../state/index.js';
import type { MemoryStore } from '../store/memory.js';
import { buildBucket, ORG_LAYER, storeOf, USER, USER_LAYER, type Bucket } from '../testing/hostile-bucket.js';
import { parseCommandArgs } from './args.js';
import { COMMANDS } from './commands/index.js';
import { Context } from './context.js';

const T = new Date('2024-06-01T10:00:00.000Z');

/** The bucket with tree `id` left out of every index. */
async function withoutTree(bucket: Bucket, id: BlobId): Promise<MemoryStore> {
  const store = await storeOf(bucket.objects);
  const { format } = await openRepository(store, { loadIndex: false });
  for (const [key, bytes] of bucket.objects) {
    if (!key.startsWith('index/')) continue;
    const packs = decodeIndex(key, bytes, format.hash);
    if (!packs.some((p) => p.blobs.some((b) => b.id === id))) continue;
    await store.delete(key);
    const kept = encodeIndex(packs.map((p) => ({ ...p, blobs: p.blobs.filter((b) => b.id !== id) })), format.hash);
    await store.put(keys.index(kept.id), kept.bytes);
  }
  return store;
}

/** The latest snapshot of `layer` in the bucket: its id and the tree at `path` below it. */
function latestTree(bucket: Bucket, layer: string, path: string[]): { snapshot: string; id: BlobId; parent: BlobId } {
  const [snapshot] = [...bucket.snapshots].filter(([, s]) => s.snapshot.layer === layer).sort(([, a], [, b]) => (a.snapshot.time < b.snapshot.time ? 1 : -1))[0] as [string, unknown];
  const at = (p: string[]) => bucket.trees.find((t) => t.snapshot === snapshot && t.path.join('/') === p.join('/'))?.id as BlobId;
  return { snapshot, id: at(path), parent: at(path.slice(0, -1)) };
}

async function ls(store: MemoryStore, layer: string): Promise<void> {
  const command = COMMANDS.find((c) => c.name === 'ls');
  assert.ok(command);
  const io = { stdout: () => undefined, stderr: { write: () => true, isTTY: false }, env: { STRATA_STORE: 'mem://' } };
  const ctx = new Context(io, 'ls', parseCommandArgs(command, ['--layer', layer]));
  ctx.useStore(store);
  try {
    await command.run(ctx);
  } finally {
    await ctx.close();
  }
}

async function signIn(store: MemoryStore, base: string, mode: 'persistent' | 'vdi' = 'persistent'): Promise<{ warnings: string[] }> {
  const stateDir = join(base, 'state');
  const org = parseOrgConfig({ version: 1, org: 'acme', mode: 'persistent', store: { bucket: 'acme' }, folders: ['Documents', '.config'] }, 'test');
  const { deviceId } = await openAgentState(stateDir);
  await writeSession(stateDir, { version: 1, source: 'test', org, user: USER, home: join(base, 'home'), mode, device: deviceId, signedIn: T.toISOString() });
  return layHome({ store, session: await readSession(stateDir), stateDir, chunkFile: chunkFileHere, now: () => T });
}

async function syncPass(repo: Repository, base: string): Promise<void> {
  const root = join(base, 'folder');
  await mkdir(root, { recursive: true });
  await syncOnce({ stateDir: join(base, 'state'), repo, folder: { root, layer: USER_LAYER }, now: () => T });
}

const PATHS: Record<string, (store: MemoryStore, base: string, layer: string, snapshot: string) => Promise<void>> = {
  restore: async (store, base, layer, snapshot) => void (await restoreSnapshot(await openRepository(store), layer, snapshot, { target: join(base, 'target'), aside: { device: 'test' }, chunkFile: chunkFileHere })),
  ls: (store, _base, layer) => ls(store, layer),
  'sign-in': async (store, base) => void (await signIn(store, base)),
  'sync pass': async (store, base) => syncPass(await openRepository(store), base),
};

async function failure(p: Promise<unknown>): Promise<StrataError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof StrataError, `fails with a StrataError: ${String(err)}`);
  assert.equal(err.code, 'E_BLOB_NOT_FOUND', err.toString());
  return err;
}

describe('a tree in no index is named by what referenced it', async () => {
  const bucket = await buildBucket();
  const cases: [string, string, (store: MemoryStore, base: string, layer: string, snapshot: string) => Promise<void>][] = Object.entries(PATHS).map(([name, run]) => [name, name === 'sign-in' ? ORG_LAYER : USER_LAYER, run]);

  for (const [name, layer, run] of cases) {
    it(`${name}: a folder's tree names its parent tree's pack and the folder's path`, async (t) => {
      const base = await mkdtemp(join(tmpdir(), 'strata-dangling-'));
      t.after(() => rm(base, { recursive: true, force: true }));
      const { snapshot, id, parent } = latestTree(bucket, layer, ['Documents']);
      const store = await withoutTree(bucket, id);
      const parentPack = (await openRepository(store)).blobLocation(parent)?.pack as string;
      const err = await failure(run(store, base, layer, snapshot));
      assert.equal(err.key, keys.pack(parentPack), err.toString());
      assert.equal(err.path, 'Documents', err.toString());
      assert.match(err.message, new RegExp(id));
    });

    it(`${name}: a root tree names its snapshot`, async (t) => {
      const base = await mkdtemp(join(tmpdir(), 'strata-dangling-'));
      t.after(() => rm(base, { recursive: true, force: true }));
      const { snapshot, id } = latestTree(bucket, layer, []);
      const err = await failure(run(await withoutTree(bucket, id), base, layer, snapshot));
      assert.equal(err.key, keys.snapshot(layer, snapshot), err.toString());
      assert.match(err.message, new RegExp(id));
    });
  }
});

it("a sync pass after a sign-in: an org layer's root tree in no index names the snapshot it was laid from", async (t) => {
  const bucket = await buildBucket();
  const base = await mkdtemp(join(tmpdir(), 'strata-dangling-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  await signIn(await storeOf(bucket.objects), base);
  const { snapshot, id } = latestTree(bucket, ORG_LAYER, []);
  const store = await withoutTree(bucket, id);
  const stateDir = join(base, 'state');
  const folder = sessionFolder(await readSession(stateDir), stateDir);
  const err = await failure(syncOnce({ stateDir, repo: await openRepository(store), folder, now: () => T }));
  assert.equal(err.key, keys.snapshot(ORG_LAYER, snapshot), err.toString());
  assert.match(err.message, new RegExp(id));
});

it("a VDI sign-in over an image's files: an older snapshot's tree in no index does not stop it; its warning names the parent tree's pack and the folder's path", async (t) => {
  const bucket = await buildBucket();
  const base = await mkdtemp(join(tmpdir(), 'strata-dangling-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  const [old] = [...bucket.snapshots].find(([, s]) => s.snapshot.layer === USER_LAYER && s.snapshot.device === 'pc2') as [string, unknown];
  const at = (p: string) => bucket.trees.find((tr) => tr.snapshot === old && tr.path.join('/') === p)?.id as BlobId;
  const store = await withoutTree(bucket, at('Documents'));
  const parentPack = (await openRepository(store)).blobLocation(at(''))?.pack as string;
  await mkdir(join(base, 'home', 'Documents'), { recursive: true });
  await writeFile(join(base, 'home', 'Documents', 'image.txt'), 'a file of the image the layer does not know');
  const { warnings } = await signIn(store, base, 'vdi');
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.ok(warnings[0]?.includes(keys.pack(parentPack)) && warnings[0].includes('Documents'), warnings[0]);
  assert.equal(await readFile(join(base, 'home', 'Documents', 'image.txt'), 'utf8'), 'a file of the image the layer does not know', 'the image\'s file is kept');
});
