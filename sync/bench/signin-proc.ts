/**
 * Runs the sign-in child (signin-child.ts) and times it from the outside, as proc.ts times restic
 * and rclone: wall clock from spawn, to the arrival of its `ready` line (time to ready) and to its
 * exit (total). The child's own lines say where the time went (signin-report.ts shows them).
 *
 * The child leads its own process group; `killSignInChildren` ends exactly the ones still running
 * (the bench's cleanup calls it on every exit path), nothing else. After proc.ts's abortAll (Ctrl-C)
 * no child starts and a killed one fails with E_BENCH_ABORTED, as proc.ts's runs do.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { StrataError } from '../errors.js';
import { isAborted } from './proc.js';

/** One JSON line of the child, with `at`: harness seconds since spawn when it arrived. */
export interface ChildLine {
  type: string;
  /** performance.now() in the child: ms since the child process started. */
  ms: number;
  at: number;
  [field: string]: unknown;
}

export interface ChildRun {
  /** Harness seconds from spawn to the `ready` line. */
  readySeconds: number;
  /** Harness seconds from spawn to exit. */
  seconds: number;
  lines: ChildLine[];
}

const running = new Set<number>();

/** Ends every sign-in child still running (SIGKILL: cleanup, not a measurement). */
export function killSignInChildren(): void {
  for (const pid of running) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** A stdout line of the child, or undefined for anything that is not one of its JSON objects. */
export function parseChildLine(text: string, at: number): ChildLine | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const v = JSON.parse(text) as Partial<ChildLine>;
    if (typeof v.type !== 'string' || typeof v.ms !== 'number') return undefined;
    return { ...v, at } as ChildLine;
  } catch {
    return undefined;
  }
}

/** Runs `node <entry> args…`; rejects on a non-zero exit or when no `ready` line came. */
export function runSignInChild(entry: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutSeconds = 3600): Promise<ChildRun> {
  const aborted = (): StrataError => new StrataError('E_BENCH_ABORTED', 'interrupted while signing in');
  if (isAborted()) return Promise.reject(aborted());
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const since = (): number => Number(process.hrtime.bigint() - started) / 1e9;
    const child = spawn(process.execPath, [entry, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const pid = child.pid;
    if (pid !== undefined) running.add(pid);
    const lines: ChildLine[] = [];
    const stderr: Buffer[] = [];
    createInterface({ input: child.stdout }).on('line', (text) => {
      const line = parseChildLine(text, since());
      if (line) lines.push(line);
    });
    child.stderr.on('data', (b: Buffer) => stderr.push(b));
    const timer = setTimeout(() => pid !== undefined && process.kill(-pid, 'SIGKILL'), timeoutSeconds * 1000);
    child.on('error', (e) => {
      clearTimeout(timer);
      if (pid !== undefined) running.delete(pid);
      reject(new StrataError('E_BENCH_SPAWN', `cannot run ${entry}: ${e.message}`, {}, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (pid !== undefined) running.delete(pid);
      const seconds = since();
      if (isAborted()) return reject(aborted());
      const why = signal ? `was killed by ${signal}` : `exited with ${code}`;
      const tail = Buffer.concat(stderr).toString().trimEnd().split('\n').slice(-15).join('\n');
      if (code !== 0) return reject(new StrataError('E_BENCH_TOOL', `sign-in child ${why}\n${tail}`));
      const ready = lines.find((l) => l.type === 'ready');
      if (!ready) return reject(new StrataError('E_BENCH_TOOL', `sign-in child printed no ready line\n${tail}`));
      resolve({ readySeconds: ready.at, seconds, lines });
    });
  });
}
