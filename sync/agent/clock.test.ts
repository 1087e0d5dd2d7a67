// A device whose clock runs behind (a VDI machine booted from an image with a stale clock, a PC
// with a dead battery) must not write a snapshot that looks older than what it descends from:
// history walks take the newest snapshot first (history.ts), and the latest snapshot of a layer
// is the newest by time (repo/layers.ts).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { openRepository } from '../repo/index.js';
import { Device, initStore, LAYER, tempRoot } from './testkit.js';
import { MemoryStore } from '../store/memory.js';

it('a device whose clock runs an hour behind writes snapshots no older than their parents', async (t) => {
  const base = await tempRoot(t, 'clock');
  const mem = new MemoryStore();
  await initStore(mem);
  const a = await Device.create(base, 'deva', mem);
  const behind = await Device.create(base, 'devb', mem, { now: () => new Date(Date.now() - 3_600_000) });
  t.after(async () => {
    await a.close();
    await behind.close();
  });
  await a.write('a.txt', 'from a');
  assert.equal((await a.pass()).status, 'synced');
  await behind.write('b.txt', 'from b');
  assert.equal((await behind.pass()).status, 'synced');
  const repo = await openRepository(mem);
  const heads = (await repo.listHeads(LAYER)).heads;
  const time = async (device: string) => {
    const head = heads.find((h) => h.device === device)!;
    return { head, snapshot: await repo.loadSnapshot(LAYER, head.snapshot) };
  };
  const pa = await time('deva');
  const pb = await time('devb');
  assert.ok(pb.snapshot.parents.includes(pa.head.snapshot), 'b merged a');
  assert.ok(Date.parse(pb.snapshot.time) > Date.parse(pa.snapshot.time), `b's snapshot (${pb.snapshot.time}) is newer than its parent (${pa.snapshot.time})`);
  assert.equal((await repo.latestSnapshot(LAYER))?.id, pb.head.snapshot, 'and it is the latest');
});
