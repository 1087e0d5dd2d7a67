/**
 * One running `strata sync` for the live-sync bench: `node dist/bundle/strata.js sync <dir>
 * --json …` as a child process, with its in-sync lines (`{"event":"in-sync",…}`, one per pass
 * that ends in sync) timestamped as they arrive.
 *
 * Must hold:
 * - each agent leads its own process group, and every agent this module started and that is
 *   still running is ended by `killAgents()` (the bench's cleanup calls it on every exit path);
 * - a wait for an in-sync line fails with the agent's stderr when the agent exits or the wait
 *   times out, never hangs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { StrataError } from '../errors.js';

export interface InSyncEvent {
  time: string;
  files: number;
  conflicts: number;
}

/** An in-sync event from one line of `strata sync --json` stdout; undefined for any other line. */
export function parseInSyncLine(line: string): InSyncEvent | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  const e = v as { event?: unknown; time?: unknown; files?: unknown; conflicts?: unknown } | null;
  if (e === null || typeof e !== 'object' || e.event !== 'in-sync') return undefined;
  if (typeof e.time !== 'string' || typeof e.files !== 'number' || typeof e.conflicts !== 'number') return undefined;
  return { time: e.time, files: e.files, conflicts: e.conflicts };
}

export interface AgentSpec {
  cli: string;
  dir: string;
  stateDir: string;
  layer: string;
  store: string;
  device: string;
  pollSeconds?: number;
  env: NodeJS.ProcessEnv;
}

const started = new Set<LiveAgent>();

/** Ends every agent this module started that is still running (SIGKILL: cleanup, not a measurement). */
export function killAgents(): void {
  for (const a of started) a.kill('SIGKILL');
}

export class LiveAgent {
  /** performance.now() at spawn, in ms. */
  readonly spawnedAt = performance.now();
  /** Every in-sync line so far, with performance.now() at arrival. */
  readonly events: Array<InSyncEvent & { at: number }> = [];
  private readonly child: ChildProcess;
  private stderr = '';
  private exit: string | undefined;
  private readonly exited: Promise<void>;
  private notify: (() => void) | undefined;

  constructor(readonly spec: AgentSpec) {
    const args = [spec.cli, 'sync', spec.dir, '--layer', spec.layer, '--store', spec.store, '--device', spec.device, '--state-dir', spec.stateDir, '--json'];
    if (spec.pollSeconds !== undefined) args.push('--poll', String(spec.pollSeconds));
    this.child = spawn(process.execPath, args, { env: spec.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    started.add(this);
    let partial = '';
    this.child.stdout?.on('data', (b: Buffer) => {
      const lines = (partial + b.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const e = parseInSyncLine(line);
        if (e) this.events.push({ ...e, at: performance.now() });
      }
      if (lines.length > 0) this.notify?.();
    });
    this.child.stderr?.on('data', (b: Buffer) => {
      this.stderr = (this.stderr + b.toString()).slice(-4000);
    });
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        this.exit = signal ? `was killed by ${signal}` : `exited with ${code}`;
        started.delete(this);
        this.notify?.();
        resolve();
      });
      this.child.on('error', (err) => {
        this.exit = `could not start: ${err.message}`;
        started.delete(this);
        this.notify?.();
        resolve();
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new StrataError('E_BENCH_SPAWN', `strata sync ${this.spec.dir} has no pid: ${this.exit ?? 'not started'}`);
    return this.child.pid;
  }

  /** The first in-sync event that arrived after `afterMs` (a performance.now() reading). */
  async inSyncAfter(afterMs: number, timeoutSeconds: number): Promise<InSyncEvent & { at: number }> {
    const deadline = performance.now() + timeoutSeconds * 1000;
    for (;;) {
      const e = this.events.find((x) => x.at > afterMs);
      if (e) return e;
      if (this.exit !== undefined) throw this.failure(`${this.exit} before it was in sync`);
      const left = deadline - performance.now();
      if (left <= 0) throw this.failure(`was not in sync within ${timeoutSeconds} s`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.notify = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.notify = undefined;
    }
  }

  /** SIGTERM and wait for the exit (the agent closes its watcher and journals); SIGKILL after `graceSeconds`. */
  async stop(graceSeconds = 60): Promise<string> {
    if (this.exit === undefined) {
      this.kill('SIGTERM');
      const timer = setTimeout(() => this.kill('SIGKILL'), graceSeconds * 1000);
      await this.exited;
      clearTimeout(timer);
    }
    return this.exit ?? 'exited';
  }

  kill(signal: NodeJS.Signals): void {
    if (this.exit !== undefined || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // Already gone.
    }
  }

  private failure(what: string): StrataError {
    const tail = this.stderr.trimEnd().split('\n').slice(-10).join('\n');
    return new StrataError('E_BENCH_TOOL', `strata sync ${this.spec.dir} (device ${this.spec.device}) ${what}${tail ? `\n${tail}` : ''}`);
  }
}
