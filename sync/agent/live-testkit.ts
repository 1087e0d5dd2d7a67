/**
 * Live agents for the agent's tests: machines (a folder, a state dir, an Agent counting its
 * requests) on one store, and ways to wait for what they do.
 */
import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { TestContext } from 'node:test';
import { TEMP_PREFIX } from '../fsutil.js';
import { CountingStore } from '../store/counting.js';
import { MemoryStore } from '../store/memory.js';
import { makeTestS3Store } from '../testing/s3.js';
import type { ObjectStore } from '../store/index.js';
import { Agent, type AgentOptions } from './agent.js';
import { initStore, LAYER, listDir, tempRoot } from './testkit.js';

export const FAST = { pollMs: 150, debounceMs: 20, stabilityMs: 30 };

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface Machine {
  root: string;
  stateDir: string;
  counter: CountingStore;
  agent: Agent;
  restart(): Promise<void>;
}

export function requests(m: Machine): number {
  const c = m.counter.counts;
  return c.gets + c.puts + c.heads + c.lists + c.deletes;
}

export async function machine(base: string, name: string, store: ObjectStore, extra: Partial<AgentOptions> = {}): Promise<Machine> {
  const root = join(base, name, 'root');
  const stateDir = join(base, name, 'state');
  await mkdir(root, { recursive: true });
  const counter = new CountingStore(store);
  const start = () => Agent.start({ stateDir, folders: [{ root, layer: LAYER }], openStore: () => counter, newDeviceId: () => name, ...FAST, ...extra });
  const m: Machine = {
    root,
    stateDir,
    counter,
    agent: await start(),
    async restart() {
      await m.agent.stop();
      m.agent = await start();
    },
  };
  return m;
}

export async function setup(t: TestContext, extra: Partial<AgentOptions> = {}, s3 = false) {
  const machines: Machine[] = [];
  // After-hooks run in the order they were added: the agents stop before their folders and bucket go.
  t.after(() => Promise.all(machines.map((m) => m.agent.stop())));
  const base = await tempRoot(t, 'agent');
  let store: ObjectStore = new MemoryStore();
  if (s3) {
    const fixture = await makeTestS3Store();
    t.after(fixture.cleanup);
    store = fixture.store;
  }
  await initStore(store);
  const a = await machine(base, 'deva', store, extra);
  machines.push(a);
  const b = await machine(base, 'devb', store, extra);
  machines.push(b);
  return { a, b, store };
}

/** The folder's listing, or {} while it changes under the listing. */
export const listing = (m: Machine) => listDir(m.root).catch(() => ({}) as Record<string, string>);
export const has = (m: Machine, rel: string, text: string) => async () => (await listing(m))[rel] === text;
/**
 * The folder holds exactly `n` entries, none of them an apply's temp file: counted in the middle of
 * an apply, n - 1 files and a temp would pass for n.
 */
export const count = (m: Machine, n: number) => async () => {
  const names = Object.keys(await listing(m));
  return names.length === n && !names.some((p) => basename(p).startsWith(TEMP_PREFIX));
};
/** The folder's held deletes, without their id. */
export function heldCounts(m: Machine): object | undefined {
  const d = m.agent.status().folders[0]!.pendingDeletes;
  return d && { direction: d.direction, files: d.files, of: d.of };
}
