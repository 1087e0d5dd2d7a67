// A sign-in on a machine whose clock runs behind (a VDI machine booted from an image with a stale
// clock) records its laid head (device-head.ts) no older than the snapshot it laid: history walks
// take the newest snapshot first (agent/history.ts). The agent's own snapshots: agent/clock.test.ts.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Device, initStore, LAYER, tempRoot } from '../agent/testkit.js';
import { openRepository } from '../repo/index.js';
import { MemoryStore } from '../store/memory.js';
import { recordLaidHead } from './device-head.js';

it('a sign-in on a machine whose clock runs behind records its laid head no older than the snapshot it laid', async (t) => {
  const base = await tempRoot(t, 'clock-lay');
  const mem = new MemoryStore();
  await initStore(mem);
  const a = await Device.create(base, 'deva', mem);
  t.after(() => a.close());
  await a.write('a.txt', 'from a');
  assert.equal((await a.pass()).status, 'synced');
  const repo = await openRepository(mem);
  const latest = (await repo.latestSnapshot(LAYER))!;
  const id = await recordLaidHead(repo, mem, { layer: LAYER, snapshot: latest.id, root: latest.snapshot.root }, 'vdi-1', new Date(Date.parse(latest.snapshot.time) - 3_600_000));
  const laid = await repo.loadSnapshot(LAYER, id!);
  assert.ok(Date.parse(laid.time) > Date.parse(latest.snapshot.time), `${laid.time} is newer than ${latest.snapshot.time}`);
  const head = (await repo.listHeads(LAYER)).heads.find((h) => h.device === 'vdi-1')!;
  assert.equal(head.time, laid.time, 'the head carries its snapshot\'s time');
});
