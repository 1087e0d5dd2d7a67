/**
 * Helpers for the CLI's tests (not used by the CLI): run `strata` as a child process, exactly as
 * a user would, and build and compare small folder trees.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { lstat, mkdir, readFile, readdir, readlink, symlink, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
/** The installed command, which runs main.ts (or its compiled form) itself. */
export const LAUNCHER = fileURLToPath(new URL('../../bin/strata.js', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment the CLI runs in: the caller's, minus anything that would change its behaviour. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['STRATA_STORE', 'STRATA_DEBUG', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'NODE_OPTIONS']) delete env[name];
  return { ...env, ...extra };
}

/** `killAfterMs`: a guard for a run that might never end (it is killed, and its code is null). */
export function strata(args: string[], env: NodeJS.ProcessEnv = cleanEnv(), killAfterMs?: number): Promise<RunResult> {
  return spawnNode(['--import', 'tsx', MAIN, ...args], env, killAfterMs);
}

export function spawnNode(args: string[], env: NodeJS.ProcessEnv = cleanEnv(), killAfterMs?: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], ...(killAfterMs === undefined ? {} : { timeout: killAfterMs, killSignal: 'SIGKILL' }) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * `strata <args>` (an agent, or a sync that goes on) in a child process, once it says it is in
 * sync; killed after the test, woken first should the test have stopped it (SIGSTOP).
 */
export async function strataInSync(t: TestContext, args: string[]): Promise<{ child: ChildProcessByStdio<null, Readable, Readable>; exited: Promise<number | null>; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((r) => child.on('close', r));
  t.after(() => {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  });
  let out = '';
  const inSync = new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (/in sync at/.test(out)) resolve();
    });
  });
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  await Promise.race([inSync, exited.then(() => assert.fail(`the agent exited: ${out}`))]);
  return { child, exited, output: () => out };
}

export function describeRun(r: RunResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

export type Spec = { [name: string]: string | Uint8Array | { link: string } | { mode: number; data: string | Uint8Array } | Spec };

/** Writes a tree: strings and bytes are files, `{link}` symlinks, `{mode, data}` files with a mode, objects folders. */
export async function writeTree(dir: string, spec: Spec): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, v] of Object.entries(spec)) {
    const path = join(dir, name);
    if (typeof v === 'string' || v instanceof Uint8Array) await writeFile(path, v);
    else if ('link' in v && typeof v.link === 'string') await symlink(v.link, path);
    else if ('mode' in v && typeof v.mode === 'number') {
      await writeFile(path, (v as { data: string | Uint8Array }).data);
      await chmod(path, v.mode);
    } else await writeTree(path, v as Spec);
  }
}

export interface Seen {
  type: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  data?: string;
  target?: string;
}

/** Everything under `dir`: type, permission bits, file bytes (hex) and link targets, by path. */
export async function readTree(dir: string, prefix = ''): Promise<Record<string, Seen>> {
  const out: Record<string, Seen> = {};
  for (const name of (await readdir(dir)).sort()) {
    const path = join(dir, name);
    const rel = prefix + name;
    const st = await lstat(path);
    const mode = st.mode & 0o777;
    if (st.isSymbolicLink()) out[rel] = { type: 'symlink', mode: 0, target: await readlink(path) };
    else if (st.isFile()) out[rel] = { type: 'file', mode, data: (await readFile(path)).toString('hex') };
    else if (st.isDirectory()) {
      out[rel] = { type: 'dir', mode };
      Object.assign(out, await readTree(path, `${rel}/`));
    } else out[rel] = { type: 'other', mode };
  }
  return out;
}

/** Every file under `dir` (recursively), as paths relative to it. */
export async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...(await listFiles(join(dir, e.name), `${prefix}${e.name}/`)));
    else out.push(prefix + e.name);
  }
  return out.sort();
}
