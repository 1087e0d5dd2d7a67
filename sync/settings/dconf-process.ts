/**
 * The dconf processes: one command run to its end (its output and its time bounded, a profile
 * dconf cannot open failed rather than read as empty), and the long-running `dconf watch` of a dir,
 * started again when it ends. Arguments go as argv, never through a shell.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { StrataError } from '../errors.js';

/** How long one dconf command may take: it talks to a local service. */
const TIMEOUT_MS = 30_000;
const MAX_OUTPUT = 64 * 1024 * 1024;
/** A `dconf watch` that ended is started again after this, doubled while it keeps ending within WATCH_STEADY_MS, up to the max. */
const WATCH_RESTART_MS = 1_000;
const WATCH_STEADY_MS = 60_000;
const WATCH_RESTART_MAX_MS = 5 * 60_000;
/** What dconf says where it cannot open the profile it is given (and goes on with no database: see noProfile). */
const NULL_PROFILE = 'using the null configuration';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * dconf reads through a profile it cannot open as an empty database (a warning, exit code 0):
 * taken at its word, every key would look reset on this machine, and the resets would go to the
 * layer. So it fails.
 */
function noProfile(args: readonly string[], extraEnv: NodeJS.ProcessEnv | undefined, env: NodeJS.ProcessEnv | undefined): StrataError {
  const profile = extraEnv?.DCONF_PROFILE ?? (env ?? process.env).DCONF_PROFILE ?? 'user';
  return new StrataError('E_SETTINGS', `dconf ${args[0] ?? ''} cannot open its profile ${profile}: it would see no settings at all`);
}

/** Runs `command` (dconf) with `args`, `input` on its stdin, in `env` (default this process's) with `extraEnv` over it. */
export function runDconf(command: string, env: NodeJS.ProcessEnv | undefined, args: string[], input?: string, extraEnv?: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...(env ?? process.env), ...extraEnv }, stdio: ['pipe', 'pipe', 'pipe'], timeout: TIMEOUT_MS });
    let stdout = '';
    let stderr = '';
    let size = 0;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      size += d.length;
      if (size > MAX_OUTPUT) child.kill();
      else stdout += d;
    });
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 64 * 1024) stderr += d;
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') reject(new StrataError('E_SETTINGS', `${command} is not installed: settings cannot be synced (Debian, Ubuntu: apt install dconf-cli)`));
      else reject(new StrataError('E_SETTINGS', `${command} ${args[0] ?? ''} could not run: ${err.message}`));
    });
    // A write to a dconf that exited early (EPIPE) shows in its exit code and stderr.
    child.stdin.on('error', () => undefined);
    child.on('close', (code, signal) => {
      if (size > MAX_OUTPUT) reject(new StrataError('E_SETTINGS', `${command} ${args.join(' ')} printed more than ${MAX_OUTPUT} bytes`));
      else if (stderr.includes(NULL_PROFILE)) reject(noProfile(args, extraEnv, env));
      else resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr: signal ? `${stderr}(stopped by ${signal})` : stderr });
    });
    child.stdin.end(input ?? '');
  });
}

/**
 * `dconf watch <dir>`, a child that prints each change the dconf service signals. A child that
 * ends is started again, after a wait that grows while it keeps ending at once; a dconf that
 * cannot be started at all (not installed) is not watched: its changes wait for the next poll.
 */
export function watchDconf(command: string, env: NodeJS.ProcessEnv | undefined, dir: string, changed: () => void): () => Promise<void> {
  let child: ChildProcess | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let wait = WATCH_RESTART_MS;
  const start = (): void => {
    timer = undefined;
    if (stopped) return;
    const started = Date.now();
    const c = spawn(command, ['watch', dir], { env: env ?? process.env, stdio: ['ignore', 'pipe', 'ignore'] });
    child = c;
    c.stdout.on('data', () => {
      if (!stopped) changed();
    });
    let missing = false;
    c.on('error', (err: NodeJS.ErrnoException) => {
      missing = err.code === 'ENOENT';
    });
    c.on('close', () => {
      if (child === c) child = undefined;
      if (stopped || missing) return;
      wait = Date.now() - started > WATCH_STEADY_MS ? WATCH_RESTART_MS : Math.min(wait * 2, WATCH_RESTART_MAX_MS);
      timer = setTimeout(start, wait);
      timer.unref();
    });
  };
  start();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    const c = child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const closed = new Promise((resolve) => c.once('close', resolve));
    c.kill();
    await closed;
  };
}
