/**
 * Batches of writes. Bringing in a peer's new files is mostly writes of small files, and each one
 * alone costs an fsync of its journal intent and one of its temp, in a row, plus a dozen file
 * system calls waited for one by one: a few hundred files a second, or far fewer on a busy
 * machine. A batch of consecutive writes costs one journal fsync; its temps are filled side by
 * side (the fetches still in plan order: the fetcher reads ahead in that order), fsynced side by
 * side (the file system commits them together), then each target is re-checked and its temp
 * renamed over it, in plan order, with synchronous calls (act.ts commitWrite): a few local calls
 * each, where a round trip through the thread pool per call took a third of the apply time.
 * Filling a temp likewise waits on the pool only for its open, the fetch's writes, the fsync and
 * the close; the target's check, the fstat, futimes and (where the umask took bits from the mode
 * it was created with) fchmod are synchronous: 4 round trips a file instead of 11.
 *
 * The temps keep one fsync each. fdatasync measured no cheaper here (a new file's size and blocks
 * must be committed either way) and would leave its mode and mtime undurable; one syncfs for the
 * batch is cheaper alone but waits for every other program's unsynced writes on the file system
 * too (64 temps: 16 ms of fsyncs, 205 ms of syncfs beside 256 MiB another program wrote).
 *
 * Must hold, as for ops run one by one (index.ts): an intent is durable before its op touches the
 * disk; a temp is fsynced before its rename; a target is re-checked right before its rename; the
 * results are in plan order and the run stops at the first `changed` one. A write that fails while
 * its temp is filled ends the batch there, after the writes before it are applied; temps of writes
 * not applied are removed. Journaling a batch ahead is sound only because no write of it changes
 * what another one expects: a plan names a path once, and a write creates no dir.
 *
 * Before anything is destroyed the dir entries created so far are durable (index.ts): the batch
 * flushes them before its first replace only. The entries its own renames make after that need
 * not be durable before a later replace of the batch: they hold bytes the store has, where no
 * other op of the plan put them, so a power cut that loses one loses nothing the next run does
 * not fetch again (recover reports that write as old). One by one, every replace cost the fsync
 * of the dir the write before it had renamed into.
 */
import type { FileHandle } from 'node:fs/promises';
import type { ApplyOp } from '../plan/index.js';
import { forEachLimit } from '../repo/pool.js';
import { commitWrite, discardTemp, fillWrite, sealTemp } from './act.js';
import type { ExecContext } from './context.js';
import type { Intent, Journal } from './journal.js';
import { attempt, changedOrThrow, execFailed, type OpResult, type Report } from './outcome.js';

/** Bounded in files (open handles) and bytes (temps on disk before the first rename). */
const BATCH_FILES = 64;
const BATCH_BYTES = 16 << 20;
/** Temps filled at once: enough to keep the thread pool busy. */
const FILL_CONCURRENCY = 8;

export interface WriteIntent extends Intent {
  tmp: string;
  op: Extract<ApplyOp, { op: 'write' }>;
}

/** The end (exclusive) of the batch of consecutive writes starting at `from` (`from` itself: none). */
export function writeBatchEnd(ops: readonly ApplyOp[], from: number): number {
  let end = from;
  let bytes = 0;
  for (; end < ops.length && end - from < BATCH_FILES; end++) {
    const op = ops[end] as ApplyOp;
    if (op.op !== 'write' || (end > from && bytes + op.node.size > BATCH_BYTES)) break;
    bytes += op.node.size;
  }
  return end;
}

/** Lets step k run only once steps 0..k-1 have run (or will not). */
class Turns {
  private readonly gates: Array<Promise<void>>;
  private readonly opens: Array<() => void> = [];

  constructor(n: number) {
    this.gates = Array.from({ length: n }, (_, k) => (k === 0 ? Promise.resolve() : new Promise<void>((resolve) => (this.opens[k] = resolve))));
  }

  async run(k: number, step: () => Promise<void>): Promise<void> {
    await this.gates[k];
    try {
      await step();
    } finally {
      this.pass(k);
    }
  }

  /**
   * Step k is done, or will not run: k + 1's turn comes once k's has (a step that fails before its
   * turn must not let the next one run beside the step still in its turn before it).
   */
  pass(k: number): void {
    void this.gates[k]?.then(() => this.opens[k + 1]?.());
  }
}

type Stop = { result: OpResult } | { err: unknown };

/** Fills the batch's temps side by side; the filled ones before the first failure, and that failure. */
async function fill(ctx: ExecContext, batch: readonly WriteIntent[], signal: AbortSignal | undefined): Promise<{ filled: FileHandle[]; stop?: Stop }> {
  const handles: Array<FileHandle | undefined> = [];
  const turns = new Turns(batch.length);
  let first: { k: number; stop: Stop } | undefined;
  await forEachLimit(batch, FILL_CONCURRENCY, async (entry, k) => {
    try {
      if ((first !== undefined && first.k < k) || signal?.aborted) return;
      handles[k] = await fillWrite(ctx, entry.op, entry.tmp, (fetch) => turns.run(k, fetch));
    } catch (err) {
      let stop: Stop;
      try {
        stop = { result: changedOrThrow(entry.op, entry.i, err) };
      } catch (thrown) {
        stop = { err: thrown };
      }
      if (first === undefined || k < first.k) first = { k, stop };
    } finally {
      turns.pass(k);
    }
  });
  let n = 0;
  while (handles[n] !== undefined) n++;
  // Filled after a failure (or an abort) in plan order: not to be applied.
  for (let k = n; k < batch.length; k++) {
    const fh = handles[k];
    if (fh === undefined) continue;
    await fh.close().catch(() => undefined);
    await discardTemp(ctx, batch[k]!.tmp);
  }
  const filled = handles.slice(0, n) as FileHandle[];
  return first !== undefined && first.k === n ? { filled, stop: first.stop } : { filled };
}

/** Applies a batch of writes (writeBatchEnd): whether the run goes on, or stopped at a result or at the signal. */
export async function applyWrites(ctx: ExecContext, journal: Journal, batch: readonly WriteIntent[], signal: AbortSignal | undefined, report: Report): Promise<'next' | 'stop' | 'aborted'> {
  await journal.intents(batch);
  const { filled, stop } = await fill(ctx, batch, signal);
  const done: OpResult[] = [];
  // The first filled temp whose commit has not begun: it and those after it are removed on the way out.
  let pending = 0;
  try {
    const sealed = await Promise.allSettled(filled.map((fh, k) => sealTemp(fh, ctx.abs(batch[k]!.tmp))));
    const failed = sealed.findIndex((r) => r.status === 'rejected');
    if (failed >= 0) {
      throw execFailed(batch[failed]!.op, (sealed[failed] as PromiseRejectedResult).reason);
    }
    let flushed = false;
    for (const entry of batch.slice(0, filled.length)) {
      if (signal?.aborted) return 'aborted';
      pending++;
      const flush: boolean = !flushed && entry.op.expect !== null;
      flushed ||= flush;
      const result = await attempt(ctx, entry.op, entry.i, () => commitWrite(ctx, entry.op, entry.tmp, flush));
      done.push(result);
      if (report(result)) return 'stop';
    }
  } finally {
    for (const entry of batch.slice(pending, filled.length)) await discardTemp(ctx, entry.tmp);
    // Not fsynced (journal.ts): an op without its line is re-checked on the disk by recover.
    await journal.done(...done);
  }
  if (signal?.aborted && filled.length < batch.length) return 'aborted';
  if (stop === undefined) return 'next';
  if ('err' in stop) throw stop.err;
  await journal.done(stop.result);
  return report(stop.result) ? 'stop' : 'next';
}
