/**
 * A child process that runs seeds for sim.test.ts: the parent sends `{ seed }`, the child answers
 * with a SeedReport. Seeds run in child processes so that two run at once on two cores, and so
 * that an unhandled rejection from the agent (which would kill a real agent process) is caught
 * here and charged to the seed that caused it, instead of failing the test runner.
 *
 * `--broken-merge` loads the agent with a merge that drops every conflict's losing version
 * (broken-merge.ts), to show that the checks catch it.
 */
import { register } from 'node:module';
import type { SeedReport, WorkerOptions } from './report.js';

const opts = JSON.parse(process.argv[2] ?? '{}') as WorkerOptions;
if (opts.brokenMerge) register('./broken-hooks.ts', import.meta.url);
const { runSeed } = await import('./run.js');
const { SimFailure } = await import('./world.js');

let unhandled: string[] = [];
process.on('unhandledRejection', (reason) => {
  unhandled.push(reason instanceof Error ? (reason.stack ?? reason.message) : String(reason));
});

async function one(seed: number): Promise<SeedReport> {
  unhandled = [];
  try {
    const stats = await runSeed(seed, { steps: opts.steps, base: opts.base, keep: opts.keep, verbose: opts.verbose, ...(opts.where && { where: opts.where }) });
    // Rejections surface a turn or two after the promise that dropped them.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    if (unhandled.length > 0) return { seed, ok: false, kind: 'unhandled', message: `unhandled rejection: ${unhandled[0]}`, flags: stats.flags, trace: stats.trace };
    return { seed, ok: true, stats };
  } catch (err) {
    if (!(err instanceof SimFailure)) throw err;
    const kind = unhandled.length > 0 ? 'unhandled' : err.kind;
    const message = unhandled.length > 0 ? `unhandled rejection: ${unhandled[0]}\n(then: ${err.message})` : err.message;
    return { seed, ok: false, kind, message, flags: err.flags, trace: err.trace };
  }
}

process.on('message', (m: { seed?: number }) => {
  if (m.seed === undefined) {
    process.disconnect();
    return;
  }
  void one(m.seed).then((r) => process.send!(r));
});
process.send!({ ready: true });
