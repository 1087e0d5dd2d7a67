// admin forget on a memory store: the retention policy, and what stays whatever it says — heads
// and their parents, young snapshots, what merges between heads walk — checked by the merge bases
// the agent's walk finds before and after, by check, and against a device that syncs meanwhile.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { layerGraph, SnapshotGraph } from '../agent/history.js';
import { baseTree, mergeHeads, newestFirst } from '../agent/remote.js';
import { TreeCache } from '../agent/trees.js';
import { check } from './check.js';
import { forgetSnapshots, type ForgetOptions } from './forget.js';
import { keptByPolicy } from './forget-policy.js';
import { planForget, type PlannedSnapshot } from './forget-plan.js';
import { makeRng, testSeed, type Rng } from '../testing/random.js';
import { newRepo, rejectsWith } from './testkit.js';
import { FORMAT_VERSION, keys, type Snapshot, type SnapshotId } from './types.js';
import { openRepository } from './format.js';
import type { Repository } from './repository.js';
import { StrataError } from '../errors.js';
import { ForwardingStore } from '../store/forwarding.js';
import type { ByteRange } from '../store/index.js';
import type { MemoryStore } from '../store/memory.js';

const LAYER = 'user/alice';
const T0 = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Every snapshot is past a grace period of 0 when the admin's clock is a day ahead. */
const OLD: Pick<ForgetOptions, 'graceMs' | 'now' | 'dryRun'> = { graceMs: 0, now: () => Date.now() + DAY, dryRun: false };

async function layer(): Promise<{ store: MemoryStore; repo: Repository; at: (hours: number, device: string, parents: SnapshotId[]) => Promise<SnapshotId> }> {
  const { store, repo } = await newRepo();
  const root = await repo.saveTree({ entries: [] });
  await repo.flush();
  const at = (hours: number, device: string, parents: SnapshotId[]) => repo.saveSnapshot({ version: FORMAT_VERSION, layer: LAYER, device, time: new Date(T0 + hours * HOUR).toISOString(), root, parents });
  return { store, repo, at };
}

async function present(store: MemoryStore, ids: readonly SnapshotId[]): Promise<SnapshotId[]> {
  const out: SnapshotId[] = [];
  for (const id of ids) if (await store.head(keys.snapshot(LAYER, id))) out.push(id);
  return out;
}

/**
 * Every merge base the agent's own merge finds, at every level (baseTree's merges of several bases
 * too), in a pass of each device merging all the other heads as they are now, and in one merging
 * each other head alone: one line per mergeBases call, `mine ~ theirs: bases`.
 */
async function everyBase(repo: Repository): Promise<string[]> {
  const { heads } = await repo.listHeads(LAYER);
  const graph = layerGraph(repo, LAYER);
  const found: string[] = [];
  const walk = graph.mergeBases.bind(graph);
  graph.mergeBases = async (mine, theirs) => {
    const bases = await walk(mine, theirs);
    found.push(`${[...mine].sort().join('+')} ~ ${theirs}: ${[...bases].sort().join('+')}`);
    return bases;
  };
  const trees = new TreeCache(repo);
  const pass = (own: (typeof heads)[number], others: typeof heads) =>
    mergeHeads({ device: own.device, graph, trees, chunks: new Map(), own: own.snapshot, alsoMerged: [], heads: [own, ...others], considered: new Map(), mine: new Map() });
  for (const own of heads) {
    await pass(own, heads.filter((h) => h !== own));
    for (const other of heads) if (other !== own) await pass(own, [other]);
  }
  return found.sort();
}

/**
 * A random layer: devices whose passes each merge the heads that changed since their last one, as
 * read up to a few passes before (so passes cross), some clocks behind, some devices stopping early.
 */
function randomLayer(rng: Rng): { snaps: Map<SnapshotId, PlannedSnapshot>; heads: { device: string; snapshot: SnapshotId }[] } {
  const [n, devices, lag] = [rng.range(10, 70), rng.range(2, 7), rng.range(1, 5)];
  const snaps = new Map<SnapshotId, PlannedSnapshot>();
  const head: SnapshotId[] = [];
  const add = (i: number, dev: number, parents: SnapshotId[]) => {
    const id = i.toString(16).padStart(64, '0');
    const time = T0 + (i - (rng.chance(0.1) ? rng.int(10) : 0)) * 60_000;
    const snapshot: Snapshot = { version: FORMAT_VERSION, layer: LAYER, device: `d${dev}`, time: new Date(time).toISOString(), root: 'e'.repeat(64), parents };
    snaps.set(id, { id, time, parents, written: T0, snapshot });
    head[dev] = id;
  };
  add(0, 0, []);
  for (let d = 1; d < devices; d++) head[d] = head[0] as SnapshotId;
  const seen: SnapshotId[][] = [];
  const merged = head.map(() => new Map<number, SnapshotId>());
  const stops = head.map(() => (rng.chance(0.2) ? rng.int(n) : n));
  for (let i = 1; i < n; i++) {
    seen.unshift([...head]);
    seen.length = Math.min(seen.length, lag);
    const dev = rng.int(devices);
    if (i > (stops[dev] as number)) continue;
    const read = seen[rng.int(seen.length)] as SnapshotId[];
    const parents = [head[dev] as SnapshotId];
    for (const [o, h] of read.entries()) {
      if (o === dev || !rng.chance(0.7) || merged[dev]?.get(o) === h) continue;
      merged[dev]?.set(o, h);
      if (!parents.includes(h)) parents.push(h);
    }
    add(i, dev, parents);
  }
  return { snaps, heads: head.map((snapshot, d) => ({ device: `d${d}`, snapshot })) };
}

/** everyBase on a layer in memory, seeing only what `has` lets it: each pair, each device's pass over all the others. */
async function everyBaseIn(layer: ReturnType<typeof randomLayer>, has: (id: SnapshotId) => boolean): Promise<string[]> {
  const found: string[] = [];
  const graph = new (class extends SnapshotGraph {
    override async mergeBases(mine: readonly SnapshotId[], theirs: SnapshotId): Promise<SnapshotId[]> {
      const bases = await super.mergeBases(mine, theirs);
      found.push(`${[...mine].sort().join('+')} ~ ${theirs}: ${[...bases].sort().join('+')}`);
      return bases;
    }
  })(async (id) => {
    const s = has(id) ? layer.snaps.get(id)?.snapshot : undefined;
    if (s === undefined) throw new StrataError('E_SNAPSHOT_NOT_FOUND', `snapshot ${id} is gone`);
    return s;
  });
  const merge = async (mine: SnapshotId[], theirs: SnapshotId) => {
    const bases = await graph.mergeBases(mine, theirs);
    if (bases[0] !== theirs) await baseTree(graph, bases, async () => new Map(), {});
    return bases[0] !== theirs;
  };
  const time = (id: SnapshotId) => layer.snaps.get(id)?.time ?? -Infinity;
  for (const own of layer.heads) {
    const mine = [own.snapshot];
    for (const h of newestFirst(layer.heads.filter((x) => x.device !== own.device), time)) if (await merge([...mine], h.snapshot)) mine.push(h.snapshot);
    for (const h of layer.heads) if (h !== own) await merge([own.snapshot], h.snapshot);
  }
  return found;
}

describe('the retention policy', () => {
  const s = (id: string, hours: number) => ({ id, time: T0 + hours * HOUR });
  const snaps = [s('a', 0), s('b', 1), s('c', 25), s('d', 26), s('e', 24 * 8), s('f', 24 * 40)];
  const kept = (p: Parameters<typeof keptByPolicy>[1]) => [...keptByPolicy(snaps, p).keys()].sort();

  it('keeps the newest n, those within a span of the newest, and the newest of each of the newest n days, weeks, months (UTC)', () => {
    assert.deepEqual(kept({ last: 2 }), ['e', 'f']);
    assert.deepEqual(kept({ withinMs: 32 * DAY }), ['e', 'f']);
    assert.deepEqual(kept({ withinMs: 40 * DAY }), ['a', 'b', 'c', 'd', 'e', 'f']);
    assert.deepEqual(kept({ daily: 3 }), ['d', 'e', 'f']);
    assert.deepEqual(kept({ daily: 4 }), ['b', 'd', 'e', 'f']);
    // 2026-01-01 is a Thursday: a, b, c, d are in one ISO week, e (Jan 9) in the next.
    assert.deepEqual(kept({ weekly: 3 }), ['d', 'e', 'f']);
    assert.deepEqual(kept({ monthly: 5 }), ['e', 'f']);
    assert.deepEqual(kept({}), []);
    assert.deepEqual(keptByPolicy(snaps, { last: 1, daily: 1 }).get('f'), ['last', 'daily']);
  });
});

describe('admin forget', () => {
  it('keeps the heads, their parents and everything down to the heads\' common base; a merge finds the same base after', async () => {
    const { store, repo, at } = await layer();
    // Two devices, each merging the other now and then: o1..o4 below the base, then the braid.
    const o1 = await at(0, 'pc', []);
    const o2 = await at(1, 'pc', [o1]);
    const o3 = await at(2, 'laptop', [o2]);
    const o4 = await at(3, 'pc', [o3]);
    const base = await at(4, 'laptop', [o4]);
    const pc1 = await at(5, 'pc', [base]);
    const lap1 = await at(6, 'laptop', [base]);
    const pc2 = await at(7, 'pc', [pc1]);
    const lap2 = await at(8, 'laptop', [lap1]);
    await repo.writeHead(LAYER, 'pc', pc2);
    await repo.writeHead(LAYER, 'laptop', lap2);
    const before = await layerGraph(repo, LAYER).mergeBases([pc2], lap2);
    assert.deepEqual(before, [base]);

    const dry = await forgetSnapshots(repo, LAYER, { ...OLD, dryRun: true, policy: { last: 1 } });
    assert.deepEqual(dry.forgotten.map((s) => s.id).sort(), [o1, o2, o3, o4].sort());
    assert.equal((await present(store, [o1, o2, o3, o4])).length, 4, 'a dry run deletes nothing');

    const r = await forgetSnapshots(repo, LAYER, { ...OLD, policy: { last: 1 } });
    assert.deepEqual(r.forgotten.map((s) => s.id), [o4, o3, o2, o1]);
    assert.deepEqual(await present(store, [o1, o2, o3, o4, base, pc1, lap1, pc2, lap2]), [base, pc1, lap1, pc2, lap2]);
    assert.deepEqual(r.kept.map((s) => [s.id, s.rules]), [[lap2, ['last']]]);
    assert.deepEqual(new Map(r.protected.map((s) => [s.id, s.why])), new Map([[pc2, 'head'], [pc1, 'head'], [lap1, 'head'], [base, 'merge']]));
    assert.deepEqual(await layerGraph(repo, LAYER).mergeBases([pc2], lap2), before);
    const report = await check(repo, { readData: true });
    assert.deepEqual(report.problems, []);
    assert.equal(report.counts.snapshots, 5);
  });

  it('keeps the way up from an old snapshot the policy keeps to the base, so a merge takes it for no second base', async () => {
    const { store, repo, at } = await layer();
    // A line a0..a7 (a0..a2 on Jan 1, the rest on Jan 2); pc-b and pc-c branched off a2, the line
    // merged c1, pc-b merged a7: a7 is the heads' base, and a2, below it, is reached from both.
    const a: SnapshotId[] = [];
    for (const [i, h] of [0, 1, 2, 27, 28, 29, 30, 31].entries()) a.push(await at(h, 'a', i === 0 ? [] : [a[i - 1] as SnapshotId]));
    const [a2, a7] = [a[2] as SnapshotId, a[7] as SnapshotId];
    const b1 = await at(32, 'b', [a2]);
    const c1 = await at(33, 'c', [a2]);
    const a8 = await at(50, 'a', [a7, c1]);
    const b2 = await at(51, 'b', [b1, a7]);
    const a9 = await at(52, 'a', [a8]);
    const b3 = await at(53, 'b', [b2]);
    await repo.writeHead(LAYER, 'a', a9);
    await repo.writeHead(LAYER, 'b', b3);
    assert.deepEqual(await layerGraph(repo, LAYER).mergeBases([a9], b3), [a7]);
    // The newest of each of the last 3 days: b3, c1 and a2.
    const r = await forgetSnapshots(repo, LAYER, { ...OLD, policy: { daily: 3 } });
    assert.deepEqual(r.forgotten.map((s) => s.id), [a[1], a[0]]);
    assert.deepEqual(r.kept.map((s) => s.id), [b3, c1, a2]);
    for (const id of a.slice(3, 7)) assert.equal(r.protected.find((s) => s.id === id)?.why, 'merge');
    assert.deepEqual(await layerGraph(repo, LAYER).mergeBases([a9], b3), [a7]);
    assert.deepEqual((await check(repo, { readData: false })).problems, []);
    // Without the way up, the walk finds a2 as a second base (the rule is needed).
    for (const id of a.slice(3, 7)) await store.delete(keys.snapshot(LAYER, id));
    assert.deepEqual((await layerGraph(repo, LAYER).mergeBases([a9], b3)).sort(), [a2, a7].sort());
  });

  it('where the heads have several best common ancestors, keeps the way down to theirs too, which merging them in turn walks', async () => {
    const { repo, at } = await layer();
    // The two devices' passes crossed: each merged the other's a0/b0 at once, so a merge of their
    // heads has two bases, a0 and b0, and merges those in turn against their own base, r.
    const o = await at(0, 'pc', []);
    const r = await at(1, 'pc', [o]);
    const a0 = await at(2, 'pc', [r]);
    const b0 = await at(3, 'laptop', [r]);
    const a1 = await at(4, 'pc', [a0, b0]);
    const b1 = await at(5, 'laptop', [b0, a0]);
    await repo.writeHead(LAYER, 'pc', a1);
    await repo.writeHead(LAYER, 'laptop', b1);
    const graph = () => layerGraph(repo, LAYER);
    assert.deepEqual((await graph().mergeBases([a1], b1)).sort(), [a0, b0].sort());
    assert.deepEqual(await graph().mergeBases([a0], b0), [r]);
    const f = await forgetSnapshots(repo, LAYER, { ...OLD, policy: { last: 1 } });
    assert.deepEqual(f.forgotten.map((s) => s.id), [o]);
    assert.equal(f.protected.find((s) => s.id === r)?.why, 'merge');
    assert.deepEqual((await graph().mergeBases([a1], b1)).sort(), [a0, b0].sort());
    assert.deepEqual(await graph().mergeBases([a0], b0), [r]);
  });

  it('keeps the bases a merge of two heads merges in turn and theirs, where those are below every head\'s common base', async () => {
    const { store, repo, at } = await layer();
    // c wrote f0, f1 and stopped; a and b crossed from r (x1, x2, each merging the other), then each
    // merged f1. The heads' common base is f1; a merge of a's and b's heads has x1, x2 and f1 for
    // bases, and merges them in turn against their own base, r, below f1.
    const o = await at(0, 'a', []);
    const r = await at(1, 'a', [o]);
    const f0 = await at(2, 'c', [r]);
    const f1 = await at(3, 'c', [f0]);
    const x1 = await at(4, 'a', [r]);
    const x2 = await at(5, 'b', [r]);
    const x1m = await at(6, 'a', [x1, x2]);
    const x2m = await at(7, 'b', [x2, x1]);
    const a = await at(8, 'a', [x1m, f1]);
    const b = await at(9, 'b', [x2m, f1]);
    await repo.writeHead(LAYER, 'a', a);
    await repo.writeHead(LAYER, 'b', b);
    await repo.writeHead(LAYER, 'c', f1);
    assert.deepEqual((await layerGraph(repo, LAYER).mergeBases([a], b)).sort(), [x1, x2, f1].sort());
    const before = await everyBase(repo);
    assert.ok(before.some((line) => line.endsWith(`: ${r}`)), 'a merge of the bases walks down to r');
    const f = await forgetSnapshots(repo, LAYER, { ...OLD, policy: { last: 1 } });
    assert.equal(f.protected.find((s) => s.id === r)?.why, 'merge');
    assert.deepEqual(await present(store, [o]), [], 'what no merge needs still goes');
    assert.deepEqual(await everyBase(repo), before);
  });

  it('keeps what a pass that merged one head merges the next against, where no two heads alone need it', async () => {
    const { store, repo, at } = await layer();
    // p and q crossed from r; a merged p's x1, b q's x2, h both crossings; all merged c's f1. A pass of
    // a merges b's head first (the newest), then h's against both: bases x1m, x2m and f1, merged in
    // turn against x1, x2 and r.
    const o = await at(0, 'p', []);
    const r = await at(1, 'p', [o]);
    const f0 = await at(2, 'c', [r]);
    const f1 = await at(3, 'c', [f0]);
    const x1 = await at(4, 'p', [r]);
    const x2 = await at(5, 'q', [r]);
    const x1m = await at(6, 'p', [x1, x2]);
    const x2m = await at(7, 'q', [x2, x1]);
    const h = await at(8, 'h', [x1m, x2m, f1]);
    const a = await at(9, 'a', [x1m, f1]);
    const b = await at(10, 'b', [x2m, f1]);
    await repo.writeHead(LAYER, 'a', a);
    await repo.writeHead(LAYER, 'b', b);
    await repo.writeHead(LAYER, 'h', h);
    await repo.writeHead(LAYER, 'c', f1);
    const before = await everyBase(repo);
    assert.ok(before.some((line) => line.startsWith(`${[a, b].sort().join('+')} ~ ${h}:`)), 'a pass of a merges h against a and b');
    assert.ok(before.some((line) => line.endsWith(`: ${r}`)));
    await forgetSnapshots(repo, LAYER, { ...OLD, policy: { last: 1 } });
    assert.deepEqual(await present(store, [o]), []);
    assert.deepEqual(await everyBase(repo), before);
  });

  it('leaves every merge between the heads of random layers the bases it found, at every level', async () => {
    const rng = makeRng(testSeed('forget-random-layers'));
    let forgotten = 0;
    for (let i = 0; i < 60; i++) {
      const layer = randomLayer(rng);
      const plan = await planForget({ snapshots: layer.snaps, heads: layer.heads, policy: { last: rng.range(1, 4) }, now: T0 + DAY, graceMs: 0 });
      const gone = new Set(plan.forget);
      forgotten += gone.size;
      assert.deepEqual(await everyBaseIn(layer, (id) => !gone.has(id)), await everyBaseIn(layer, () => true), `layer ${i}`);
    }
    assert.ok(forgotten > 0);
  });

  it('plans on parents that make a cycle (a hostile bucket) as on any others, keeping what both heads reach', async () => {
    const snap = (id: string, hours: number, parents: SnapshotId[]): PlannedSnapshot => {
      const time = T0 + hours * HOUR;
      return { id, time, parents, written: T0, snapshot: { version: FORMAT_VERSION, layer: LAYER, device: 'pc', time: new Date(time).toISOString(), root: 'e'.repeat(64), parents } };
    };
    const [o, x, y, a1, a2, b1, b2] = ['a', 'b', 'c', 'd', 'e', 'f', '1'].map((c) => c.repeat(64)) as [SnapshotId, SnapshotId, SnapshotId, SnapshotId, SnapshotId, SnapshotId, SnapshotId];
    const layer = [snap(o, 0, []), snap(x, 1, [y, o]), snap(y, 2, [x]), snap(a1, 3, [y]), snap(a2, 4, [a1]), snap(b1, 5, [x]), snap(b2, 6, [b1])];
    const plan = await planForget({ snapshots: new Map(layer.map((s) => [s.id, s])), heads: [{ device: 'a', snapshot: a2 }, { device: 'b', snapshot: b2 }], policy: { last: 1 }, now: T0 + DAY, graceMs: 0 });
    assert.deepEqual(plan.forget, [o]);
    assert.equal(plan.protected.get(x), 'merge');
    assert.equal(plan.protected.get(y), 'merge');
  });

  it('keeps what the bucket got within the grace period and its parents, and spares what a device names while it runs', async () => {
    const { store, repo, at } = await layer();
    const s1 = await at(0, 'pc', []);
    const s2 = await at(1, 'pc', [s1]);
    const s3 = await at(2, 'pc', [s2]);
    const s4 = await at(3, 'pc', [s3]);
    await repo.writeHead(LAYER, 'pc', s4);
    const young = await forgetSnapshots(repo, LAYER, { graceMs: DAY, dryRun: true, policy: { last: 1 } });
    assert.deepEqual(young.forgotten, []);
    assert.ok(young.protected.every((s) => s.why === 'young' || s.why === 'head'));
    // A VDI session signs in on s1 while forget plans: its head names s1 before forget looks again,
    // and a merge of its head with pc's walks s2 too.
    const r = await forgetSnapshots(repo, LAYER, { ...OLD, policy: { last: 1 }, beforeRecheck: async () => void (await repo.writeHead(LAYER, 'vdi-1', s1)) });
    assert.deepEqual(r.spared, [s1, s2].sort());
    assert.deepEqual(r.forgotten, []);
    assert.deepEqual(await present(store, [s1, s2, s3, s4]), [s1, s2, s3, s4]);
  });

  it('deletes nothing when a snapshot or a head cannot be read, or a head points at nothing', async () => {
    const { store, repo, at } = await layer();
    const s1 = await at(0, 'pc', []);
    const s2 = await at(1, 'pc', [s1]);
    await repo.writeHead(LAYER, 'pc', s2);
    await store.put(keys.snapshot(LAYER, 'f'.repeat(64)), Buffer.from('{}'));
    await rejectsWith(forgetSnapshots(repo, LAYER, { ...OLD, policy: { last: 1 } }), 'E_FORGET_UNSAFE', keys.snapshot(LAYER, 'f'.repeat(64)));
    await store.delete(keys.snapshot(LAYER, 'f'.repeat(64)));
    await store.put(keys.head(LAYER, 'evil'), Buffer.from('{}'));
    await rejectsWith(forgetSnapshots(repo, LAYER, { ...OLD, policy: { last: 1 } }), 'E_FORGET_UNSAFE', keys.head(LAYER, 'evil'));
    await store.delete(keys.head(LAYER, 'evil'));
    await store.put(keys.head(LAYER, 'ghost'), Buffer.from(JSON.stringify({ version: 1, layer: LAYER, device: 'ghost', snapshot: 'e'.repeat(64), time: new Date(T0).toISOString() })));
    await rejectsWith(forgetSnapshots(repo, LAYER, { ...OLD, policy: { last: 1 } }), 'E_FORGET_UNSAFE', keys.head(LAYER, 'ghost'));
    assert.deepEqual(await present(store, [s1, s2]), [s1, s2]);
  });

  it('stops on a request that fails reading a snapshot with that request\'s error, not E_FORGET_UNSAFE, and deletes nothing', async () => {
    const { store, repo, at } = await layer();
    const s1 = await at(0, 'pc', []);
    const s2 = await at(1, 'pc', [s1]);
    const s3 = await at(2, 'pc', [s2]);
    await repo.writeHead(LAYER, 'pc', s3);
    for (const code of ['E_TRANSIENT', 'E_AUTH', 'E_PERMANENT'] as const) {
      // The endpoint stopped answering, or refused the credentials, after the listing.
      const failing = new (class extends ForwardingStore {
        override get(key: string, range?: ByteRange): Promise<Uint8Array> {
          if (key === keys.snapshot(LAYER, s1)) return Promise.reject(new StrataError(code, 'get at memory: failed', { key }));
          return super.get(key, range);
        }
      })(store);
      const err = await rejectsWith(forgetSnapshots(await openRepository(failing, { loadIndex: false }), LAYER, { ...OLD, policy: { last: 1 } }), code, keys.snapshot(LAYER, s1));
      assert.doesNotMatch(err.message, /check reports it/);
    }
    assert.deepEqual(await present(store, [s1, s2, s3]), [s1, s2, s3]);
  });
});
