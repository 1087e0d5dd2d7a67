/**
 * `admin forget`: deletes the snapshots of one layer that neither the retention policy keeps nor
 * a live sync needs (forget-plan.ts says which those are and why). Only snapshot objects go: the
 * packs their trees and files use stay (what no snapshot uses any more is not reclaimed: see the
 * README, `admin forget`).
 *
 * Why no lock is needed: a writer writes its snapshot, then its head (DESIGN §2), and the parents
 * it names are heads it read. A snapshot the bucket got within the grace period, and its parents,
 * are kept, and the heads and snapshots are read again after the plan: the plan is made again on
 * what they say then, and only what both plans forget is deleted. So a snapshot a head names, or
 * is about to name, is never deleted, unless a writer took longer than the grace period between
 * its snapshot and its head (writeHead refuses then, E_NOT_DURABLE: the pass fails and the next
 * one writes anew).
 *
 * What must hold:
 * - Only keys that are exactly `layers/<layer>/snapshots/<id>` of a snapshot read and planned are
 *   deleted.
 * - If any snapshot or head of the layer cannot be read, or a head names a snapshot that is not
 *   there, nothing is deleted (E_FORGET_UNSAFE): what the unreadable one descends from is unknown.
 *   A request that fails on the way (E_TRANSIENT, E_AUTH, E_PERMANENT) deletes nothing either, and
 *   is thrown as it is, as listHeads throws a head's: the store is at fault, not the layer.
 * - A dry run deletes nothing and reports exactly what a real run would delete then.
 */
import { isBlobId } from '../chunker/hash.js';
import { StrataError } from '../errors.js';
import { isRequestFailure } from '../store/index.js';
import { loadSnapshot } from './layers.js';
import { planForget, type ForgetPlan, type PlannedSnapshot, type Protection } from './forget-plan.js';
import type { RetentionPolicy } from './forget-policy.js';
import { checkLayerId } from './names.js';
import { forEachLimit, mapLimit } from './pool.js';
import type { Repository } from './repository.js';
import { keys, type Head, type Snapshot, type SnapshotId } from './types.js';

export interface ForgetOptions {
  policy: RetentionPolicy;
  /** A snapshot the bucket got less than this long ago (ms), and its parents, are kept. */
  graceMs: number;
  /** Report only; delete nothing. */
  dryRun: boolean;
  /** The admin's clock, ms since the epoch (default: the system clock). */
  now?: () => number;
  /** Requests in flight (default 8). */
  concurrency?: number;
  /** Called between the plan and the second look (tests: a writer at work meanwhile). */
  beforeRecheck?: () => Promise<void>;
}

export interface ForgetEntry {
  id: SnapshotId;
  time: string;
  device: string;
}

export interface ForgetReport {
  layer: string;
  dryRun: boolean;
  /** Snapshots the layer had. */
  snapshots: number;
  /** Kept by the policy, with the rules that keep each. */
  kept: (ForgetEntry & { rules: string[] })[];
  /** Kept whatever the policy says, and why (head, young, merge). */
  protected: (ForgetEntry & { why: Protection })[];
  /** Deleted (a dry run: would be). */
  forgotten: ForgetEntry[];
  /** In the first plan, kept by the second look (a device synced meanwhile). */
  spared: SnapshotId[];
}

interface LayerState {
  snaps: Map<SnapshotId, PlannedSnapshot>;
  heads: Head[];
}

const unsafe = (why: string, key: string) => new StrataError('E_FORGET_UNSAFE', `${why}, so what a sync needs is unknown and forget deletes nothing (strata check reports it)`, { key });

/** The layer's snapshots and heads; those in `known` are not read again. */
async function readLayer(repo: Repository, layer: string, known: LayerState['snaps'], concurrency: number): Promise<LayerState> {
  const prefix = keys.snapshots(layer);
  const listed: { id: SnapshotId; size: number; modified: number | undefined }[] = [];
  for await (const { key, size, modified } of repo.store.list(prefix)) {
    const id = key.slice(prefix.length);
    if (isBlobId(id)) listed.push({ id, size, modified });
  }
  const snaps: LayerState['snaps'] = new Map();
  await mapLimit(listed, concurrency, async ({ id, size, modified }) => {
    let snapshot = known.get(id)?.snapshot;
    try {
      snapshot ??= await loadSnapshot(repo.store, repo.format.hash, layer, id, size);
    } catch (err) {
      if (err instanceof StrataError && err.code === 'E_SNAPSHOT_NOT_FOUND') return; // another forget
      if (isRequestFailure(err)) throw err; // the request failed, not the snapshot: check has nothing to report
      throw unsafe(`snapshot cannot be read (${err instanceof StrataError ? err.code : 'E_PERMANENT'}: ${err instanceof Error ? err.message : String(err)})`, keys.snapshot(layer, id));
    }
    snaps.set(id, { id, time: Date.parse(snapshot.time), parents: snapshot.parents, written: modified, snapshot });
  });
  const { heads, errors } = await repo.listHeads(layer);
  const bad = errors[0];
  if (bad) throw unsafe(`head cannot be read (${bad.code}: ${bad.message})`, bad.key ?? keys.heads(layer));
  const dangling = heads.find((h) => !snaps.has(h.snapshot));
  if (dangling) throw unsafe(`head points at snapshot ${dangling.snapshot}, which is not there`, keys.head(layer, dangling.device));
  return { snaps, heads };
}

function entry(state: LayerState, id: SnapshotId): ForgetEntry {
  const s = state.snaps.get(id)?.snapshot as Snapshot;
  return { id, time: s.time, device: s.device };
}

export async function forgetSnapshots(repo: Repository, layerId: string, opts: ForgetOptions): Promise<ForgetReport> {
  const layer = checkLayerId(layerId);
  if (!Number.isSafeInteger(opts.graceMs) || opts.graceMs < 0) throw new StrataError('E_USAGE', `grace period ${opts.graceMs} ms is not a whole number of ms ≥ 0`);
  const concurrency = opts.concurrency ?? 8;
  const now = (opts.now ?? Date.now)();
  const plan = (s: LayerState): Promise<ForgetPlan> => planForget({ snapshots: s.snaps, heads: s.heads, policy: opts.policy, now, graceMs: opts.graceMs });
  const first = await readLayer(repo, layer, new Map(), concurrency);
  const planned = await plan(first);
  let state = first;
  let final = planned;
  if (!opts.dryRun && planned.forget.length > 0) {
    await opts.beforeRecheck?.();
    state = await readLayer(repo, layer, first.snaps, concurrency);
    final = await plan(state);
  }
  const doomed = new Set(final.forget);
  const forget = planned.forget.filter((id) => doomed.has(id));
  const report: ForgetReport = {
    layer,
    dryRun: opts.dryRun,
    snapshots: state.snaps.size,
    kept: [...final.kept].map(([id, rules]) => ({ ...entry(state, id), rules })),
    protected: [...final.protected].filter(([id]) => !final.kept.has(id)).map(([id, why]) => ({ ...entry(state, id), why })),
    forgotten: [],
    spared: planned.forget.filter((id) => !doomed.has(id)),
  };
  const byTime = (a: ForgetEntry, b: ForgetEntry) => Date.parse(b.time) - Date.parse(a.time) || (a.id < b.id ? 1 : -1);
  report.kept.sort(byTime);
  report.protected.sort(byTime);
  const entries = forget.map((id) => entry(state, id)).sort(byTime);
  if (opts.dryRun) return { ...report, forgotten: entries };
  try {
    await forEachLimit(entries, concurrency, async (e) => {
      await repo.store.delete(keys.snapshot(layer, e.id));
      report.forgotten.push(e);
    });
  } catch (err) {
    const code = err instanceof StrataError ? err.code : 'E_PERMANENT';
    const key = err instanceof StrataError ? err.key : undefined;
    throw new StrataError(code, `forget stopped after deleting ${report.forgotten.length} of ${entries.length} snapshots of ${layer}: ${String(err)}`, { key }, { cause: err });
  }
  report.forgotten.sort(byTime);
  return report;
}
