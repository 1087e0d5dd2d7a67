/**
 * Set-up shared by the sign-out tests (logout-*.test.ts): signOut with its waits bounded, a
 * preloaded user layer, an agent served on its control endpoint (a real one, or one that answers
 * nothing), and a PC signed in with its agent running.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { writeTree } from '../cli/testkit.js';
import { CONTROL_FILE, serveControl } from '../control/index.js';
import { preloadUserLayer } from '../profile/index.js';
import { FaultyStore } from '../store/faulty.js';
import { openSessionStore, startSessionAgent } from './live.js';
import { signOut as signOutOf, type SignOutOptions } from './logout.js';
import { readSession } from './session.js';
import { makeMachine, makeTestOrg, signInAndLay, signInSkipReason, type TestOrg } from './testkit.js';

/** The suites' `skip`: they need the S3 server and the keychain. */
export const skip = await signInSkipReason();
/** The child that signs out with --wipe and stalls in the wipe (logout-child.ts). */
export const CHILD = fileURLToPath(new URL('./logout-child.ts', import.meta.url));
/** How long a test waits for what may never come (a flush, a stop, a child's line): it fails then, saying what it waited for. */
export const WAIT_MS = 60_000;

/** signOut with its flush and its stop bounded to WAIT_MS (E_FLUSH_TIMEOUT, E_AGENT_STOP), not their 10 minutes. */
export const signOut = (opts: SignOutOptions) => signOutOf({ timeoutMs: WAIT_MS, ...opts });

export async function preload(org: TestOrg, user: string): Promise<void> {
  const tpl = join(org.dir, 'tpl');
  await writeTree(tpl, { Documents: { 'plan.txt': 'plan v1' } });
  await preloadUserLayer(await org.admin(), user, { from: tpl });
}

/** Serves `agent`'s control endpoint; `stop` (run after the test too) closes both, once. */
export async function served(t: TestContext, agent: { stop(): Promise<void> } & Parameters<typeof serveControl>[0], stateDir: string): Promise<{ stop: () => Promise<void>; stopped: () => boolean; closeEndpoint: () => Promise<void> }> {
  const control = await serveControl(agent, { stateDir });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await control.close();
    await agent.stop();
  };
  t.after(stop);
  return { stop, stopped: () => stopped, closeEndpoint: () => control.close() };
}

/**
 * An agent that serves `stateDir` but answers nothing (stopped, or too busy): control.json names
 * this live process and a port whose connections are taken and never answered. `gone` ends it as
 * an agent that exits does (its socket closed, its file removed).
 */
export async function silentAgent(t: TestContext, stateDir: string): Promise<{ pid: number; token: string; serve: () => Promise<void>; gone: () => Promise<void> }> {
  const SILENT = 'silent-agent';
  const sockets = new Set<Socket>();
  const server = createServer((c) => void sockets.add(c));
  const gone = async (): Promise<void> => {
    for (const c of sockets) c.destroy();
    if (server.listening) await new Promise((r) => server.close(r));
    await rm(join(stateDir, CONTROL_FILE), { force: true });
  };
  t.after(gone);
  const serve = async (): Promise<void> => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    await writeFile(join(stateDir, CONTROL_FILE), JSON.stringify({ url: `http://127.0.0.1:${port}`, token: SILENT, pid: process.pid }) + '\n', { mode: 0o600 });
  };
  return { pid: process.pid, token: SILENT, serve, gone };
}

/**
 * A PC with `user` signed in over a preload and its agent serving the state dir, after its first
 * pass. No watcher and a long poll: only a flush's syncNow runs the pass that uploads an edit.
 */
export async function pcWithAgent(t: TestContext, user: string) {
  const org = await makeTestOrg(t, { folders: ['Documents'] });
  await preload(org, user);
  const m = await makeMachine(org, 'pc');
  await signInAndLay(org, m, user);
  const session = await readSession(m.stateDir);
  const store = await openSessionStore(session);
  t.after(() => store.close());
  // The agent's own way to the bucket: failRate 1 takes it away from the agent alone.
  const faults = new FaultyStore(store.store, { seed: 1, failRate: 0 });
  const agent = await startSessionAgent({ stateDir: m.stateDir, session, openStore: () => faults, watch: false, pollMs: 3_600_000 });
  const { stop, stopped, closeEndpoint } = await served(t, agent, m.stateDir);
  await agent.passesDone(1);
  return { org, m, agent, faults, stop, stopped, closeEndpoint };
}
