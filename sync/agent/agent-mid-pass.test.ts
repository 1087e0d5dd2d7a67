// What reaches a live agent while one of its passes runs — the watcher, the user's commands — and
// what the status says once that pass ends. Each test holds a pass at a chosen point (a gate in
// SyncFolder.pass) and brings the event in while it waits.
import assert from 'node:assert/strict';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { AgentEvent } from '../../shared/agent-api.js';
import { MemoryStore } from '../store/memory.js';
import { Agent, type AgentOptions } from './agent.js';
import { SyncFolder } from './folder.js';
import { initStore, LAYER, tempRoot } from './testkit.js';
import { FAST, waitFor } from './live-testkit.js';

/**
 * Holds the pass that ends while `gate` is set, after its work and before the agent records it;
 * `held()` resolves once a pass waits there.
 */
function gatePasses(t: TestContext) {
  const original = SyncFolder.prototype.pass;
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  let reached: (() => void) | undefined;
  t.mock.method(SyncFolder.prototype, 'pass', async function (this: SyncFolder, signal?: AbortSignal) {
    const r = await original.call(this, signal);
    if (gate !== undefined) {
      reached?.();
      await gate;
    }
    return r;
  });
  return {
    /** The next pass to end waits until release(); resolves once one does. */
    hold(): Promise<void> {
      gate = new Promise((r) => (open = r));
      return new Promise((r) => (reached = r));
    },
    release(): void {
      gate = undefined;
      open?.();
    },
  };
}

/** An agent on a memory bucket, one folder, a poll a minute away; its first pass has ended. */
async function agentOf(t: TestContext, name: string, extra: Partial<AgentOptions> = {}) {
  const base = await tempRoot(t, name);
  const mem = new MemoryStore();
  await initStore(mem);
  const root = join(base, 'root');
  await mkdir(root, { recursive: true });
  const agent = await Agent.start({ stateDir: join(base, 'state'), folders: [{ root, layer: LAYER }], openStore: () => mem, newDeviceId: () => 'deva', ...FAST, pollMs: 60_000, ...extra });
  t.after(() => agent.stop());
  await waitFor('the first pass', () => agent.status().folders[0]!.state === 'idle' && agent.passCount > 0);
  const events: AgentEvent[] = [];
  agent.subscribe((e) => events.push(e));
  return { root, agent, events };
}

test('a root that goes missing while a pass runs is still shown missing when that pass ends in sync', async (t) => {
  const gate = gatePasses(t);
  const { root, agent, events } = await agentOf(t, 'mid-pass-root');
  const held = gate.hold();
  await agent.call('syncNow', {});
  await held;
  // The pass found the folder and synced it; the folder goes before the agent records that.
  await rename(root, `${root}.gone`);
  await waitFor('the root seen missing', () => agent.status().folders[0]!.error?.code === 'E_NO_ROOT');
  const seen = events.length;
  const ended = agent.passesDone();
  gate.release();
  await ended;
  const f = agent.status().folders[0]!;
  assert.deepEqual({ state: f.state, error: f.error?.code }, { state: 'error', error: 'E_NO_ROOT' });
  const inSync = events.slice(seen).filter((e) => e.type === 'status' && e.status.folders[0]!.error === undefined);
  assert.deepEqual(inSync, [], 'no status said the missing folder in sync');
});

test('a resume that comes while a pause waits for the pass in flight leaves the agent running, its folders not shown paused', async (t) => {
  const gate = gatePasses(t);
  const { agent, events } = await agentOf(t, 'mid-pass-pause-resume');
  const held = gate.hold();
  await agent.call('syncNow', {});
  await held;
  const pausing = agent.call('pause', {});
  await waitFor('the pause recorded', () => agent.paused);
  await agent.call('resume', {});
  const seen = events.length;
  gate.release();
  await pausing;
  assert.equal(agent.paused, false);
  const pausedFolders = events.slice(seen).filter((e) => e.type === 'status' && !e.status.paused && e.status.folders[0]!.state === 'paused');
  assert.deepEqual(pausedFolders, [], 'no status said a folder paused while the agent ran');
  const ran = agent.passesDone();
  await agent.call('syncNow', {});
  await ran;
  assert.equal(agent.status().state, 'idle');
});
