/**
 * The retention policy of `admin forget`: which of a layer's snapshots the admin asked to keep, by
 * their times alone (restic's `forget` rules, a small set of them). A pure function: what else
 * must stay whatever the policy says (heads, what merges need) is forget.ts's.
 *
 * Must hold: a snapshot is kept when any rule keeps it; a policy with no rule keeps nothing, so
 * callers must refuse one (the CLI does). Calendar periods are UTC's, so that every admin machine
 * decides alike.
 */
import type { SnapshotId } from './types.js';

export interface RetentionPolicy {
  /** The newest n snapshots. */
  last?: number;
  /** Every snapshot dated within this many ms of the layer's newest snapshot. */
  withinMs?: number;
  /** For each of the newest n days (UTC) that has snapshots, the newest of that day. */
  daily?: number;
  /** Likewise per ISO week (Monday to Sunday, UTC). */
  weekly?: number;
  /** Likewise per calendar month (UTC). */
  monthly?: number;
}

export interface Dated {
  id: SnapshotId;
  /** The snapshot's time (ms since the epoch). */
  time: number;
}

/** Why a snapshot is kept: the rules that keep it (`last`, `within`, `daily`, `weekly`, `monthly`). */
export type KeptBy = Map<SnapshotId, string[]>;

export function hasRule(p: RetentionPolicy): boolean {
  return p.last !== undefined || p.withinMs !== undefined || p.daily !== undefined || p.weekly !== undefined || p.monthly !== undefined;
}

const day = (t: number): string => new Date(t).toISOString().slice(0, 10);
const month = (t: number): string => new Date(t).toISOString().slice(0, 7);

/** The Monday (UTC) of `t`'s ISO week. */
function week(t: number): string {
  const d = new Date(t);
  const sinceMonday = (d.getUTCDay() + 6) % 7;
  return day(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - sinceMonday));
}

/** The snapshots `policy` keeps, each with the rules that keep it. */
export function keptByPolicy(snapshots: readonly Dated[], policy: RetentionPolicy): KeptBy {
  const newestFirst = [...snapshots].sort((a, b) => b.time - a.time || (a.id < b.id ? 1 : -1));
  const kept: KeptBy = new Map();
  const keep = (id: SnapshotId, rule: string) => kept.set(id, [...(kept.get(id) ?? []), rule]);
  if (policy.last !== undefined) for (const s of newestFirst.slice(0, policy.last)) keep(s.id, 'last');
  const newest = newestFirst[0]?.time;
  if (policy.withinMs !== undefined && newest !== undefined) {
    for (const s of newestFirst) if (s.time >= newest - policy.withinMs) keep(s.id, 'within');
  }
  const periods: [string, number | undefined, (t: number) => string][] = [
    ['daily', policy.daily, day],
    ['weekly', policy.weekly, week],
    ['monthly', policy.monthly, month],
  ];
  for (const [rule, n, period] of periods) {
    if (n === undefined) continue;
    const seen = new Set<string>();
    for (const s of newestFirst) {
      if (seen.size >= n) break;
      const p = period(s.time);
      if (seen.has(p)) continue;
      seen.add(p);
      keep(s.id, rule);
    }
  }
  return kept;
}
