// What reaches a live agent while one of its passes runs — the watcher, the user's commands — and
// what the status says once that pass ends. Each test holds a pass at a chosen point (a gate in
// SyncFolder.pass) and brings the event in while it waits.
import assert from 'node:assert/strict';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { AgentEvent, ConflictInfo } from '../../shared/agent-api.js';
import { MemoryStore } from '../store/memory.js';
import { Agent, type AgentOptions } from './agent.js';
import { SyncFolder } from './folder.js';
import { FolderRuntime } from './runtime.js';
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

/** An agent on a memory bucket, one folder (`folder`, or a new one), a poll a minute away; its first pass has ended. */
async function agentOf(t: TestContext, name: string, extra: Partial<AgentOptions> = {}, folder?: string) {
  const base = await tempRoot(t, name);
  const mem = new MemoryStore();
  await initStore(mem);
  const root = folder ?? join(base, 'root');
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

test('a pass never runs while a conflict is being resolved: the conflict resolved does not come back, nor is it announced again', async (t) => {
  const copy = 'notes.sync-conflict-20261201-101500-laptop.txt';
  const base = await tempRoot(t, 'mid-pass-resolve');
  const root = join(base, 'root');
  await mkdir(root, { recursive: true });
  await writeFile(join(root, 'notes.txt'), 'mine');
  await writeFile(join(root, copy), 'theirs');
  // The resolution waits at its start (before it looks at the disk) until `enter` opens.
  let enter!: () => void;
  const entered = new Promise<void>((r) => (enter = r));
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  let inside = false;
  let leave!: () => void;
  const left = new Promise<void>((r) => (leave = r));
  const resolve = FolderRuntime.prototype.resolveConflict;
  t.mock.method(FolderRuntime.prototype, 'resolveConflict', async function (this: FolderRuntime, c: ConflictInfo, keep: 'name' | 'copy') {
    inside = true;
    enter();
    await gate;
    try {
      return await resolve.call(this, c, keep);
    } finally {
      inside = false;
      leave();
    }
  });
  // A pass that starts while the resolution waits scans the copy, then lets the resolution run before it ends.
  let overlapped = false;
  const pass = SyncFolder.prototype.pass;
  t.mock.method(SyncFolder.prototype, 'pass', async function (this: SyncFolder, signal?: AbortSignal) {
    if (!inside) return pass.call(this, signal);
    overlapped = true;
    const r = await pass.call(this, signal);
    open();
    await left;
    return r;
  });
  const { agent, events } = await agentOf(t, 'mid-pass-resolve', { watch: false }, root);
  assert.deepEqual(agent.status().folders[0]!.conflicts.map((c) => c.copy), [copy]);
  const resolving = agent.call('resolveConflict', { root, copy, keep: 'name' });
  await entered;
  const ran = agent.passesDone();
  await agent.call('syncNow', {});
  // Room for a pass to start meanwhile (it opens the gate itself if one does).
  await new Promise((r) => setTimeout(r, 300));
  open();
  await resolving;
  await ran;
  assert.deepEqual(events.filter((e) => e.type === 'conflict'), [], 'the conflict resolved was not announced again');
  assert.deepEqual(agent.status().folders[0]!.conflicts, []);
  assert.equal(overlapped, false, 'no pass ran during the resolution');
});
