/**
 * Runs the sign-in child (signin-child.ts) and times it from the outside, as restic and rclone are
 * timed: proc.ts `run` (same process-group tracking, timeout, Ctrl-C and cleanup), wall clock from
 * spawn to the arrival of its `ready` line (time to ready) and to its exit (total). The child's own
 * lines say where the time went (signin-report.ts shows them).
 */
import { StrataError } from '../errors.js';
import { run } from './proc.js';

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
export async function runSignInChild(entry: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutSeconds = 3600): Promise<ChildRun> {
  const lines: ChildLine[] = [];
  const onLine = (text: string, at: number): void => {
    const line = parseChildLine(text, at);
    if (line) lines.push(line);
  };
  const { seconds } = await run(process.execPath, [entry, ...args], { env, timeoutSeconds, onLine });
  const ready = lines.find((l) => l.type === 'ready');
  if (!ready) throw new StrataError('E_BENCH_TOOL', `sign-in child printed no ready line (${entry})`);
  return { readySeconds: ready.at, seconds, lines };
}
