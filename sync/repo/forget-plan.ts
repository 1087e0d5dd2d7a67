/**
 * Which snapshots of a layer `admin forget` may delete: the pure decision, on the layer's snapshot
 * graph as read (forget.ts reads it and deletes).
 *
 * A snapshot is kept when the retention policy keeps it (forget-policy.ts) or when it is protected:
 * 1. a head points at it, or it is a parent of a snapshot a head points at (a preload finds its
 *    template record there: preload-merge.ts);
 * 2. the bucket got it less than the grace period ago, or it is a parent of such a one (a writer
 *    writes its snapshot, then its head; a pass merges the heads it read, and a sign-in lays one,
 *    a while before they are named as parents or a head);
 * 3. it is an ancestor of a head and not below the heads' common base: every snapshot from any
 *    head down to the newest ones all heads descend from, those included. A merge of two heads
 *    walks from both down to their best common ancestors (agent/history.ts mergeBases), and those
 *    are never below a snapshot both descend from: so where a merge finds one base, it finds it
 *    after the forget, and everything on the way to it. Where those newest ones are several
 *    (passes that crossed), a merge merges them in turn against their own common base: from them
 *    down to it, the same rule;
 * 4. it is below the common base, reachable from a head through kept snapshots (kept by the
 *    policy, or by rule 5), and on the way from such a one up to the common base. A merge's walk may
 *    reach a kept old snapshot along two such paths; without the way up to the base, the walk could
 *    not see that it is below the base, and would take it for a second one (an older base brings
 *    back what was deleted since). Kept, the walk marks it as below the base, as before the forget;
 * 5. a merge between the current heads needs it to find, at every level, the bases it finds now.
 *    Where a merge finds several bases, it merges them in turn, each against their own bases
 *    (agent/remote.ts baseTree), and those may be far below the heads' common base (two devices
 *    crossed, then each merged a third's snapshot, which became the common base). So the merges are
 *    made here, with the agent's own mergeBases and baseTree on the snapshots read: each device's
 *    pass merging all the other heads as they are (mergeHeads's order: newest first, each merged
 *    one joining its side), and each pair of heads alone. Kept: from each side of each mergeBases
 *    call down to the bases it found. Then each merge is made again on what would be left; one
 *    that finds anything else keeps every snapshot it read (a walk that finds all it read walks as
 *    it did), and so on a few rounds, then every snapshot any merge read. Walks of more than
 *    MERGE_STEPS snapshots in all (very many heads far apart): every snapshot a head reaches.
 *    A pass merging some of the heads only (those that changed since its last one) in another
 *    order, or with a merge of its own still pending, is kept for by rules 3 and 4 only.
 * Whatever a merge meets missing beyond that is below every base: history ends there.
 */
import { SnapshotGraph } from '../agent/history.js';
import { baseTree, newestFirst } from '../agent/remote.js';
import { StrataError } from '../errors.js';
import type { Head, Snapshot, SnapshotId } from './types.js';
import { keptByPolicy, type KeptBy, type RetentionPolicy } from './forget-policy.js';

export interface PlannedSnapshot {
  id: SnapshotId;
  /** The snapshot's time (ms). */
  time: number;
  parents: readonly SnapshotId[];
  /** When the bucket got it (ms, its clock); undefined when the listing did not say. */
  written: number | undefined;
  /** The snapshot as read: what a merge's walk reads of it. */
  snapshot: Snapshot;
}

export interface PlanInput {
  snapshots: ReadonlyMap<SnapshotId, PlannedSnapshot>;
  /** The layer's heads: each device's, and the snapshot it points at. */
  heads: readonly Pick<Head, 'device' | 'snapshot'>[];
  policy: RetentionPolicy;
  /** The admin's clock (ms) and the grace period (ms). */
  now: number;
  graceMs: number;
}

export type Protection = 'head' | 'young' | 'merge';

export interface ForgetPlan {
  /** Kept by the policy, with its rules. */
  kept: KeptBy;
  /** Kept whatever the policy says, and why (the first reason that applies). */
  protected: Map<SnapshotId, Protection>;
  /** The rest: to delete. */
  forget: SnapshotId[];
}

/** Every existing ancestor of `from` (themselves included), following `parents`. */
function ancestors(from: Iterable<SnapshotId>, snaps: ReadonlyMap<SnapshotId, PlannedSnapshot>, follow: (id: SnapshotId) => boolean = () => true): Set<SnapshotId> {
  const seen = new Set<SnapshotId>();
  const todo = [...from].filter((id) => snaps.has(id) && follow(id));
  for (let id = todo.pop(); id !== undefined; id = todo.pop()) {
    if (seen.has(id)) continue;
    seen.add(id);
    for (const p of snaps.get(id)?.parents ?? []) if (snaps.has(p) && follow(p) && !seen.has(p)) todo.push(p);
  }
  return seen;
}

/**
 * For each ancestor of `sides` (distinct, existing), how many of them it is an ancestor of (or is).
 * One pass over the ancestors, children before parents, each carrying which sides reach it (a bit
 * each), instead of a walk per side (a hundred heads over a long history: a walk of the whole
 * history each). Parents that make a cycle (a hostile bucket) leave some untaken: a walk per side then.
 */
function reachCounts(sides: readonly SnapshotId[], snaps: ReadonlyMap<SnapshotId, PlannedSnapshot>): Map<SnapshotId, number> {
  const all = ancestors(sides, snaps);
  const parents = (id: SnapshotId) => [...new Set(snaps.get(id)?.parents ?? [])].filter((p) => all.has(p));
  const children = new Map<SnapshotId, number>();
  for (const id of all) for (const p of parents(id)) children.set(p, (children.get(p) ?? 0) + 1);
  const words = Math.ceil(sides.length / 32);
  const bits = new Map<SnapshotId, Uint32Array>();
  const bitsOf = (id: SnapshotId) => bits.get(id) ?? bits.set(id, new Uint32Array(words)).get(id)!;
  for (const [i, id] of sides.entries()) bitsOf(id)[i >> 5]! |= 1 << (i & 31);
  const counts = new Map<SnapshotId, number>();
  const todo = [...all].filter((id) => !children.has(id));
  for (let id = todo.pop(); id !== undefined; id = todo.pop()) {
    const mine = bitsOf(id);
    counts.set(id, mine.reduce((n, w) => n + popcount(w), 0));
    for (const p of parents(id)) {
      const theirs = bitsOf(p);
      for (let w = 0; w < words; w++) theirs[w]! |= mine[w]!;
      const left = (children.get(p) as number) - 1;
      children.set(p, left);
      if (left === 0) todo.push(p);
    }
    bits.delete(id);
  }
  if (counts.size === all.size) return counts;
  counts.clear();
  for (const h of sides) for (const id of ancestors([h], snaps)) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

function popcount(w: number): number {
  let n = 0;
  for (let v = w >>> 0; v !== 0; v &= v - 1) n++;
  return n;
}

/**
 * Rule 3's two sets: the heads' ancestors above their common base (kept), and those strictly below
 * it. Where that base is several snapshots (two devices' passes crossed), a merge merges them in
 * turn, each against their own common base (agent/remote.ts baseTree): the same again from them,
 * until one base is left. A base that was a side already (a cycle of parents: a hostile bucket)
 * ends it.
 */
function aboveBase(heads: readonly SnapshotId[], snaps: ReadonlyMap<SnapshotId, PlannedSnapshot>): { above: Set<SnapshotId>; below: Set<SnapshotId> } {
  const above = new Set<SnapshotId>();
  let sides = [...new Set(heads)].filter((h) => snaps.has(h));
  for (;;) {
    const reached = reachCounts(sides, snaps);
    const common = [...reached].filter(([, n]) => n === sides.length).map(([id]) => id);
    const below = ancestors(common.flatMap((id) => snaps.get(id)?.parents ?? []), snaps);
    for (const id of reached.keys()) if (!below.has(id)) above.add(id);
    const bases = common.filter((id) => !below.has(id));
    if (bases.length < 2 || bases.some((id) => sides.includes(id))) return { above, below };
    sides = bases;
  }
}

/**
 * Rule 4: the snapshots below the base a head reaches through `kept` ones, and for each, every
 * one between it and the base (its descendants below the base), until nothing changes.
 */
function wayUp(heads: readonly SnapshotId[], snaps: ReadonlyMap<SnapshotId, PlannedSnapshot>, below: ReadonlySet<SnapshotId>, kept: Set<SnapshotId>): Set<SnapshotId> {
  const children = new Map<SnapshotId, SnapshotId[]>();
  for (const s of snaps.values()) for (const p of s.parents) if (below.has(p) && below.has(s.id)) children.set(p, [...(children.get(p) ?? []), s.id]);
  const added = new Set<SnapshotId>();
  for (;;) {
    const reached = [...ancestors(heads, snaps, (id) => kept.has(id))].filter((id) => below.has(id));
    const more = [...descendants(reached, children)].filter((id) => !kept.has(id));
    if (more.length === 0) return added;
    for (const id of more) {
      kept.add(id);
      added.add(id);
    }
  }
}

/** Every descendant of `from` along `children` (themselves included). */
function descendants(from: Iterable<SnapshotId>, children: ReadonlyMap<SnapshotId, SnapshotId[]>): Set<SnapshotId> {
  const seen = new Set<SnapshotId>();
  const todo = [...from];
  for (let id = todo.pop(); id !== undefined; id = todo.pop()) {
    if (seen.has(id)) continue;
    seen.add(id);
    todo.push(...(children.get(id) ?? []));
  }
  return seen;
}

/** Steps (a snapshot met) the merges' walks may take in all before rule 5 gives up: every snapshot a head reaches is kept then. */
export const MERGE_STEPS = 4_000_000;
/** Rounds of checking what is left before rule 5 keeps everything the merges read. */
const CHECK_ROUNDS = 3;

class OutOfSteps extends Error {}

/** One mergeBases call of a merge: its sides and the bases it found. */
interface Call {
  mine: readonly SnapshotId[];
  theirs: SnapshotId;
  bases: readonly SnapshotId[];
}

/** A merge between heads as a pass makes it: every mergeBases call it made, and every snapshot those read. */
interface Merge {
  mine: readonly SnapshotId[];
  theirs: SnapshotId;
  calls: Call[];
  read: Set<SnapshotId>;
}

const callsText = (calls: readonly Call[]) => JSON.stringify(calls);

/**
 * The merge of `mine` and `theirs` as a pass makes it (agent/remote.ts mergeHeads): the agent's own
 * mergeBases, then baseTree merging several bases in turn, each against its own (on empty trees:
 * only the bases count), on the snapshots `has` lets it see, the others being gone. Each snapshot
 * met is a step of `steps`.
 */
async function runMerge(mine: readonly SnapshotId[], theirs: SnapshotId, snaps: ReadonlyMap<SnapshotId, PlannedSnapshot>, has: (id: SnapshotId) => boolean, steps: { left: number }): Promise<Merge> {
  const calls: Call[] = [];
  const read = new Set<SnapshotId>();
  const load = async (id: SnapshotId): Promise<Snapshot> => {
    const s = has(id) ? snaps.get(id)?.snapshot : undefined;
    if (s === undefined) throw new StrataError('E_SNAPSHOT_NOT_FOUND', `snapshot ${id} is gone`);
    read.add(id);
    return s;
  };
  const graph = new (class extends SnapshotGraph {
    override get(id: SnapshotId): Promise<Snapshot> {
      if (--steps.left < 0) throw new OutOfSteps();
      return super.get(id);
    }
    override async mergeBases(m: readonly SnapshotId[], t: SnapshotId): Promise<SnapshotId[]> {
      const bases = await super.mergeBases(m, t);
      calls.push({ mine: [...m], theirs: t, bases });
      return bases;
    }
  })(load);
  const bases = await graph.mergeBases(mine, theirs);
  if (bases[0] !== theirs) await baseTree(graph, bases, async () => new Map(), {});
  return { mine, theirs, calls, read };
}

/**
 * The merges between the heads: each device's pass merging all the other heads as they are (newest
 * first, each merged one joining its side: mergeHeads's order), and each pair of heads alone (the
 * walk is the same from either side). A head that is an ancestor of the side it would be merged into
 * is skipped, as the pass skips it: its base is itself, and rule 3 keeps the way down to it.
 */
async function headMerges(heads: PlanInput['heads'], snaps: ReadonlyMap<SnapshotId, PlannedSnapshot>, steps: { left: number }): Promise<Merge[]> {
  const children = new Map<SnapshotId, SnapshotId[]>();
  for (const s of snaps.values()) for (const p of s.parents) children.set(p, [...(children.get(p) ?? []), s.id]);
  const below = new Map<SnapshotId, Set<SnapshotId>>();
  const within = (h: SnapshotId, mine: readonly SnapshotId[]) => {
    let d = below.get(h);
    if (d === undefined) below.set(h, (d = descendants([h], children)));
    return mine.some((id) => d.has(id));
  };
  const merges = new Map<string, Merge>();
  const merge = async (mine: readonly SnapshotId[], theirs: SnapshotId): Promise<boolean> => {
    if (within(theirs, mine)) return false;
    const key = `${[...mine].sort().join('+')}~${theirs}`;
    let m = merges.get(key);
    if (m === undefined) merges.set(key, (m = await runMerge([...mine], theirs, snaps, () => true, steps)));
    return m.calls[0]?.bases[0] !== theirs;
  };
  const time = (id: SnapshotId) => snaps.get(id)?.time ?? -Infinity;
  for (const [i, own] of heads.entries()) {
    const mine = [own.snapshot];
    for (const h of newestFirst(heads.filter((x) => x.device !== own.device), time)) if (await merge(mine, h.snapshot)) mine.push(h.snapshot);
    for (const h of heads.slice(i + 1)) if (!within(own.snapshot, [h.snapshot])) await merge([own.snapshot], h.snapshot);
  }
  return [...merges.values()];
}

/**
 * What a mergeBases call walks to find its bases: from its sides down to them, not below them (the
 * way rule 3 takes from the heads), among what the merge read.
 */
function wayDown(call: Call, read: ReadonlySet<SnapshotId>, snaps: ReadonlyMap<SnapshotId, PlannedSnapshot>): Set<SnapshotId> {
  const below = ancestors(call.bases.flatMap((id) => snaps.get(id)?.parents ?? []), snaps, (id) => read.has(id));
  const way = ancestors([...call.mine, call.theirs], snaps, (id) => read.has(id) && !below.has(id));
  for (const id of call.bases) way.add(id);
  return way;
}

/**
 * Rule 5: what the merges between the heads need to find, after the forget, every base they find
 * now at every level. First the way down to each base; then each merge is made again on what would
 * be left, and one that finds anything else keeps every snapshot it read (with all it read there, a
 * walk reads and finds what it did), and so on, CHECK_ROUNDS times at most: then every snapshot any
 * merge read. Walks longer than MERGE_STEPS in all (heads far apart, many of them): every snapshot a
 * head reaches.
 */
async function mergeNeeds(heads: PlanInput['heads'], snaps: ReadonlyMap<SnapshotId, PlannedSnapshot>, kept: Set<SnapshotId>, wayUp: (kept: Set<SnapshotId>) => void): Promise<Set<SnapshotId>> {
  const steps = { left: MERGE_STEPS };
  let merges: Merge[];
  try {
    merges = await headMerges(heads, snaps, steps);
  } catch (err) {
    if (err instanceof OutOfSteps) return ancestors(heads.map((h) => h.snapshot), snaps);
    throw err;
  }
  const has = new Set(kept);
  const keep = (ids: Iterable<SnapshotId>) => {
    for (const id of ids) has.add(id);
    wayUp(has);
  };
  keep(merges.flatMap((m) => m.calls.flatMap((c) => [...wayDown(c, m.read, snaps)])));
  try {
    for (let round = 0; round < CHECK_ROUNDS; round++) {
      // A merge that finds everything it read walks as it did: only the others are made again.
      const wrong: Merge[] = [];
      for (const m of merges) {
        if ([...m.read].every((id) => has.has(id))) continue;
        const again = await runMerge(m.mine, m.theirs, snaps, (id) => has.has(id), steps);
        if (callsText(again.calls) !== callsText(m.calls)) wrong.push(m);
      }
      if (wrong.length === 0) return has;
      keep(wrong.flatMap((m) => [...m.read]));
    }
  } catch (err) {
    if (!(err instanceof OutOfSteps)) throw err;
  }
  keep(merges.flatMap((m) => [...m.read]));
  return has;
}

export async function planForget(input: PlanInput): Promise<ForgetPlan> {
  const { snapshots: snaps } = input;
  const heads = input.heads.map((h) => h.snapshot);
  const kept = keptByPolicy([...snaps.values()], input.policy);
  const prot = new Map<SnapshotId, Protection>();
  const protect = (id: SnapshotId, why: Protection) => {
    if (snaps.has(id) && !prot.has(id)) prot.set(id, why);
  };
  for (const h of heads) {
    protect(h, 'head');
    for (const p of snaps.get(h)?.parents ?? []) protect(p, 'head');
  }
  for (const s of snaps.values()) {
    if (s.written !== undefined && input.now - s.written >= input.graceMs) continue;
    protect(s.id, 'young');
    for (const p of s.parents) protect(p, 'young');
  }
  const { above, below } = aboveBase(heads, snaps);
  for (const id of above) protect(id, 'merge');
  const all = new Set([...kept.keys(), ...prot.keys()]);
  for (const id of await mergeNeeds(input.heads, snaps, all, (has) => wayUp(heads, snaps, below, has))) if (!all.has(id)) protect(id, 'merge');
  const forget = [...snaps.keys()].filter((id) => !kept.has(id) && !prot.has(id)).sort();
  return { kept, protected: prot, forget };
}
