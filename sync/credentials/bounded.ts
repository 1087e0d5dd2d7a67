/**
 * Every keychain operation, time-limited: each runs whole (its searches, retries and any unlock
 * prompt) in a child process (keychain-child.ts), which is killed once an operation has taken
 * KEYCHAIN_MS. In this process a call into the library that never returns (a locked Secret Service
 * waiting on an unlock prompt nobody answers, a wedged daemon) would block the caller for good, and
 * the process could never exit: the library runs the call on a libuv worker thread, which exit
 * waits for. Only a process can be given up on.
 *
 * Must hold: the secret travels through the pipes only (never argv or the environment); operations
 * run one at a time; an idle child never keeps this process alive (its handles are unref'd; it
 * ends when its stdin does, after IDLE_MS or at this process's exit, or when this process is gone,
 * killed by SIGKILL too); the child is not in the terminal's process group (POSIX): Ctrl-C or a
 * hang-up reaches this process alone, whose cleanup may still need the keychain (a failed
 * sign-in's credentials deleted).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { StrataError, type ErrorCode } from '../errors.js';
import { noKeychain } from './keychain.js';
import { describeEntry, entryName, type Principal, type S3Credentials } from './secrets.js';

export type KeychainRequest =
  | { op: 'check' }
  | { op: 'save'; org: string; who: Principal; creds: S3Credentials }
  | { op: 'load' | 'delete'; org: string; who: Principal };

export type KeychainReply = { value: unknown } | { error: { code: string; message: string } };

/**
 * How long one operation may take: long enough for a person to answer an unlock prompt, short
 * enough that a keychain that will never answer is said to be so.
 */
const KEYCHAIN_MS = 120_000;
let limitMs = KEYCHAIN_MS;

/** Tests: the limit of each operation (default KEYCHAIN_MS). */
export function setKeychainLimit(ms = KEYCHAIN_MS): void {
  limitMs = ms;
}

/** Proves the keychain works (keychain.ts checkKeychain). */
export async function checkKeychain(): Promise<void> {
  await bounded({ op: 'check' }, 'checking that it can store an entry');
}

/** Stores (or replaces) the credentials of `who` in `org`, in the OS keychain and nowhere else. */
export async function saveCredentials(org: string, who: Principal, creds: S3Credentials): Promise<void> {
  await bounded({ op: 'save', org, who, creds }, `saving the ${describeEntry(entryName(org, who))}`);
}

/** The credentials of `who` in `org`. Throws E_NO_CREDENTIALS when there are none. */
export async function loadCredentials(org: string, who: Principal): Promise<S3Credentials> {
  return (await bounded({ op: 'load', org, who }, `reading the ${describeEntry(entryName(org, who))}`)) as S3Credentials;
}

/** Removes the credentials of `who` in `org`; false when there were none. */
export async function deleteCredentials(org: string, who: Principal): Promise<boolean> {
  return (await bounded({ op: 'delete', org, who }, `removing the ${describeEntry(entryName(org, who))}`)) === true;
}

interface Keeper {
  child: ChildProcess;
  /** Reply lines not taken yet, and the taker of the next one. */
  lines: string[];
  take: ((line: string | undefined) => void) | undefined;
  idle: NodeJS.Timeout | undefined;
  /** Why it could not be started (spawn's error), if so. */
  startError?: string;
}

/** How long an idle child is kept for the next operation (a sign-in makes several in a row). */
const IDLE_MS = 60_000;
let keeper: Keeper | undefined;
/** The last operation sent or waiting: they run one at a time. */
let queue: Promise<unknown> = Promise.resolve();

/** Runs `req` in the child process; `what` names the operation in the error of one that takes too long. */
function bounded(req: KeychainRequest, what: string): Promise<unknown> {
  const run = queue.then(() => exchange(req, what));
  queue = run.catch(() => undefined);
  return run;
}

async function exchange(req: KeychainRequest, what: string): Promise<unknown> {
  const k = keeper ?? (keeper = startChild());
  clearTimeout(k.idle);
  const line = await new Promise<string | undefined>((resolve, reject) => {
    const timer = setTimeout(() => {
      k.take = undefined;
      stopChild(k);
      reject(noKeychain(`the keychain did not answer while ${what} within ${Math.round(limitMs / 1000)} s`));
    }, limitMs);
    k.take = (l) => {
      clearTimeout(timer);
      resolve(l);
    };
    const queued = k.lines.shift();
    if (queued !== undefined) k.take(queued);
    k.child.stdin?.write(JSON.stringify(req) + '\n');
  });
  if (line === undefined) throw ended(k, what);
  k.idle = setTimeout(() => stopChild(k), IDLE_MS).unref();
  return settle(line);
}

/**
 * The child ended with an answer due: not the keychain's doing (the user or the OOM killer ended it,
 * or it crashed), so the keychain's advice (install, start, unlock) would mislead.
 */
function ended(k: Keeper, what: string): StrataError {
  const { exitCode, signalCode } = k.child;
  const how = signalCode !== null ? `killed by ${signalCode}` : exitCode !== null && exitCode >= 0 ? `exit code ${exitCode}` : `it could not start${k.startError ? `: ${k.startError}` : ''}`;
  return new StrataError('E_NO_KEYCHAIN', `the process that runs keychain operations ended while ${what}, before it answered (${how}): try again`);
}

/** The child's command line: its compiled form beside this file (dist/, the bundle), else the source under tsx. */
function childArgs(): string[] {
  const js = fileURLToPath(new URL('./keychain-child.js', import.meta.url));
  if (existsSync(js)) return [js];
  return ['--import', import.meta.resolve('tsx'), fileURLToPath(new URL('./keychain-child.ts', import.meta.url))];
}

function startChild(): Keeper {
  // Inside Electron, process.execPath is the app: it must run the child as plain Node.
  const env = process.versions.electron ? { ...process.env, ELECTRON_RUN_AS_NODE: '1' } : process.env;
  // Its own session on POSIX (detached); on Windows detached would give it a console window of its own.
  const child = spawn(process.execPath, childArgs(), { env, stdio: ['pipe', 'pipe', 'ignore'], detached: process.platform !== 'win32' });
  const k: Keeper = { child, lines: [], take: undefined, idle: undefined };
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      const take = k.take;
      k.take = undefined;
      if (take) take(line);
      else k.lines.push(line);
    }
  });
  const gone = (): void => {
    if (keeper === k) keeper = undefined;
    const take = k.take;
    k.take = undefined;
    take?.(undefined);
  };
  child.on('error', (err) => {
    k.startError ??= err.message;
    gone();
  });
  child.on('close', gone);
  child.stdin?.on('error', () => undefined);
  // Only an operation in flight (its timer) keeps this process alive.
  child.unref();
  (child.stdin as Socket | null)?.unref();
  (child.stdout as Socket | null)?.unref();
  return k;
}

/** Ends the child: its stdin closed, it kills itself; killed from here too, should it hang. */
function stopChild(k: Keeper): void {
  if (keeper === k) keeper = undefined;
  clearTimeout(k.idle);
  k.child.stdin?.end();
  k.child.kill('SIGKILL');
}

process.on('exit', () => {
  if (keeper) stopChild(keeper);
});

function settle(line: string): unknown {
  let reply: KeychainReply;
  try {
    reply = JSON.parse(line) as KeychainReply;
  } catch {
    throw noKeychain('its process answered something other than JSON');
  }
  if ('error' in reply) throw new StrataError(reply.error.code as ErrorCode, reply.error.message);
  return reply.value;
}
