/**
 * `strata admin forget --all --keep-… [--grace <duration>] [--dry-run]`: the same forget on every
 * layer in the bucket, each user's and each org layer, for a nightly job.
 *
 * Must hold: a layer that fails (a snapshot or head it cannot read, a request that failed) fails
 * alone, the others are still done, and the run then exits 1, each failure one line on stderr
 * naming its layer. A failed request (isRequestFailure: credentials refused, the bucket gone, the
 * endpoint not answering after the retries) is the store's, not the layer's: every layer would
 * fail alike, a line each (thousands in an org) and the retries' waits each. So it stops the run:
 * the layers in flight finish or fail, no more start, and one line says why and how many were not
 * attempted; exit 1. A few layers are done at once, and what is kept of each once done is a
 * line's worth of counts: never more than those few layers' snapshots are held, however big the
 * bucket.
 */
import { describeError, isStrataError } from '../../errors.js';
import { listOrgLayers, listUsers } from '../../profile/index.js';
import { forgetSnapshots, type ForgetOptions, type ForgetReport } from '../../repo/forget.js';
import { forEachLimit } from '../../repo/pool.js';
import type { Repository } from '../../repo/index.js';
import { isRequestFailure } from '../../store/index.js';
import type { Context } from '../context.js';
import { printable } from '../format.js';
import { plural } from '../../../shared/status-text.js';

/** Layers forgotten at once, and each one's requests in flight: 4 × 4 at most. */
export const LAYERS_AT_ONCE = 4;
const PER_LAYER = 4;

/** What --all keeps of a layer done: its counts. */
export interface LayerCounts {
  layer: string;
  snapshots: number;
  forgotten: number;
  kept: number;
  protected: number;
  spared: number;
}

/** What --all keeps of a layer: its counts, or its error. */
type LayerResult = LayerCounts | { layer: string; error: { code: string; message: string; key: string | null } };

export function counts(r: ForgetReport): LayerCounts {
  return { layer: r.layer, snapshots: r.snapshots, forgotten: r.forgotten.length, kept: r.kept.length, protected: r.protected.length, spared: r.spared.length };
}

function failed(layer: string, err: unknown): LayerResult {
  const code = err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : 'E_PERMANENT';
  const key = isStrataError(err) ? (err.key ?? null) : null;
  return { layer, error: { code, message: err instanceof Error ? err.message : String(err), key } };
}

/** Every user layer (`user/<id>`) and org layer (`org/<name>`); bad names under either are warnings, as in admin users. */
async function allLayers(ctx: Context, repo: Repository): Promise<string[]> {
  const users = await listUsers(repo.store);
  const orgs = await listOrgLayers(repo.store);
  for (const err of [...users.errors, ...orgs.errors]) ctx.warn(err);
  return [...users.names.map((u) => `user/${u}`), ...orgs.names];
}

/** A layer's line, as both a one-layer forget and --all print it. */
export function layerLine(r: LayerCounts, dryRun: boolean): string {
  const verb = dryRun ? 'would forget' : 'forgot';
  return `${r.layer}: ${verb} ${plural(r.forgotten, 'snapshot')} of ${r.snapshots}; kept ${r.kept} by the policy, ${r.protected} needed by sync`;
}

/** The failed request that stopped the run: the layer it failed, its code, and the layers never started. */
interface Stopped {
  layer: string;
  code: string;
  notAttempted: number;
}

/** One layer's forget, its line printed (a failure's on stderr, as it happens: a nightly job's log shows where it stopped); `err` when it failed. */
async function forgetOne(ctx: Context, repo: Repository, layer: string, opts: Omit<ForgetOptions, 'concurrency'>): Promise<{ result: LayerResult; err?: unknown }> {
  try {
    const result = counts(await forgetSnapshots(repo, layer, { ...opts, concurrency: PER_LAYER }));
    if (!ctx.json) ctx.print(layerLine(result, opts.dryRun));
    return { result };
  } catch (err) {
    ctx.io.stderr.write(`strata: ${layer}: ${printable(describeError(err))}\n`);
    return { result: failed(layer, err), err };
  }
}

/** Forgets each layer, a few at once, until one fails with a request every layer would meet; `stopped` then says which. */
async function forgetEach(ctx: Context, repo: Repository, layers: readonly string[], opts: Omit<ForgetOptions, 'concurrency'>): Promise<{ results: LayerResult[]; stopped: Stopped | undefined }> {
  const results: LayerResult[] = [];
  let stopped: Omit<Stopped, 'notAttempted'> | undefined;
  await forEachLimit(layers, LAYERS_AT_ONCE, async (layer) => {
    const { result, err } = await forgetOne(ctx, repo, layer, opts);
    results.push(result);
    if (!isRequestFailure(err)) return;
    stopped ??= { layer, code: err.code };
    throw err; // no more layers start; those in flight finish
  }).catch((err: unknown) => {
    if (stopped === undefined) throw err;
  });
  return { results, stopped: stopped && { ...stopped, notAttempted: layers.length - results.length } };
}

/** Runs forget on every layer; the exit code: 1 when any layer failed. */
export async function forgetAll(ctx: Context, repo: Repository, opts: Omit<ForgetOptions, 'concurrency'>, grace: string): Promise<number> {
  const layers = await allLayers(ctx, repo);
  const { results, stopped } = await forgetEach(ctx, repo, layers, opts);
  results.sort((a, b) => (a.layer < b.layer ? -1 : 1));
  const done = results.filter((r): r is LayerCounts => 'forgotten' in r);
  const total = { layers: results.length, failed: results.length - done.length, notAttempted: stopped?.notAttempted ?? 0, snapshots: 0, forgotten: 0 };
  for (const r of done) {
    total.snapshots += r.snapshots;
    total.forgotten += r.forgotten;
  }
  if (stopped) {
    ctx.io.stderr.write(`strata: stopped: ${stopped.layer} failed with ${stopped.code}, a failed request every layer would meet (fix it and run again); ${stopped.notAttempted} of ${plural(layers.length, 'layer')} not attempted\n`);
  }
  if (ctx.json) {
    ctx.printJson({ dryRun: opts.dryRun, graceMs: opts.graceMs, layers: results, total, stopped: stopped ? { layer: stopped.layer, code: stopped.code } : null });
  } else {
    const verb = opts.dryRun ? 'would forget' : 'forgot';
    const fails = total.failed > 0 ? `; ${total.failed} failed (each named on stderr)` : '';
    const left = stopped ? `; ${stopped.notAttempted} not attempted` : '';
    ctx.print(`total: ${verb} ${plural(total.forgotten, 'snapshot')} of ${total.snapshots} in ${plural(total.layers, 'layer')} (grace ${grace})${fails}${left}`);
  }
  return total.failed > 0 ? 1 : 0;
}
