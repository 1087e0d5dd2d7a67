/**
 * Test helpers for the agent: devices (a folder, a state dir and a Repository of their own) on one
 * shared store, and a way to run passes until every device agrees.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, lstat, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { initRepository, openRepository } from '../repo/index.js';
import type { ObjectStore } from '../store/index.js';
import { DirStore } from '../store/dir.js';
import { MemoryStore } from '../store/memory.js';
import { openFileIndex, type FileIndex } from '../state/index.js';
import { makeExcluder } from '../watch/index.js';
import { SyncFolder, type FolderOptions, type PassResult } from './folder.js';

export const LAYER = 'user/alice';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(REPO, 'sync/cli/main.ts');
const TSX = import.meta.resolve('tsx');

/** `strata <args>` from the source tree as a child process (through `prefix`, unshare say, if given); stdout and stderr are pipes. */
export function strataChild(args: string[], prefix: string[] = []): ChildProcess {
  const argv = [...prefix, process.execPath, '--import', TSX, MAIN, ...args];
  return spawn(argv[0]!, argv.slice(1), { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** strataChild to its end: its exit code and what it wrote. */
export async function runStrata(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = strataChild(args);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, stdout, stderr };
}

export async function initStore(store: ObjectStore): Promise<void> {
  await initRepository(store, { id: 'agent-test', created: new Date('2024-05-01T10:00:00Z'), packSize: 1 << 20 });
}

export async function tempRoot(t: TestContext, name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `strata-agent-${name}-`));
  // Retried: an after-hook added later (closing a device) may still be due when this one runs.
  t.after(() => rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));
  return dir;
}

/**
 * Two devices, deva and devb, over one fresh in-memory bucket (`mem`, made here unless given), each
 * through the store given for it (a wrapper of `mem` that injects faults) or `mem` itself, deva
 * with `aOptions`; closed after the test.
 */
export async function twoDevices(t: TestContext, name: string, through: { mem?: MemoryStore; a?: ObjectStore; b?: ObjectStore; aOptions?: Partial<FolderOptions> } = {}): Promise<{ base: string; mem: MemoryStore; a: Device; b: Device }> {
  const base = await tempRoot(t, name);
  const mem = through.mem ?? new MemoryStore();
  await initStore(mem);
  const a = await Device.create(base, 'deva', through.a ?? mem, through.aOptions);
  const b = await Device.create(base, 'devb', through.b ?? mem);
  t.after(async () => {
    await a.close();
    await b.close();
  });
  return { base, mem, a, b };
}

const KILL_PASS_CHILD = join(REPO, 'sync/agent/kill-pass-child.ts');

/**
 * deva (its deletes and answers kept in its state dir) and devb over one store in a folder;
 * `killedPass(point)` runs deva's next pass in a child (kill-pass-child.ts) that must be SIGKILLed
 * at `point`, with deva closed until `reopen()`. Closed after the test.
 */
export async function killableDevices(t: TestContext, name: string): Promise<{ a: Device; b: Device; store: DirStore; killedPass: (point: string) => Promise<void>; reopen: () => Promise<void> }> {
  const base = await tempRoot(t, name);
  const storeDir = join(base, 'store');
  await mkdir(storeDir);
  const store = new DirStore(storeDir);
  await initStore(store);
  const state = join(base, 'deva', 'state');
  const a = await Device.create(base, 'deva', store, { deletesFile: join(state, 'deletes.json'), answerFile: join(state, 'held-answer.json') });
  const b = await Device.create(base, 'devb', store);
  let aOpen = true;
  t.after(async () => {
    if (aOpen) await a.close();
    await b.close();
  });
  const killedPass = async (point: string): Promise<void> => {
    await a.close();
    aOpen = false;
    const child = spawn(process.execPath, ['--import', 'tsx', KILL_PASS_CHILD, base, storeDir, point], { cwd: REPO, stdio: ['ignore', 'inherit', 'inherit'] });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (c, s) => resolve([c, s]));
    });
    assert.equal(signal, 'SIGKILL', `the pass was killed at ${point} (exit code ${code})`);
  };
  const reopen = async (): Promise<void> => {
    await a.open();
    aOpen = true;
  };
  return { a, b, store, killedPass, reopen };
}

/** One simulated machine: its own folder, state and repository instance. */
export class Device {
  folder!: SyncFolder;
  private index!: FileIndex;

  constructor(
    readonly name: string,
    readonly root: string,
    readonly state: string,
    readonly store: ObjectStore,
    readonly extra: Partial<FolderOptions> = {},
  ) {}

  static async create(base: string, name: string, store: ObjectStore, extra: Partial<FolderOptions> = {}): Promise<Device> {
    const d = new Device(name, join(base, name, 'root'), join(base, name, 'state'), store, extra);
    await mkdir(d.root, { recursive: true });
    await d.open();
    return d;
  }

  /** (Re)opens the agent side, as a restart would. */
  async open(): Promise<void> {
    await mkdir(this.state, { recursive: true });
    this.index = await openFileIndex(this.state, 'statcache');
    const repo = await openRepository(this.store);
    this.folder = new SyncFolder({ repo, root: this.root, layer: LAYER, device: this.name, index: this.index, execJournal: join(this.state, 'exec.journal'), pendingFile: join(this.state, 'pending.json'), settledFile: join(this.state, 'settled.json'), treeDir: join(this.state, 'trees'), exclude: makeExcluder(), ...this.extra });
    await this.folder.recover();
  }

  async close(): Promise<void> {
    await this.index.close();
  }

  /** A restart (close, then open) with these folder options changed. */
  async restart(changes: Partial<FolderOptions>): Promise<void> {
    await this.close();
    Object.assign(this.extra, changes);
    await this.open();
  }

  async pass(): Promise<PassResult> {
    return this.folder.pass();
  }

  path(rel: string): string {
    return join(this.root, rel);
  }

  async write(rel: string, text: string, mtime?: Date): Promise<void> {
    await mkdir(dirname(this.path(rel)), { recursive: true });
    await writeFile(this.path(rel), text);
    if (mtime) {
      const { utimes } = await import('node:fs/promises');
      await utimes(this.path(rel), mtime, mtime);
    }
    this.folder.markDirty([rel]);
  }

  async read(rel: string): Promise<string> {
    return readFile(this.path(rel), 'utf8');
  }

  async remove(rel: string): Promise<void> {
    await rm(this.path(rel), { recursive: true, force: true });
    this.folder.markDirty([rel]);
  }

  /** path → file text, `->target` for a symlink, `/` for a dir. */
  async listing(): Promise<Record<string, string>> {
    return listDir(this.root);
  }
}

export async function listDir(root: string, rel = '', out: Record<string, string> = {}): Promise<Record<string, string>> {
  for (const name of (await readdir(join(root, rel))).sort()) {
    const r = rel === '' ? name : `${rel}/${name}`;
    const st = await lstat(join(root, r));
    if (st.isDirectory()) {
      out[`${r}/`] = '';
      await listDir(root, r, out);
    } else if (st.isSymbolicLink()) out[r] = `->${await readlink(join(root, r))}`;
    else out[r] = await readFile(join(root, r), 'utf8');
  }
  return out;
}

/** Runs passes on every device, round-robin, until a whole round changes nothing (or gives up). */
export async function converge(devices: readonly Device[], maxRounds = 8): Promise<PassResult[]> {
  const all: PassResult[] = [];
  for (let round = 0; round < maxRounds; round++) {
    let quiet = true;
    for (const d of devices) {
      for (const d2 of devices) d2.folder.markAllDirty();
      const r = await d.pass();
      all.push(r);
      if (r.status !== 'synced' || r.snapshot !== undefined) quiet = false;
    }
    if (quiet) return all;
  }
  throw new Error(`devices did not converge in ${maxRounds} rounds`);
}

export async function assertSame(devices: readonly Device[]): Promise<Record<string, string>> {
  const first = await devices[0]!.listing();
  for (const d of devices.slice(1)) assert.deepEqual(await d.listing(), first, `${d.name} differs from ${devices[0]!.name}`);
  return first;
}
