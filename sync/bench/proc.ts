/**
 * Child processes for the benchmark: every tool (Strata included) runs as a process, timed by
 * wall clock from spawn to exit, so start-up costs count the same for all.
 *
 * Each child leads its own process group (restic starts `rclone serve restic` below it); on
 * Ctrl-C or an error `killAll` ends exactly those groups and nothing else.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { StrataError } from '../errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  seconds: number;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Seconds before the child is killed; default one hour. */
  timeoutSeconds?: number;
  /** A cleanup step (stopping the server, removing buckets): it runs even after Ctrl-C. */
  cleanup?: boolean;
  /** Called with each stdout line as it arrives, and the seconds since spawn. */
  onLine?: (line: string, seconds: number) => void;
}

const running = new Set<number>();
let aborted = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** Ends every process group this module started and that is still running. */
export function killAll(signal: NodeJS.Signals = 'SIGTERM'): void {
  for (const pid of running) killGroup(pid, signal);
}

/**
 * Ctrl-C: from now on every run (the ones killed here and any started later) fails with
 * E_BENCH_ABORTED, so the scenario stops instead of recording the kills as tool failures.
 */
export function abortAll(): void {
  aborted = true;
  killAll();
}

export function isAborted(): boolean {
  return aborted;
}

function abortedError(cmd: string): StrataError {
  return new StrataError('E_BENCH_ABORTED', `interrupted while running ${cmd}`);
}

function tail(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Runs `cmd args…`; resolves with its output and duration, rejects on a non-zero exit. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  if (aborted && !opts.cleanup) return Promise.reject(abortedError(cmd));
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const pid = child.pid;
    if (pid !== undefined) running.add(pid);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    const onLine = opts.onLine;
    if (onLine) createInterface({ input: child.stdout }).on('line', (line) => onLine(line, Number(process.hrtime.bigint() - started) / 1e9));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => pid !== undefined && killGroup(pid, 'SIGKILL'), (opts.timeoutSeconds ?? 3600) * 1000);
    child.on('error', (e) => {
      clearTimeout(timer);
      if (pid !== undefined) running.delete(pid);
      reject(new StrataError('E_BENCH_SPAWN', `cannot run ${cmd}: ${e.message}`, {}, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (pid !== undefined) running.delete(pid);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(err).toString();
      if (aborted && !opts.cleanup) return reject(abortedError(cmd));
      if (code === 0) return resolve({ stdout, stderr, seconds });
      const why = signal ? `was killed by ${signal}` : `exited with ${code}`;
      reject(new StrataError('E_BENCH_TOOL', `${cmd} ${args.join(' ')} ${why}\n${tail(stderr || stdout)}`));
    });
  });
}

/** True when `cmd` can be found on PATH. */
export async function haveCommand(cmd: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${cmd}`]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Flushes dirty pages and drops the page cache, so a phase reads from disk as a fresh machine
 * would. Possible only as root on a writable /proc; returns false when it is not.
 */
export async function dropCaches(): Promise<boolean> {
  try {
    await run('sync', []);
    await writeFile('/proc/sys/vm/drop_caches', '3\n');
    return true;
  } catch {
    return false;
  }
}
