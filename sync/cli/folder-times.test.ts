// Folder times the agent does not sync (sync/agent/trees.ts writes every folder with mtime 0):
// a restore or a sign-in must leave a folder that is already there its own time, give one it
// creates the time it was made, and `strata ls` must not show 1970 for a time it does not know.
// A snapshot that does record a folder's time (strata snapshot) is still restored to it.
import assert from 'node:assert/strict';
import { mkdir, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { parseOrgConfig } from '../../shared/org-config.js';
import { syncOnce } from '../agent/index.js';
import { chunkFileHere } from '../chunker/index.js';
import { initRepository, openRepository } from '../repo/index.js';
import { layHome } from '../signin/lay.js';
import { readSession, writeSession } from '../signin/session.js';
import { openAgentState } from '../state/index.js';
import { MemoryStore } from '../store/memory.js';
import { tempDir } from '../restore/testkit.js';
import { parseCommandArgs } from './args.js';
import { COMMANDS } from './commands/index.js';
import { Context } from './context.js';

const LAYER = 'user/alice';
const T = new Date('2024-06-01T10:00:00.000Z');
/** A folder's own time, before any restore or sign-in. */
const OLD = new Date('2021-03-04T05:06:07.000Z');
/** The sign-in's clock: far from both, so that a folder given it is told apart. */
const SIGN_IN = new Date('2030-01-01T00:00:00.000Z');

async function cli(store: MemoryStore, args: string[]): Promise<string> {
  const command = COMMANDS.find((c) => c.name === args[0]);
  assert.ok(command);
  let out = '';
  const io = { stdout: (s: string) => void (out += s), stderr: { write: () => true, isTTY: false }, env: { STRATA_STORE: 'mem://' } };
  const ctx = new Context(io, args[0] as string, parseCommandArgs(command, args.slice(1)));
  ctx.useStore(store);
  try {
    await command.run(ctx);
  } finally {
    await ctx.close();
  }
  return out;
}

/** A bucket whose user layer a sync pass wrote from Documents/{a,b}.txt and Documents/sub/c.txt. */
async function syncedLayer(base: string): Promise<MemoryStore> {
  const store = new MemoryStore();
  await initRepository(store, { packSize: 1 << 20 });
  const root = join(base, 'synced');
  await mkdir(join(root, 'Documents/sub'), { recursive: true });
  for (const [p, s] of [['Documents/a.txt', 'alpha'], ['Documents/b.txt', 'beta'], ['Documents/sub/c.txt', 'gamma']]) {
    await writeFile(join(root, p as string), s as string);
    await utimes(join(root, p as string), T, T);
  }
  await syncOnce({ stateDir: join(base, 'agent-state'), repo: await openRepository(store), folder: { root, layer: LAYER }, now: () => T });
  return store;
}

/** `target` holding Documents exactly as the layer has it, its folders dated OLD. */
async function sameAsLayer(target: string): Promise<void> {
  await mkdir(join(target, 'Documents/sub'), { recursive: true });
  for (const [p, s] of [['Documents/a.txt', 'alpha'], ['Documents/b.txt', 'beta'], ['Documents/sub/c.txt', 'gamma']]) await writeFile(join(target, p as string), s as string);
  for (const d of ['Documents/sub', 'Documents']) await utimes(join(target, d), OLD, OLD);
}

it('restore in place (whole, --path) keeps the time of a folder the agent synced; a restore that creates it (or --beside) dates it now, not 1970', async (t) => {
  const base = await tempDir(t, 'folder-times');
  const store = await syncedLayer(base);

  for (const args of [[], ['--path', 'Documents'], ['--path', 'Documents/sub']]) {
    const target = join(base, `in-place${args.join('')}`.replaceAll('/', '-'));
    await sameAsLayer(target);
    await cli(store, ['restore', target, '--layer', LAYER, ...args]);
    for (const d of ['Documents', 'Documents/sub']) assert.equal((await stat(join(target, d))).mtimeMs, OLD.getTime(), `${d} after restore ${args.join(' ')}`);
  }

  const fresh = join(base, 'fresh');
  await cli(store, ['restore', fresh, '--layer', LAYER]);
  for (const d of ['Documents', 'Documents/sub']) assert.ok((await stat(join(fresh, d))).mtimeMs > OLD.getTime(), `${d} created by the restore`);

  const beside = join(base, 'beside');
  await sameAsLayer(beside);
  await cli(store, ['restore', beside, '--layer', LAYER, '--path', 'Documents', '--beside']);
  const copy = (await readdir(beside)).find((n) => n.startsWith('Documents.restored-'));
  assert.ok(copy, 'restored beside');
  for (const d of [copy, `${copy}/sub`]) assert.ok((await stat(join(beside, d))).mtimeMs > OLD.getTime(), `${d} created beside`);
});

it('ls shows no time for a folder the agent synced (not 1970), and a file its time', async (t) => {
  const base = await tempDir(t, 'folder-times');
  const store = await syncedLayer(base);
  const text = await cli(store, ['ls', '--layer', LAYER]);
  assert.doesNotMatch(text, /1970/);
  assert.match(text, /^dir +drwx\S+ +- +- +Documents\/$/m);
  assert.match(text, /^file .* 2024-06-01T10:00:00Z +Documents\/a\.txt$/m);
  const json = (JSON.parse(await cli(store, ['ls', '--layer', LAYER, '--json'])) as { entries: { path: string; mtime: string | null }[] }).entries;
  assert.equal(json.find((e) => e.path === 'Documents')?.mtime, null);
});

it('a sign-in keeps the time of a folder already in home that the layer dates with 0', async (t) => {
  const base = await tempDir(t, 'folder-times');
  const store = await syncedLayer(base);
  const stateDir = join(base, 'state');
  const home = join(base, 'home');
  await sameAsLayer(home);
  const org = parseOrgConfig({ version: 1, org: 'acme', mode: 'persistent', store: { bucket: 'acme' }, folders: ['Documents'] }, 'test');
  const { deviceId } = await openAgentState(stateDir);
  await writeSession(stateDir, { version: 1, source: 'test', org, user: 'alice', home, mode: 'persistent', device: deviceId, signedIn: SIGN_IN.toISOString() });
  await layHome({ store, session: await readSession(stateDir), stateDir, chunkFile: chunkFileHere, now: () => SIGN_IN });
  for (const d of ['Documents', 'Documents/sub']) assert.equal((await stat(join(home, d))).mtimeMs, OLD.getTime(), `${d} after the sign-in`);
});
