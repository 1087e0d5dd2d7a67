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
 *    are never below a snapshot both descend from; so every merge between heads finds the base it
 *    finds today, and everything on the way to it. Where those newest ones are several (passes
 *    that crossed), a merge merges them in turn against their own common base: from them down to
 *    it, the same rule;
 * 4. it is below the common base, reachable from a head through kept snapshots (kept by the
 *    policy, say), and on the way from such a one up to the common base. A merge's walk may reach
 *    a kept old snapshot along two such paths; without the way up to the base, the walk could not
 *    see that it is below the base, and would take it for a second one (an older base brings back
 *    what was deleted since). Kept, the walk marks it as below the base, as before the forget.
 * Whatever a merge meets missing beyond that is below every base: history ends there.
 */
import type { SnapshotId } from './types.js';
import { keptByPolicy, type KeptBy, type RetentionPolicy } from './forget-policy.js';

export interface PlannedSnapshot {
  id: SnapshotId;
  /** The snapshot's time (ms). */
  time: number;
  parents: readonly SnapshotId[];
  /** When the bucket got it (ms, its clock); undefined when the listing did not say. */
  written: number | undefined;
}

export interface PlanInput {
  snapshots: ReadonlyMap<SnapshotId, PlannedSnapshot>;
  /** The snapshots the layer's heads point at. */
  heads: readonly SnapshotId[];
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
    const reached = new Map<SnapshotId, number>();
    for (const h of sides) for (const id of ancestors([h], snaps)) reached.set(id, (reached.get(id) ?? 0) + 1);
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

export function planForget(input: PlanInput): ForgetPlan {
  const { snapshots: snaps, heads } = input;
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
  for (const id of wayUp(heads, snaps, below, all)) protect(id, 'merge');
  const forget = [...snaps.keys()].filter((id) => !kept.has(id) && !prot.has(id)).sort();
  return { kept, protected: prot, forget };
}
