import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CountingStore } from '../store/counting.js';
import { openRepository } from '../repo/format.js';
import type { Repository } from '../repo/repository.js';
import { newRepo } from '../repo/testkit.js';
import { FORMAT_VERSION, keys, type SnapshotId } from '../repo/types.js';
import { isStrataError } from '../errors.js';
import { makeRng } from '../testing/random.js';
import { BULK_AFTER, SnapshotGraph, layerGraph } from './history.js';

const LAYER = 'user/alice';
const T0 = Date.UTC(2026, 0, 1);

/**
 * A history of `n` snapshots from `devices` devices, a minute apart: each device's snapshot has
 * its previous one as parent and now and then merges another device's latest. Returns the ids in
 * order and each device's last one.
 */
async function history(repo: Repository, n: number, devices: number, seed: number): Promise<{ ids: SnapshotId[]; last: Map<string, SnapshotId> }> {
  const rng = makeRng(seed);
  const root = await repo.saveTree({ entries: [] });
  await repo.flush();
  const ids: SnapshotId[] = [];
  const last = new Map<string, SnapshotId>();
  for (let i = 0; i < n; i++) {
    const device = `pc-${rng.int(devices)}`;
    const parents = new Set<SnapshotId>();
    const own = last.get(device);
    if (own) parents.add(own);
    if (rng.next() < 0.2 && last.size > 0) parents.add(rng.pick([...last.values()]));
    const id = await repo.saveSnapshot({ version: FORMAT_VERSION, layer: LAYER, device, time: new Date(T0 + i * 60_000).toISOString(), root, parents: [...parents] });
    ids.push(id);
    last.set(device, id);
  }
  return { ids, last };
}

describe('SnapshotGraph', () => {
  it('finds the same merge bases with bulk reads as one read at a time (random histories)', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const { repo } = await newRepo();
      const { ids } = await history(repo, 120, 3, seed);
      const rng = makeRng(seed * 31);
      const plain = new SnapshotGraph((id) => repo.loadSnapshot(LAYER, id));
      const bulk = layerGraph(repo, LAYER);
      for (let k = 0; k < 20; k++) {
        const mine = rng.pick(ids);
        const theirs = rng.pick(ids);
        assert.equal(await bulk.mergeBase([mine], theirs), await plain.mergeBase([mine], theirs), `seed ${seed}: ${mine} / ${theirs}`);
      }
    }
  });

  it('names as ancestors exactly the heads mergeBase finds merged already (random histories), in one walk', async () => {
    for (const seed of [11, 12, 13]) {
      const { repo } = await newRepo();
      const { ids, last } = await history(repo, 150, 6, seed);
      const rng = makeRng(seed);
      const graph = layerGraph(repo, LAYER);
      for (let k = 0; k < 10; k++) {
        const mine = [rng.pick(ids)];
        const targets = [...last.values(), rng.pick(ids), rng.pick(ids)];
        const found = await graph.ancestorsAmong(mine, targets);
        for (const t of targets) assert.equal(found.has(t), (await graph.mergeBase(mine, t)) === t, `seed ${seed}: ${t} from ${mine[0]}`);
      }
    }
  });

  it('reads a long walk in bulk: a head 300 snapshots old costs a few single reads, not 300', async () => {
    const { store, repo } = await newRepo();
    const { ids } = await history(repo, 300, 1, 7);
    const counting = new CountingStore(store);
    const fresh = await openRepository(counting);
    const graph = layerGraph(fresh, LAYER);
    const heads0 = counting.counts.heads;
    // The first snapshot is an ancestor of the last: the walk meets every snapshot between them.
    assert.equal(await graph.mergeBase([ids.at(-1) as SnapshotId], ids[0] as SnapshotId), ids[0]);
    // loadSnapshot (a single read) costs a HEAD and a GET; a bulk read only a GET.
    const singles = counting.counts.heads - heads0;
    assert.ok(singles <= BULK_AFTER + 8, `single reads: ${singles}`);
    assert.ok(graph.loaded >= 300);
  });

  it('still walks one read at a time where the store gives no listing dates', async () => {
    const { repo } = await newRepo();
    const { ids } = await history(repo, 60, 1, 9);
    let bulkCalls = 0;
    const graph = new SnapshotGraph(
      (id) => repo.loadSnapshot(LAYER, id),
      async () => {
        bulkCalls++;
        return [];
      },
    );
    assert.equal(await graph.mergeBase([ids.at(-1) as SnapshotId], ids[0] as SnapshotId), ids[0]);
    assert.ok(bulkCalls > 0);
    assert.equal(graph.loaded, 60);
  });

  it('a snapshot it cannot read ends only its branch of ancestorsAmong; a parent gone ends a branch of mergeBase too (history ends there), a side gone fails', async () => {
    const { store, repo } = await newRepo();
    const root = await repo.saveTree({ entries: [] });
    await repo.flush();
    const at = (minute: number, device: string, parents: SnapshotId[]) => repo.saveSnapshot({ version: FORMAT_VERSION, layer: LAYER, device, time: new Date(T0 + minute * 60_000).toISOString(), root, parents });
    // pc-c wrote `lost`, then its head; this device merged that head; pc-b then merged this device's.
    const lost = await at(0, 'pc-c', []);
    const headC = await at(1, 'pc-c', [lost]);
    const mine = await at(2, 'pc-a', [headC]);
    const headB = await at(3, 'pc-b', [mine]);
    const other = await at(4, 'pc-d', [lost]);
    await store.delete(keys.snapshot(LAYER, lost));
    const graph = layerGraph(repo, LAYER);
    assert.deepEqual(await graph.ancestorsAmong([mine], [headB, headC]), new Set([headC]));
    assert.equal(await graph.mergeBase([mine], headB), mine);
    // pc-d shares only the gone snapshot with this device: history ends there (admin forget), no base.
    assert.equal(await graph.mergeBase([mine], other), undefined);
    // A side itself that is gone is damage (a head points at it), said with its key.
    await assert.rejects(graph.mergeBase([mine], lost), (err: unknown) => {
      assert.ok(isStrataError(err, 'E_SNAPSHOT_NOT_FOUND'));
      assert.equal(err.key, keys.snapshot(LAYER, lost));
      assert.doesNotMatch(err.toString(), /\n/);
      return true;
    });
  });

  it('finds the best merge base when a device\'s clock ran behind (a snapshot older than its parent)', async () => {
    const { repo } = await newRepo();
    const root = await repo.saveTree({ entries: [] });
    await repo.flush();
    const at = (minute: number, device: string, parents: SnapshotId[]) => repo.saveSnapshot({ version: FORMAT_VERSION, layer: LAYER, device, time: new Date(T0 + minute * 60_000).toISOString(), root, parents });
    // A PC's snapshot, an admin's on top, then a VDI machine whose clock is an hour behind, then right again.
    const pc = await at(60, 'pc', []);
    const admin = await at(70, 'admin', [pc]);
    const behind = await at(10, 'vdi', [admin]);
    const vdi = await at(80, 'vdi', [behind]);
    const graph = layerGraph(repo, LAYER);
    // The admin's snapshot is an ancestor of the VDI machine's, which the PC merged: it is merged already.
    assert.equal(await graph.mergeBase([pc, vdi], admin), admin);
    assert.equal(await graph.mergeBase([vdi], pc), pc);
  });

  it('finds every best common ancestor whatever the devices\' clocks say (random histories, skewed clocks)', async () => {
    for (const seed of [21, 22, 23, 24, 25, 26]) {
      const rng = makeRng(seed);
      const { repo } = await newRepo();
      const root = await repo.saveTree({ entries: [] });
      await repo.flush();
      const skew = new Map<string, number>();
      const parentsOf = new Map<SnapshotId, SnapshotId[]>();
      const ids: SnapshotId[] = [];
      const last = new Map<string, SnapshotId>();
      for (let i = 0; i < 60; i++) {
        const device = `pc-${rng.int(4)}`;
        if (!skew.has(device)) skew.set(device, rng.chance(0.5) ? 0 : rng.range(-120, 120));
        const parents = new Set<SnapshotId>();
        const own = last.get(device);
        if (own) parents.add(own);
        if (rng.chance(0.3) && last.size > 0) parents.add(rng.pick([...last.values()]));
        const time = new Date(T0 + (i + (skew.get(device) as number)) * 60_000).toISOString();
        const id = await repo.saveSnapshot({ version: FORMAT_VERSION, layer: LAYER, device, time, root, parents: [...parents] });
        ids.push(id);
        parentsOf.set(id, [...parents]);
        last.set(device, id);
      }
      const ancestors = (id: SnapshotId): Set<SnapshotId> => {
        const out = new Set<SnapshotId>();
        const todo = [id];
        for (let x = todo.pop(); x !== undefined; x = todo.pop()) {
          if (out.has(x)) continue;
          out.add(x);
          todo.push(...(parentsOf.get(x) ?? []));
        }
        return out;
      };
      const graph = layerGraph(repo, LAYER);
      for (let k = 0; k < 25; k++) {
        const mine = [rng.pick(ids), rng.pick(ids)];
        const theirs = rng.pick(ids);
        const ofMine = new Set([...ancestors(mine[0]!), ...ancestors(mine[1]!)]);
        const common = [...ancestors(theirs)].filter((a) => ofMine.has(a));
        // The best: common ancestors that no other common ancestor descends from.
        const best = common.filter((c) => !common.some((o) => o !== c && ancestors(o).has(c)));
        const got = await graph.mergeBase(mine, theirs);
        if (best.length === 0) assert.equal(got, undefined, `seed ${seed}`);
        else assert.ok(got !== undefined && best.includes(got), `seed ${seed}: ${got} is not one of the best merge bases ${best.join(', ')}`);
        // Every one of them: a merge's base tree merges them all (remote.ts baseTree).
        assert.deepEqual((await graph.mergeBases(mine, theirs)).sort(), best.sort(), `seed ${seed}: the best merge bases`);
      }
    }
  });
});
