/**
 * Test helpers for sign-in: an org on the test S3 server (a fresh bucket with a repository, an
 * org config file, keychain entries under a unique org name removed afterwards) and machines (a
 * home and a state dir of their own). Suites need S3 and a keychain: see sync/testing/s3.ts and
 * sync/credentials/testing.ts for how they get them, and why they never skip under CI.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, utimes, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';
import type { S3Credentials } from '../credentials/index.js';
import { keychainSkipReason, removeTestOrg, uniqueTestOrg } from '../credentials/testing.js';
import { initRepository, openRepository, type Repository } from '../repo/index.js';
import { MemoryStore } from '../store/memory.js';
import type { S3Store } from '../store/s3.js';
import { makeTestS3Store, s3TestEnv, skipWithoutS3 } from '../testing/s3.js';
import { syncOnce, type PassResult } from '../agent/index.js';
import { flatten, type Node } from '../plan/index.js';
import { loadAllTrees } from '../profile/load-trees.js';
import type { Tree } from '../repo/types.js';
import { sessionFolder } from './folder.js';
import { layHome, type LayOptions, type LayResult } from './lay.js';
import { openSessionStore } from './live.js';
import { readSession } from './session.js';
import { signIn, type SignedIn } from './login.js';

/**
 * A machine's start for a lay (LayOptions.bootTime), by the clock that dates files: later than the
 * ctime of every file written in `dir` so far, and no later than that of any written next.
 */
export async function bootNow(dir: string): Promise<number> {
  const probe = join(dir, '.boot-probe');
  await writeFile(probe, '');
  const before = (await lstat(probe)).ctimeMs;
  for (;;) {
    // Changing the times sets the ctime to now.
    await utimes(probe, 0, 0);
    const at = (await lstat(probe)).ctimeMs;
    if (at > before) {
      await rm(probe);
      return at;
    }
    await sleep(1);
  }
}

/** A temp dir removed after the test, and an in-memory bucket with a repository: for sign-in tests that need no S3 server. */
export async function memoryBucket(t: TestContext, name: string): Promise<{ dir: string; store: MemoryStore; repo: Repository }> {
  const dir = await mkdtemp(join(tmpdir(), `strata-${name}-`));
  // Hooks run in the order they were added: an agent a test starts later is stopped after this one,
  // and a pass it still ran may add a file while the dir goes (ENOTEMPTY): rm tries again.
  t.after(() => rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));
  const store = new MemoryStore();
  await initRepository(store, { packSize: 1 << 20 });
  return { dir, store, repo: await openRepository(store) };
}

const TSX = import.meta.resolve('tsx');
const LAYING_TS = new URL('./laying.ts', import.meta.url).href;

/**
 * A process that starts a lay on each state dir it is sent ("go <dir>"), all at the moment they
 * get the line, and answers with what startLaying did: "won <clean>" or "E_LAYING" — on stdout,
 * and in `<dir>.answer` for a caller that cannot wait for a promise. It stays alive until the test
 * ends, so the markers it won stand for a lay that is running.
 */
export async function layingProcess(t: TestContext): Promise<{ go: (dir: string) => void; answer: () => Promise<string> }> {
  const script = `
    import { writeFileSync } from 'node:fs';
    import { createInterface } from 'node:readline';
    const { startLaying } = await import(${JSON.stringify(LAYING_TS)});
    const lines = createInterface({ input: process.stdin });
    console.log('ready');
    for await (const line of lines) {
      const dir = line.slice(3);
      const answer = await startLaying(dir).then((clean) => 'won ' + clean, (err) => err.code ?? String(err));
      writeFileSync(dir + '.answer', answer);
      console.log(answer);
    }`;
  const child = spawn(process.execPath, ['--import', TSX, '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => child.kill());
  const answers = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const answer = async (): Promise<string> => String((await answers.next()).value);
  const first = await answer();
  if (first !== 'ready') throw new Error(`the laying process did not start: ${first}`);
  return { go: (dir) => child.stdin.write(`go ${dir}\n`), answer };
}

/** A `skip` value for suites that need both the S3 server and the keychain. */
export async function signInSkipReason(): Promise<string | false> {
  return skipWithoutS3 || (await keychainSkipReason());
}

export interface TestOrg {
  org: string;
  /** A temp dir of the test: machines and files go under it. */
  dir: string;
  /** The org config file. */
  configPath: string;
  config: Record<string, unknown>;
  /** The bucket under the org's prefix, with the server's credentials (what an admin uses). */
  store: S3Store;
  creds: S3Credentials;
  admin: () => Promise<Repository>;
}

export interface TestOrgOptions {
  mode?: 'vdi' | 'persistent';
  folders?: string[];
  policies?: Record<string, unknown>;
  settings?: Record<string, unknown>;
}

export async function makeTestOrg(t: TestContext, opts: TestOrgOptions = {}): Promise<TestOrg> {
  const env = s3TestEnv();
  if (!env) throw new Error('STRATA_TEST_S3_ENDPOINT, _ACCESS_KEY and _SECRET_KEY must be set');
  const org = uniqueTestOrg('signin');
  const dir = await mkdtemp(join(tmpdir(), 'strata-signin-'));
  const { store, cleanup } = await makeTestS3Store({ prefix: 'layers' });
  // Added first, so it runs before the stops of what the test starts after (hooks run in order, and
  // one that throws skips the rest): an agent still writing must not make it throw and leave the
  // agent, its endpoint, running so that the test file never ends.
  t.after(async () => {
    for (const [what, step] of [
      ['the org', () => removeTestOrg(org)],
      ['the bucket', cleanup],
      [dir, () => rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 })],
    ] as const) {
      await step().catch((e: unknown) => t.diagnostic(`could not remove ${what}: ${String(e)}`));
    }
  });
  await initRepository(store, { packSize: 1 << 20 });
  const config: Record<string, unknown> = {
    version: 1,
    org,
    ...(opts.mode ? { mode: opts.mode } : {}),
    store: { endpoint: env.endpoint, region: env.region, bucket: store.bucket, prefix: 'layers', pathStyle: true },
    ...(opts.policies ? { policies: opts.policies } : {}),
    ...(opts.folders ? { folders: opts.folders } : {}),
    ...(opts.settings ? { settings: opts.settings } : {}),
  };
  const configPath = join(dir, 'org.json');
  await writeFile(configPath, JSON.stringify(config));
  return {
    org,
    dir,
    configPath,
    config,
    store,
    creds: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey },
    admin: () => openRepository(store),
  };
}

export interface Machine {
  home: string;
  stateDir: string;
}

export async function makeMachine(org: TestOrg, name: string): Promise<Machine> {
  const home = join(org.dir, name, 'home');
  const stateDir = join(org.dir, name, 'state');
  await mkdir(home, { recursive: true });
  return { home, stateDir };
}

/** signIn then layHome, as `strata login --no-sync` does. */
export async function signInAndLay(org: TestOrg, m: Machine, user: string, lay: Partial<LayOptions> = {}): Promise<LayResult & { signedIn: SignedIn }> {
  const signedIn = await signIn({ org: org.configPath, user, home: m.home, stateDir: m.stateDir, credentials: async () => org.creds });
  try {
    const result = await layHome({ store: signedIn.org.store, session: signedIn.session, stateDir: m.stateDir, ...lay });
    return { ...result, signedIn };
  } finally {
    signedIn.org.close();
  }
}

/** One sync pass of the machine's session, with the credentials from the keychain (what logout runs). */
export async function syncPass(m: Machine): Promise<PassResult> {
  const session = await readSession(m.stateDir);
  const org = await openSessionStore(session);
  try {
    return await syncOnce({ stateDir: m.stateDir, repo: await openRepository(org.store), folder: sessionFolder(session, m.stateDir) });
  } finally {
    org.close();
  }
}

/** Everything under `dir`: `dir/` for folders, a file's sha256 (first 16 hex digits), `->target` for links. */
export async function listing(dir: string, rel = '', out: Record<string, string> = {}): Promise<Record<string, string>> {
  for (const name of (await readdir(join(dir, rel))).sort()) {
    const r = rel === '' ? name : `${rel}/${name}`;
    const st = await lstat(join(dir, r));
    if (st.isDirectory()) {
      out[`${r}/`] = 'dir';
      await listing(dir, r, out);
    } else if (st.isSymbolicLink()) out[r] = `->${await readlink(join(dir, r))}`;
    else out[r] = createHash('sha256').update(await readFile(join(dir, r))).digest('hex').slice(0, 16);
  }
  return out;
}

/** The flat tree of a layer's latest snapshot (whiteouts included), or an empty one. */
export async function latestTree(repo: Repository, layer: string): Promise<Map<string, Node>> {
  await repo.loadIndex();
  const latest = await repo.latestSnapshot(layer);
  if (!latest) return new Map();
  const trees = await loadAllTrees(repo, [latest.snapshot.root]);
  const get = (id: string): Tree => trees.get(id) as Tree;
  return flatten(get(latest.snapshot.root), get);
}
