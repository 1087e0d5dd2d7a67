// Flushing through a running agent (flush.ts), with a real agent over an in-memory bucket and its
// real control endpoint: the wait ends once a pass that began after the request has run.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { Agent, folderStateDir } from '../agent/index.js';
import { writeLastSync } from '../agent/known.js';
import { initStore, LAYER, tempRoot } from '../agent/testkit.js';
import { ControlClient, readControlFile, serveControl } from '../control/index.js';
import { openAgentState } from '../state/index.js';
import { FaultyStore } from '../store/faulty.js';
import { MemoryStore } from '../store/memory.js';
import { isStrataError } from '../errors.js';
import { flushAndHold, flushThroughAgent } from './flush.js';

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

test('a flush that fails and cannot pause again the agent it resumed says how to pause that agent (its state dir)', async (t) => {
  const base = await tempRoot(t, 'flush-pause');
  const root = join(base, 'root');
  const stateDir = join(base, 'state');
  await mkdir(root, { recursive: true });
  const store = new MemoryStore();
  await initStore(store);
  const faults = new FaultyStore(store, { seed: 1, failRate: 0 });
  const state = await openAgentState(stateDir, { newDeviceId: () => 'pc' });
  await state.update((d) => void (d.paused = true));
  const agent = await Agent.start({ stateDir, folders: [{ root, layer: LAYER }], openStore: () => faults, watch: false, pollMs: 3_600_000 });
  t.after(() => agent.stop());
  const control = await serveControl(agent, { stateDir });
  t.after(() => control.close());
  // The bucket unreachable (the flush fails, by its error or its time limit), and the agent
  // refusing to pause once resumed for the flush.
  faults.failRate = 1;
  t.mock.method(agent, 'pause', () => Promise.reject(new Error('the state dir is read-only')));
  const client = new ControlClient(await readControlFile(stateDir), join(stateDir, 'control.json'));
  const commands = { pause: `strata pause --state-dir ${stateDir}`, resume: `strata resume --state-dir ${stateDir}` };
  await assert.rejects(flushAndHold(client, 1_000, commands, { stateDir, pid: process.pid }), (err) => {
    assert.ok(isStrataError(err), String(err));
    assert.ok(err.message.endsWith(`could not be paused again (the state dir is read-only): pause it (${commands.pause})`), err.message);
    return true;
  });
});
