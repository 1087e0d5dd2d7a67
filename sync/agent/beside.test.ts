// The agent's hooks for what syncs beside the files (a settings mirror: signin/settings.ts): when
// `beside` runs around a pass, and how `watchBeside` wakes a pass without waiting for the poll.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { MemoryStore } from '../store/memory.js';
import { Agent, type AgentOptions } from './agent.js';
import { initStore, LAYER, tempRoot } from './testkit.js';

/** No poll within a test: only a start, syncNow or a watch runs a pass. */
const NO_POLL = { pollMs: 3_600_000, watch: false };

async function agentOn(t: TestContext, base: string, name: string, store: MemoryStore, extra: Partial<AgentOptions>): Promise<{ root: string; agent: Agent }> {
  const root = join(base, name, 'root');
  await mkdir(root, { recursive: true });
  const agent = await Agent.start({ stateDir: join(base, name, 'state'), folders: [{ root, layer: LAYER }], openStore: () => store, newDeviceId: () => name, ...NO_POLL, ...extra });
  t.after(() => agent.stop());
  return { root, agent };
}

/** Resolves once `agent` has completed `n` passes in all; fails, saying what, if that takes a minute. */
async function passes(agent: Agent, n: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: pass ${n} never ran (${agent.passCount} did)`)), 60_000)));
  try {
    while (agent.passCount < n) await Promise.race([agent.passesDone(n - agent.passCount), late]);
  } finally {
    clearTimeout(timer);
  }
}

test('beside runs before every pass, and after one only when the pass changed the disk (the next pass\'s run catches the rest)', async (t) => {
  const base = await tempRoot(t, 'beside');
  const store = new MemoryStore();
  await initStore(store);
  let runs = 0;
  const a = await agentOn(t, base, 'deva', store, { beside: async () => (runs++, []) });
  await writeFile(join(a.root, 'mine.txt'), 'a');
  await passes(a.agent, 1, 'a\'s first pass');
  assert.equal(runs, 1, 'a pass that uploaded and wrote nothing to the disk: beside before it only');

  const b = await agentOn(t, base, 'devb', store, {});
  await writeFile(join(b.root, 'theirs.txt'), 'b');
  await passes(b.agent, 1, 'b\'s first pass');
  a.agent.syncNow();
  await passes(a.agent, 2, 'a\'s second pass');
  assert.equal(runs, 3, 'a pass that wrote theirs.txt: beside before it and after it');
});

test('watchBeside wakes a pass soon after a change, without waiting for the poll; the agent stops the watch when it stops', async (t) => {
  const base = await tempRoot(t, 'beside-watch');
  const store = new MemoryStore();
  await initStore(store);
  let changed: (() => void) | undefined;
  let stopped = 0;
  let runs = 0;
  const a = await agentOn(t, base, 'deva', store, {
    beside: async () => (runs++, []),
    watchBeside: (root, onChange) => {
      assert.equal(root, join(base, 'deva', 'root'));
      changed = onChange;
      return async () => {
        stopped++;
      };
    },
  });
  await passes(a.agent, 1, 'the first pass');
  assert.ok(changed, 'the watch was started with the agent');
  changed();
  await passes(a.agent, 2, 'a pass woken by the watch');
  assert.equal(runs, 2, 'the woken pass ran beside first');
  await a.agent.stop();
  assert.equal(stopped, 1);
});
