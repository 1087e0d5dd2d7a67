// Ctrl-C at a terminal: the terminal sends SIGINT to the whole foreground process group — the
// launcher (bin/strata.js) and the CLI it runs alike. One Ctrl-C must be one clean stop: exit 0,
// the control endpoint's file removed. (A second SIGINT means "quit now".)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { LAUNCHER, cleanEnv, describeRun, strata, writeTree } from './testkit.js';

it('one Ctrl-C stops `strata sync` cleanly through the launcher', { skip: process.platform === 'win32' && 'process groups are POSIX', timeout: 60_000 }, async (t) => {
  const tmp = await mkdtemp(join(tmpdir(), 'strata-ctrl-c-'));
  t.after(() => rm(tmp, { recursive: true, force: true }));
  const store = pathToFileURL(join(tmp, 'repo')).href;
  const state = join(tmp, 'state');
  await writeTree(join(tmp, 'docs'), { 'a.txt': 'a' });
  const init = await strata(['--store', store, 'init']);
  assert.equal(init.code, 0, describeRun(init));
  // Its own process group, as a shell gives a foreground job.
  const child = spawn(process.execPath, [LAUNCHER, '--store', store, 'sync', join(tmp, 'docs'), '--layer', 'user/a', '--state-dir', state, '--poll', '3600'], { env: cleanEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
  const exited = once(child, 'close');
  while (!/in sync at/.test(out)) {
    assert.equal(child.exitCode, null, out);
    await new Promise((r) => setTimeout(r, 50));
  }
  await access(join(state, 'control.json'));
  process.kill(-(child.pid as number), 'SIGINT');
  const [code] = (await exited) as [number | null];
  assert.equal(code, 0, out);
  await assert.rejects(access(join(state, 'control.json')), { code: 'ENOENT' }, 'the control file goes with the agent');
});

it('a CLI ended by a signal it cannot catch is one line and exit 1 from the launcher, not a silent exit', { skip: process.platform !== 'linux' && 'reads the launcher’s child from /proc', timeout: 60_000 }, async (t) => {
  const tmp = await mkdtemp(join(tmpdir(), 'strata-killed-'));
  t.after(() => rm(tmp, { recursive: true, force: true }));
  const store = pathToFileURL(join(tmp, 'repo')).href;
  await writeTree(join(tmp, 'docs'), { 'a.txt': 'a' });
  assert.equal((await strata(['--store', store, 'init'])).code, 0);
  const launcher = spawn(process.execPath, [LAUNCHER, '--store', store, 'sync', join(tmp, 'docs'), '--layer', 'user/a', '--state-dir', join(tmp, 'state'), '--poll', '3600'], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => launcher.kill('SIGKILL'));
  let out = '';
  let err = '';
  launcher.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  launcher.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = once(launcher, 'close');
  while (!/in sync at/.test(out)) {
    assert.equal(launcher.exitCode, null, out + err);
    await new Promise((r) => setTimeout(r, 50));
  }
  const pid = launcher.pid as number;
  const cli = Number((await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')).trim());
  process.kill(cli, 'SIGKILL');
  const [code] = (await exited) as [number | null];
  assert.deepEqual({ code, err }, { code: 1, err: `strata: E_INTERRUPTED the command (pid ${cli}) was ended by SIGKILL\n` });
});
