// A seeded fuzzer of everything that reads the bucket (DESIGN §2: anything read from the bucket is
// untrusted). A small real bucket (sync/testing/hostile-bucket.ts) has one object, or one blob,
// changed at random (hostile-mutations.ts), then every read path runs on it: a restore into an
// empty folder, `ls`, `log`, `check --read-data`, a sign-in lay (persistent or VDI) onto a home
// holding the user's files (then its first sync pass), and a sync pass of a folder holding files
// of its own.
//
// What must hold, whatever the bucket holds: a path either works or fails with a StrataError whose
// code is E_… and which names an object key or a path (for a blob in no index, what referenced
// it: its id alone is not enough); nothing is written outside the folder it was given; the user's
// files are all still there, at their place or in a conflict copy; no promise rejection goes
// unhandled; every path ends (each is bounded); memory stays bounded (a size of 1e15
// must not be allocated). And when a restore or `ls` fails on the bucket, `check --read-data` must
// report a problem.
//
// Runs HOSTILE_RUNS mutations (default 12) with seeds from a printed one: a failure names its own
// seed; rerun it alone with SEED=<n> HOSTILE_RUNS=1.
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { parseOrgConfig } from '../../shared/org-config.js';
import { syncOnce } from '../agent/index.js';
import { chunkFileHere } from '../chunker/index.js';
import { StrataError } from '../errors.js';
import { openRepository } from '../repo/index.js';
import { restoreSnapshot } from '../restore/index.js';
import { sessionFolder } from '../signin/folder.js';
import { layHome } from '../signin/lay.js';
import { readSession, writeSession } from '../signin/session.js';
import { openAgentState } from '../state/index.js';
import { CountingStore } from '../store/counting.js';
import type { ObjectStore } from '../store/index.js';
import type { MemoryStore } from '../store/memory.js';
import { RetryingStore } from '../store/retrying.js';
import { buildBucket, ORG_LAYER, storeOf, USER, USER_LAYER, type Bucket } from '../testing/hostile-bucket.js';
import { mutate, type Mutation } from '../testing/hostile-mutations.js';
import { makeRng, testSeed, type Rng } from '../testing/random.js';
import { parseCommandArgs } from './args.js';
import { COMMANDS } from './commands/index.js';
import { Context } from './context.js';

const RUNS = Number(process.env.HOSTILE_RUNS ?? 12);
/** Each path must end within this; a hostile bucket must not make one hang. */
const PATH_MS = 30_000;
/** Heap and buffers a path may grow by (the whole bucket is a few hundred KiB). */
const MEMORY_BYTES = 512 * 1024 * 1024;
const T = new Date('2024-06-01T10:00:00.000Z');

/** A Context whose store is the fuzzed one (the CLI would open a new one from a URL). */
class FuzzContext extends Context {
  constructor(
    private readonly raw: ObjectStore,
    ...args: ConstructorParameters<typeof Context>
  ) {
    super(...args);
  }

  override async openStore() {
    const counter = new CountingStore(this.raw);
    return { raw: this.raw, counter, store: new RetryingStore(counter, { retries: 0 }) };
  }
}

/** Runs one CLI command in this process against `store`: what it printed (also pushed to `printed` as it goes, for a run that fails). */
async function cli(store: ObjectStore, name: string, argv: string[], printed: string[] = []): Promise<{ stdout: string }> {
  const command = COMMANDS.find((c) => c.name === name);
  assert.ok(command, name);
  let stdout = '';
  // A store URL, so that the command does not look for a signed-in session: FuzzContext opens `store`.
  const env = { STRATA_STORE: 'fuzz://store' };
  const io = { stdout: (s: string) => void ((stdout += s), printed.push(s)), stderr: { write: () => true, isTTY: false }, env };
  const ctx = new FuzzContext(store, io, name, parseCommandArgs(command, argv));
  try {
    await command.run(ctx);
  } finally {
    await ctx.close();
  }
  return { stdout };
}

async function clone(store: MemoryStore): Promise<MemoryStore> {
  const objects = new Map<string, Uint8Array>();
  for await (const { key } of store.list('')) objects.set(key, await store.get(key));
  return storeOf(objects);
}

/** Every file, folder and link under `dir` (relative path → what it is), `skip` folders left out. */
async function tree(dir: string, skip: ReadonlySet<string> = new Set(), rel = '', out = new Map<string, string>()): Promise<Map<string, string>> {
  for (const name of (await readdir(join(dir, rel))).sort()) {
    const r = rel === '' ? name : `${rel}/${name}`;
    if (skip.has(r)) continue;
    const st = await lstat(join(dir, r));
    if (st.isSymbolicLink()) out.set(r, `-> ${await readlink(join(dir, r))}`);
    else if (st.isDirectory()) {
      out.set(r, 'dir');
      await tree(dir, skip, r, out);
    } else out.set(r, (await readFile(join(dir, r))).toString('latin1'));
  }
  return out;
}

async function writeFiles(root: string, files: Record<string, string>): Promise<void> {
  for (const [p, text] of Object.entries(files)) {
    await mkdir(join(root, p, '..'), { recursive: true });
    await writeFile(join(root, p), text);
  }
}

/** Each of `files` is at its path, or in a conflict copy (a path with a `.sync-conflict-` part), with its content. */
async function keptFiles(root: string, files: Record<string, string>): Promise<string[]> {
  const now = await tree(root);
  const lost: string[] = [];
  for (const [p, text] of Object.entries(files)) {
    if (now.get(p) === text) continue;
    if ([...now].some(([q, v]) => v === text && q.includes('.sync-conflict-'))) continue;
    lost.push(p);
  }
  return lost;
}

/** The user's own files on the machine that signs in: some where the layer has files, one where it has a whiteout, one outside its folders. */
const HOME_FILES = {
  'Documents/notes.txt': "the user's own notes",
  'Documents/mine.txt': 'only here',
  'Documents/Policies/p1.txt': "the user's policy",
  '.config/app/user.ini': 'local=1\n',
  'Music/song.txt': 'outside the folders of the layer',
};
const VDI_KEPT = { 'Documents/mine.txt': HOME_FILES['Documents/mine.txt'], 'Music/song.txt': HOME_FILES['Music/song.txt'] };
const FOLDER_FILES = { 'Documents/notes.txt': 'local notes', 'Documents/mine.txt': 'mine', 'local.txt': 'local only' };

interface Outcome {
  path: string;
  error?: StrataError;
}

/** The read paths, each given a fresh folder of its own under `base` and the mutated store. */
const PATHS: Record<string, (store: MemoryStore, base: string, rng: Rng, bucket: Bucket) => Promise<void>> = {
  async restore(store, base, rng, bucket) {
    const target = join(base, 'target');
    const repo = await openRepository(store);
    const layer = rng.pick([USER_LAYER, USER_LAYER, ORG_LAYER]);
    const old = [...bucket.snapshots].find(([, s]) => s.snapshot.device === 'pc2')?.[0] as string;
    const id = rng.chance(0.25) && layer === USER_LAYER ? old : (await repo.latestSnapshot(layer))?.id;
    if (id === undefined) throw new StrataError('E_NO_SNAPSHOT', `layer ${layer} has no snapshot`, { key: layer });
    await restoreSnapshot(repo, layer, id, { target, aside: { device: 'fuzz' }, chunkFile: chunkFileHere });
  },
  async ls(store, _base, rng) {
    await cli(store, 'ls', ['--layer', rng.pick([USER_LAYER, ORG_LAYER]), ...(rng.chance(0.5) ? ['--json'] : [])]);
  },
  async log(store, _base, rng) {
    await cli(store, 'log', ['--layer', rng.pick([USER_LAYER, ORG_LAYER]), ...(rng.chance(0.5) ? ['--json'] : [])]);
  },
  async check(store) {
    const printed: string[] = [];
    try {
      await cli(store, 'check', ['--read-data'], printed);
    } catch (err) {
      // The one error that names no key: every problem it counts was printed with its key.
      if (!(err instanceof StrataError) || err.code !== 'E_CHECK_FAILED') throw err;
      const problems = printed.join('').split('\n').filter((l) => l !== '' && !l.startsWith('checked '));
      assert.ok(problems.length > 0, 'check failed and printed no problem');
      for (const p of problems) assert.match(p, /^E_[A-Z0-9_]+ [^ :]+: ./, 'each problem names its key');
      throw new StrataError(err.code, err.message, { key: 'check' });
    }
  },
  async signin(mutated, base, rng) {
    const store = await clone(mutated);
    // A VDI sign-in also reads the user layer's older snapshots (the image's files it once held).
    const mode = rng.pick(['persistent', 'vdi'] as const);
    const home = join(base, 'home');
    const stateDir = join(base, 'state');
    const org = parseOrgConfig({ version: 1, org: 'acme', mode, store: { bucket: 'acme' }, folders: ['Documents', '.config'] }, 'test');
    const { deviceId } = await openAgentState(stateDir);
    await writeSession(stateDir, { version: 1, source: 'test', org, user: USER, home, mode, device: deviceId, signedIn: T.toISOString() });
    try {
      await layHome({ store, session: await readSession(stateDir), stateDir, chunkFile: chunkFileHere, now: () => T });
      const session = await readSession(stateDir);
      await syncOnce({ stateDir, repo: await openRepository(store), folder: sessionFolder(session, stateDir), now: () => T });
    } finally {
      // On a VDI image the layer's version of a path wins (DESIGN §4): only the files at paths
      // no layer has are the user's.
      const lost = await keptFiles(home, mode === 'vdi' ? VDI_KEPT : HOME_FILES);
      assert.deepEqual(lost, [], "the user's files are kept");
    }
  },
  async agent(mutated, base) {
    const store = await clone(mutated);
    const root = join(base, 'folder');
    try {
      await syncOnce({ stateDir: join(base, 'state'), repo: await openRepository(store), folder: { root, layer: USER_LAYER }, now: () => T });
    } finally {
      assert.deepEqual(await keptFiles(root, FOLDER_FILES), [], "the folder's files are kept");
    }
  },
};
/** What each path may write into under its base folder. */
const OWN: Record<string, string[]> = { restore: ['target'], signin: ['home/Documents', 'home/.config', 'state'], agent: ['folder', 'state'] };
/** The user's files each path finds in its folder. */
const SETUP: Record<string, (base: string) => Promise<void>> = {
  signin: (base) => writeFiles(join(base, 'home'), HOME_FILES),
  agent: (base) => writeFiles(join(base, 'folder'), FOLDER_FILES),
};

function bounded<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not end within ${PATH_MS} ms`)), PATH_MS);
  });
  return Promise.race([p, hang]).finally(() => clearTimeout(timer));
}

/** Runs one path, checking its error, what it wrote and what it grew the heap by. */
async function runPath(name: string, mutation: Mutation, rng: Rng, bucket: Bucket, dir: string): Promise<Outcome> {
  const base = join(dir, name);
  await mkdir(join(base, 'sentinel'), { recursive: true });
  await writeFile(join(base, 'sentinel', 'keep.txt'), 'keep');
  await SETUP[name]?.(base);
  const own = new Set(OWN[name] ?? []);
  const before = await tree(base, own);
  const used = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const start = used();
  let peak = start;
  const sampler = setInterval(() => void (peak = Math.max(peak, used())), 5);
  let error: StrataError | undefined;
  try {
    await bounded((PATHS[name] as (typeof PATHS)[string])(mutation.store, base, rng, bucket), name);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    assert.ok(err instanceof StrataError, `not a StrataError: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    assert.match(err.code, /^E_[A-Z0-9_]+$/, err.toString());
    // A blob in no index has no key of its own: its error names what referenced it, never its id alone.
    const named = err.key !== undefined || (err.path !== undefined && err.path !== '');
    assert.ok(named, `names no key or path: ${err.toString()}`);
    error = err;
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, used());
  assert.ok(peak - start < MEMORY_BYTES, `grew the heap by ${Math.round((peak - start) / 2 ** 20)} MiB`);
  assert.deepEqual(await tree(base, own), before, 'nothing is written outside the folders it was given');
  return { path: name, ...(error ? { error } : {}) };
}

async function iteration(seed: number, bucket: Bucket, dir: string, clean = false): Promise<void> {
  const rng = makeRng(seed);
  const mutation: Mutation = clean ? { store: await storeOf(bucket.objects), what: 'none (the clean bucket)' } : await mutate(rng, bucket);
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  const at = await mkdtemp(join(dir, `${seed}-`));
  const outcomes: Outcome[] = [];
  try {
    for (const name of Object.keys(PATHS)) {
      try {
        outcomes.push(await runPath(name, mutation, rng, bucket, at));
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        throw new Error(`SEED=${seed} HOSTILE_RUNS=1: ${mutation.what}\n  ${name}: ${message}`, { cause: err });
      }
    }
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(unhandled.map(String), [], `SEED=${seed} HOSTILE_RUNS=1: ${mutation.what}: unhandled rejections`);
    const failed = outcomes.filter((o) => o.error !== undefined);
    if (clean) assert.deepEqual(failed.map((o) => `${o.path}: ${o.error?.toString()}`), [], 'the clean bucket reads without an error');
    // A layer whose heads are all gone has no snapshot, which is no damage check could see.
    const repoFailed = failed.filter((o) => (o.path === 'restore' || o.path === 'ls') && o.error?.code !== 'E_NO_SNAPSHOT');
    if (repoFailed.length > 0) {
      const check = outcomes.find((o) => o.path === 'check');
      assert.ok(check?.error, `SEED=${seed} HOSTILE_RUNS=1: ${mutation.what}\n  check found nothing, but ${repoFailed.map((o) => `${o.path} failed: ${o.error?.toString()}`).join('; ')}`);
    }
    if (process.env.HOSTILE_TRACE) console.log(`${seed}: ${mutation.what}\n${outcomes.map((o) => `  ${o.path}: ${o.error?.toString() ?? 'ok'}`).join('\n')}`);
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await rm(at, { recursive: true, force: true });
  }
}

it('every read path refuses a hostile bucket object with a typed error, and writes nowhere else and loses nothing', async (t) => {
  const seed = testSeed('hostile bucket');
  const dir = await mkdtemp(join(tmpdir(), 'strata-hostile-fuzz-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const bucket = await buildBucket();
  await iteration(seed, bucket, dir, true);
  for (let k = 0; k < RUNS; k++) await iteration(seed + k, bucket, dir);
});
