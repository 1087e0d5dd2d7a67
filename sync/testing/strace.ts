/**
 * What a child process (and its children) makes durable, seen from outside: strace names the file
 * behind every fsync, every rename or hard link made, every folder made, every file or folder removed and every change of times. Tests of durability read the order of these calls — a temp
 * fsynced before its rename (or link into place), a folder after it, a record last — which no in-process probe sees
 * (sync(1), dconf's service and other processes included). Linux with strace only.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The skip of a suite that needs strace (never skipped in CI, where strace is installed). */
export const NEEDS_STRACE = !(process.platform === 'linux' && spawnSync('strace', ['-V']).status === 0) && process.env.CI !== 'true' && 'needs strace (Linux)';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Traced {
  /** In order: ['fsync' (fdatasync too) | 'syncfs', path], ['rename', from, to], ['link', from, to] (a hard link made), ['unlink', path] (a file's removal), ['rmdir', path] (a folder's), ['mkdir', path] (a folder made) and ['utime', path] (its times set). */
  calls: string[][];
  stdout: string;
}

/**
 * Runs the TypeScript file `script` with `args` under strace (writing its trace in `dir`); it must
 * exit 0. `fail` makes every call of those syscalls fail with that errno (a file system without
 * hard links: `{ syscalls: ['link', 'linkat'], errno: 'EPERM' }`).
 */
export async function traceSyncs(dir: string, script: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env, fail?: { syscalls: string[]; errno: string }): Promise<Traced> {
  const trace = join(dir, 'trace');
  // strace tampers only with calls it traces.
  const traced = new Set(['fsync', 'fdatasync', 'syncfs', 'rename', 'renameat', 'renameat2', 'link', 'linkat', 'unlink', 'unlinkat', 'rmdir', 'mkdir', 'mkdirat', 'utimensat', ...(fail?.syscalls ?? [])]);
  const inject = fail ? ['-e', `inject=${fail.syscalls.join(',')}:error=${fail.errno}`] : [];
  const r = spawnSync('strace', ['-f', '-y', '-e', `trace=${[...traced].join(',')}`, ...inject, '-o', trace, process.execPath, '--import', 'tsx', script, ...args], { cwd: ROOT, encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  const calls: string[][] = [];
  for (const line of (await readFile(trace, 'utf8')).split('\n')) {
    const sync = /\b(fsync|fdatasync|syncfs)\(\d+<([^>]*)>/.exec(line);
    if (sync) calls.push([sync[1] === 'syncfs' ? 'syncfs' : 'fsync', sync[2]!]);
    const moved = /\brename(?:at2?)?\((?:[^,]*, )?"([^"]*)", (?:[^,]*, )?"([^"]*)"/.exec(line);
    if (moved) calls.push(['rename', moved[1]!, moved[2]!]);
    const linked = /\blink(?:at)?\((?:[^,]*, )?"([^"]*)", (?:[^,]*, )?"([^"]*)"[^)]*\) = 0/.exec(line);
    if (linked) calls.push(['link', linked[1]!, linked[2]!]);
    // unlinkat with AT_REMOVEDIR removes a folder: not a file's removal.
    const removed = /\bunlink(?:at)?\((?:[^,]*, )?"([^"]*)"(?:, 0)?\) = 0/.exec(line);
    if (removed && !line.includes('AT_REMOVEDIR')) calls.push(['unlink', removed[1]!]);
    const rmdir = /\b(?:rmdir\("([^"]*)"|unlinkat\([^,]*, "([^"]*)", AT_REMOVEDIR)\) = 0/.exec(line);
    if (rmdir) calls.push(['rmdir', (rmdir[1] ?? rmdir[2])!]);
    const made = /\bmkdir(?:at)?\((?:[^,]*, )?"([^"]*)", [^)]*\) = 0/.exec(line);
    if (made) calls.push(['mkdir', made[1]!]);
    // Through a descriptor (futimes: NULL for the path), or by path.
    const timed = /\butimensat\((?:\d+<([^>]*)>, NULL|[^,]*, "([^"]*)")/.exec(line);
    if (timed && line.includes(') = 0')) calls.push(['utime', (timed[1] ?? timed[2])!]);
  }
  return { calls, stdout: r.stdout };
}
