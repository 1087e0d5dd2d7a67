// Flushing through a running agent (flush.ts), with a real agent over an in-memory bucket and its
// real control endpoint: the wait ends once a pass that began after the request has run.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { test, type TestContext } from 'node:test';
import { Agent, folderStateDir } from '../agent/index.js';
import { writeLastSync } from '../agent/known.js';
import { initStore, LAYER, tempRoot } from '../agent/testkit.js';
import { ControlClient, readControlFile, serveControl } from '../control/index.js';
import { openAgentState } from '../state/index.js';
import { FaultyStore } from '../store/faulty.js';
import { MemoryStore } from '../store/memory.js';
import { isStrataError } from '../errors.js';
import { flushAndHold, flushThroughAgent } from './flush.js';
import { logoutPaused } from './logout-pause.js';

test('a flush ends once a pass has run, even when the last sync saved is ahead of the clock (the clock went back)', async (t) => {
  const base = await tempRoot(t, 'flush');
  const root = join(base, 'root');
  const stateDir = join(base, 'state');
  await mkdir(root, { recursive: true });
  await writeFile(join(root, 'plan.txt'), 'plan');
  const store = new MemoryStore();
  await initStore(store);
  // Paused, so that only the flush's request runs a pass; its last sync saved a day ahead of the agent's clock.
  const state = await openAgentState(stateDir, { newDeviceId: () => 'pc' });
  await state.update((d) => void (d.paused = true));
  const folder = { root, layer: LAYER };
  await mkdir(folderStateDir(stateDir, folder), { recursive: true });
  const now = new Date('2026-03-02T10:00:00Z');
  await writeLastSync(folderStateDir(stateDir, folder), new Date(now.getTime() + 86_400_000).toISOString());
  const agent = await Agent.start({ stateDir, folders: [folder], openStore: () => store, watch: false, pollMs: 3_600_000, now: () => now });
  t.after(() => agent.stop());
  const control = await serveControl(agent, { stateDir });
  t.after(() => control.close());

  await flushThroughAgent(new ControlClient(await readControlFile(stateDir), join(stateDir, 'control.json')), 30_000, 'strata pause');
  const f = agent.status().folders[0]!;
  assert.deepEqual({ state: f.state, files: f.files, lastSync: f.lastSync }, { state: 'idle', files: 1, lastSync: now.toISOString() });
});

/**
 * An agent of one empty folder over an in-memory bucket behind `faults` (failing `failRate` of its
 * requests, from the start), served on its control endpoint; `paused`: recorded paused before it starts.
 */
async function servedAgent(t: TestContext, name: string, opts: { paused?: boolean; failRate?: number } = {}): Promise<{ agent: Agent; faults: FaultyStore; stateDir: string; client: ControlClient }> {
  const base = await tempRoot(t, name);
  const root = join(base, 'root');
  const stateDir = join(base, 'state');
  await mkdir(root, { recursive: true });
  const store = new MemoryStore();
  await initStore(store);
  const faults = new FaultyStore(store, { seed: 1, failRate: opts.failRate ?? 0 });
  if (opts.paused === true) {
    const state = await openAgentState(stateDir, { newDeviceId: () => 'pc' });
    await state.update((d) => void (d.paused = true));
  }
  const agent = await Agent.start({ stateDir, folders: [{ root, layer: LAYER }], openStore: () => faults, watch: false, pollMs: 3_600_000 });
  t.after(() => agent.stop());
  const control = await serveControl(agent, { stateDir });
  t.after(() => control.close());
  return { agent, faults, stateDir, client: new ControlClient(await readControlFile(stateDir), join(stateDir, 'control.json')) };
}

test('a flush that fails and cannot pause again the agent it resumed says how to pause that agent (its state dir)', async (t) => {
  const { agent, faults, stateDir, client } = await servedAgent(t, 'flush-pause', { paused: true });
  // The bucket unreachable (the flush fails by its error), and the agent refusing to pause once
  // resumed for the flush.
  faults.failRate = 1;
  t.mock.method(agent, 'pause', () => Promise.reject(new Error('the state dir is read-only')));
  const commands = { pause: `strata pause --state-dir ${stateDir}`, resume: `strata resume --state-dir ${stateDir}` };
  await assert.rejects(flushAndHold(client, 20_000, commands, { stateDir, pid: process.pid }), (err) => {
    assert.ok(isStrataError(err), String(err));
    assert.ok(err.message.endsWith(`could not be paused again (the state dir is read-only): pause it (${commands.pause})`), err.message);
    return true;
  });
});

/** The flush's error, or E_FLUSH_TIMEOUT when it waited out `timeoutMs` (a flush that cannot tell its pass ended). */
async function flushError(client: ControlClient, timeoutMs: number): Promise<string> {
  return flushThroughAgent(client, timeoutMs, 'strata pause').then(
    () => 'flushed',
    (err: unknown) => (isStrataError(err) ? `${err.code} ${err.message}` : String(err)),
  );
}

for (const [what, failRate, outcome] of [
  ['fails at once when its pass fails', 1, /^E_FLUSH_FAILED could not flush pending changes/],
  ['ends when its pass syncs', 0, /^flushed$/],
] as const) {
  test(`a flush ${what}, even when the pass ran and its statuses came before the answer to syncNow`, async (t) => {
    const { agent, faults, client } = await servedAgent(t, 'flush-early');
    await agent.passesDone(1);
    faults.failRate = failRate;
    // The answer to syncNow held back until the event stream has brought the end of the pass it
    // asked for: its statuses reach the flush first, as they may over their own connection.
    let streamed: unknown;
    const subscribe = client.subscribe.bind(client);
    t.mock.method(client, 'subscribe', (listener: Parameters<typeof subscribe>[0], onError: Parameters<typeof subscribe>[1]) =>
      subscribe((e) => {
        if (e.type === 'status') streamed = e.status;
        listener(e);
      }, onError),
    );
    const call = client.call.bind(client);
    t.mock.method(client, 'call', async (...args: Parameters<typeof call>) => {
      const answer = await call(...args);
      if (args[0] !== 'syncNow') return answer;
      const ran = (): boolean => {
        const now = agent.status();
        return !['scanning', 'uploading', 'downloading'].includes(now.folders[0]!.state) && !isDeepStrictEqual(now, answer) && isDeepStrictEqual(streamed, now);
      };
      while (!ran()) await new Promise((r) => setTimeout(r, 10));
      return answer;
    });
    assert.match(await flushError(client, 20_000), outcome);
  });
}

test('a flush through an agent that cannot open the bucket fails at once, not at its time limit', async (t) => {
  const { client } = await servedAgent(t, 'flush-offline', { failRate: 1 });
  assert.match(await flushError(client, 20_000), /^E_FLUSH_FAILED could not flush pending changes/);
});

test('a flush fails at once when the agent is paused after it answered syncNow but before the pass began', async (t) => {
  const { agent, client } = await servedAgent(t, 'flush-paused-early');
  await agent.passesDone(1);
  // The pass the request made due held at its start (the loop's runDue) until the user's pause is in.
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const inside = agent as unknown as { runDue(): Promise<void> };
  const runDue = inside.runDue.bind(agent);
  t.mock.method(inside, 'runDue', async () => {
    await gate;
    return runDue();
  });
  const call = client.call.bind(client);
  t.mock.method(client, 'call', async (...args: Parameters<typeof call>) => {
    const answer = await call(...args);
    if (args[0] === 'syncNow') {
      await agent.pause();
      open();
    }
    return answer;
  });
  assert.match(await flushError(client, 20_000), /^E_FLUSH_FAILED the agent was paused while it flushed/);
  assert.equal(agent.passCount, 1, 'no pass began after the request');
});

test("a hold whose pause fails leaves no record that the agent's pause is a sign-out's: the agent runs on, and a pause the user makes later is theirs", async (t) => {
  const { agent, stateDir, client } = await servedAgent(t, 'flush-hold-unpaused');
  await agent.passesDone(1);
  t.mock.method(agent, 'pause', () => Promise.reject(new Error('the state dir is read-only')));
  const commands = { pause: 'strata pause', resume: 'strata resume' };
  await assert.rejects(flushAndHold(client, 20_000, commands, { stateDir, pid: process.pid }), /the state dir is read-only/);
  assert.equal(agent.paused, false, 'running, as the user had it');
  assert.equal(await logoutPaused(stateDir), false, 'no record of a pause that did not happen');
});
