/**
 * executePlan: carries out planApply's ops in order on a real directory, journaled.
 *
 * It stops at the first op whose target (or source) is not in the expected state: that op and
 * the rest are not applied, and the result names the path, so the engine rescans and re-plans
 * (a change made since the scan becomes a conflict, never a loss). Later ops may depend on the
 * skipped one (a rescued file about to be deleted), which is why it does not go on.
 */
import { stat } from 'node:fs/promises';
import { StrataError } from '../errors.js';
import type { ApplyOp } from '../plan/index.js';
import { parentOf, joinPath } from '../plan/nodes.js';
import { isErrno, tempName } from '../fsutil.js';
import { absPath } from './check.js';
import { copy, discardTemp, makeDir, makeSymlink, move, remove, setMeta } from './act.js';
import { attempt, type OpResult, type Report } from './outcome.js';
import { applyWrites, writeBatchEnd, type WriteIntent } from './writes.js';
import { ExecContext, type FetchFn, type ScannedCtime, type Seed, type SuppressFn } from './context.js';
import { Journal, type RunLabel } from './journal.js';

export interface ExecuteOptions {
  fetch: FetchFn;
  /** The journal file, outside the root (e.g. in the state dir); recover() it before each run. */
  journalPath: string;
  /** Called after each op with its result, `changed` included (progress, logs). */
  onApplied?: (result: OpResult) => void;
  /** Checked between ops; an aborted run stops cleanly with `aborted: true`. */
  signal?: AbortSignal;
  /** Told every path this run created, replaced or removed, with its final stat (watcher echo). */
  suppress?: SuppressFn;
  /** The ctime the scan saw at `rel`, where it holds `expect`: the check of a file compares it too (ScannedCtime). */
  scannedCtime?: ScannedCtime;
  /** The caller's label of this run, journaled before its first op; recover() hands it back with the ops the run applied. */
  run?: RunLabel;
  /**
   * The journal is not truncated when the run stops: the caller clears it (clearJournal) once it
   * has kept what it needs of the run, so that a crash before then leaves it to recover().
   */
  keepJournal?: boolean;
  /**
   * Temps a killed run left (recover()'s seeds): the write of each one's path takes chunks from it.
   * All are removed by the end of the run, used or not.
   */
  seeds?: readonly Seed[];
}

export type { OpResult } from './outcome.js';

export interface ExecuteResult {
  /** One per op attempted, in order; only the last can be `changed`. */
  results: OpResult[];
  /** Every op applied: the disk now is the merged tree (as far as the plan's expectations held). */
  complete: boolean;
  aborted: boolean;
}

function tempFor(op: ApplyOp): string | undefined {
  if (op.op !== 'write' && op.op !== 'copy' && op.op !== 'symlink') return undefined;
  return joinPath(parentOf(op.path), tempName());
}

async function runOp(ctx: ExecContext, journal: Journal, index: number, op: ApplyOp, tmp: string | undefined): Promise<void> {
  switch (op.op) {
    case 'mkdir':
      return makeDir(ctx, op);
    case 'write':
      // Writes run in batches (applyWrites).
      throw new StrataError('E_INTERNAL', 'a write outside a batch');
    case 'copy':
      return copy(ctx, op, tmp as string);
    case 'move':
      return move(ctx, op, (st) => journal.moved(index, st));
    case 'symlink':
      return makeSymlink(ctx, op, tmp as string);
    case 'setmeta':
      return setMeta(ctx, op);
    case 'delete':
      return remove(ctx, op);
    default:
      throw new StrataError('E_EXEC_UNKNOWN_OP', `unknown op ${JSON.stringify((op as { op: unknown }).op)}`);
  }
}

async function checkRoot(root: string): Promise<void> {
  const st = await stat(root).catch((err: unknown) => {
    if (isErrno(err, 'ENOENT', 'ENOTDIR')) return undefined;
    throw err;
  });
  if (!st?.isDirectory()) throw new StrataError('E_EXEC_NO_ROOT', 'the sync root is missing or not a folder', { path: root });
}

export async function executePlan(root: string, ops: readonly ApplyOp[], options: ExecuteOptions): Promise<ExecuteResult> {
  await checkRoot(root);
  // A bad path refuses the whole plan before anything is journaled or touched.
  for (const op of ops) {
    absPath(root, op.path);
    if (op.op === 'copy' || op.op === 'move') absPath(root, op.from);
  }
  const journal = await Journal.open(options.journalPath, options.run);
  const ctx = new ExecContext(root, options.fetch, options.suppress, options.scannedCtime);
  for (const s of options.seeds ?? []) ctx.seeds.set(s.path, s);
  const results: OpResult[] = [];
  const report: Report = (result) => {
    results.push(result);
    options.onApplied?.(result);
    return result.status === 'changed';
  };
  let aborted = false;
  try {
    for (let index = 0; index < ops.length; ) {
      if (options.signal?.aborted) {
        aborted = true;
        break;
      }
      const end = writeBatchEnd(ops, index);
      if (end > index) {
        const batch = ops.slice(index, end).map((op, k) => ({ i: index + k, tmp: tempFor(op) as string, op }) as WriteIntent);
        const next = await applyWrites(ctx, journal, batch, options.signal, report);
        aborted = next === 'aborted';
        if (next !== 'next') break;
        index = end;
        continue;
      }
      const op = ops[index] as ApplyOp;
      const tmp = tempFor(op);
      await journal.intents([tmp === undefined ? { i: index, op } : { i: index, tmp, op }]);
      const result = await attempt(ctx, op, index, () => runOp(ctx, journal, index, op, tmp));
      await journal.done(result);
      if (report(result)) break;
      index++;
    }
    await ctx.finish();
  } catch (err) {
    await journal.close();
    throw err;
  } finally {
    // Kept for this run only: a seed no write of it took is a leftover no one will use.
    for (const s of ctx.seeds.values()) await discardTemp(ctx, s.tmp).catch(() => undefined);
  }
  if (options.keepJournal === true) await journal.close();
  else await journal.finish();
  const complete = results.length === ops.length && results.every((r) => r.status === 'applied');
  return { results, complete, aborted };
}
