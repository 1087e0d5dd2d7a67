/**
 * Runs seeds in child processes (worker.ts), a few at once, handing out one seed at a time so a
 * slow seed never holds up the others. A child that dies or hangs costs only its current seed,
 * which is reported as an error, and a fresh child takes over.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { SeedReport, WorkerOptions } from './report.js';

const WORKER = new URL('./worker.ts', import.meta.url);

export interface PoolOptions extends WorkerOptions {
  workers: number;
  /** A seed that takes longer than this is reported as hung and its child killed. */
  seedTimeoutMs: number;
  onReport?: (r: SeedReport) => void;
}

export function runSeeds(seeds: readonly number[], opts: PoolOptions): Promise<SeedReport[]> {
  const { workers, seedTimeoutMs, onReport, ...workerOpts } = opts;
  const queue = [...seeds];
  const reports: SeedReport[] = [];
  let live = 0;
  return new Promise((resolve) => {
    const finish = (r: SeedReport): void => {
      reports.push(r);
      onReport?.(r);
    };
    const spawn = (): void => {
      if (queue.length === 0) {
        if (live === 0) resolve(reports.sort((a, b) => a.seed - b.seed));
        return;
      }
      live++;
      const child: ChildProcess = fork(WORKER, [JSON.stringify(workerOpts)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      let current: number | undefined;
      let timer: NodeJS.Timeout | undefined;
      const next = (): void => {
        current = queue.shift();
        if (current === undefined) {
          child.send({});
          return;
        }
        const seed = current;
        timer = setTimeout(() => {
          finish({ seed, ok: false, kind: 'error', message: `seed ${seed}: hung for ${seedTimeoutMs} ms`, flags: [], trace: [] });
          current = undefined;
          child.kill('SIGKILL');
        }, seedTimeoutMs);
        child.send({ seed });
      };
      child.on('message', (m: SeedReport | { ready: true }) => {
        if ('seed' in m) {
          clearTimeout(timer);
          current = undefined;
          finish(m);
        }
        next();
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        live--;
        if (current !== undefined) finish({ seed: current, ok: false, kind: 'error', message: `seed ${current}: the worker died (${signal ?? code})`, flags: [], trace: [] });
        spawn();
      });
    };
    for (let i = 0; i < Math.max(1, Math.min(workers, seeds.length)); i++) spawn();
  });
}
