// A terminal that hangs up at `strata login`'s prompt: the CLI, run as a person runs it (the
// launcher, bin/strata.js, on a real pseudo-terminal from `script`), must end with exit 1 and its
// one-line E_INTERRUPTED. Node 20 aborts at exit (134, a native stack trace) where it puts back the
// mode of a terminal that is gone (fixed in later Node), so this runs under every Node CI has.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { keychainSkipReason, uniqueTestOrg } from '../credentials/testing.js';
import { LAUNCHER, cleanEnv } from './testkit.js';

const haveScript = process.platform === 'linux' && spawnSync('sh', ['-c', 'command -v script'], { stdio: 'ignore' }).status === 0;
const quote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

const skip = haveScript ? await keychainSkipReason() : 'needs util-linux script(1) for a pseudo-terminal';

/**
 * Runs `strata login` on a terminal that hangs up at its prompt: SIGHUP where the terminal is the
 * CLI's controlling one, only the end of its input where it is not (setsid). Returns the CLI's exit
 * code and its stderr.
 */
async function hangUpAtPrompt(t: { after: (fn: () => unknown) => void }, how: 'SIGHUP' | 'EOF'): Promise<{ code: string; stderr: string }> {
  const root = await mkdtemp(join(tmpdir(), 'strata-hang-up-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const config = join(root, 'org.json');
  await writeFile(config, JSON.stringify({ version: 1, org: uniqueTestOrg('hang-up'), store: { endpoint: 'http://127.0.0.1:9', bucket: 'acme-strata' } }));
  await mkdir(join(root, 'home'));
  const errFile = join(root, 'stderr');
  const codeFile = join(root, 'code');
  // The shell survives the hang-up (it ignores SIGHUP; Node sets its own back) to tell the exit
  // code. stderr, where the prompt and the error go, is a file: the terminal is gone by then.
  const login = [...(how === 'EOF' ? ['setsid', '-w'] : []), process.execPath, LAUNCHER, 'login', '--org', config, '--user', 'alice', '--home', join(root, 'home'), '--state-dir', join(root, 'state'), '--no-sync'].map(quote).join(' ');
  await writeFile(join(root, 'run.sh'), `trap '' HUP\n${login} 2>${quote(errFile)}\necho $? >${quote(codeFile)}\n`);
  const terminal = spawn('script', ['-qefc', `sh ${quote(join(root, 'run.sh'))}`, '/dev/null'], { env: cleanEnv({ DBUS_SESSION_BUS_ADDRESS: process.env.DBUS_SESSION_BUS_ADDRESS }), stdio: ['pipe', 'ignore', 'inherit'] });
  const stderr = (): Promise<string> => readFile(errFile, 'utf8').catch(() => '');
  while (!(await stderr()).includes('Access key ID: ')) {
    assert.equal(terminal.exitCode, null, await stderr());
    await new Promise((r) => setTimeout(r, 50));
  }
  terminal.kill('SIGKILL');
  let code: string | undefined;
  while ((code = await readFile(codeFile, 'utf8').catch(() => undefined)) === undefined) await new Promise((r) => setTimeout(r, 50));
  return { code: code.trim(), stderr: await stderr() };
}

for (const how of ['SIGHUP', 'EOF'] as const) {
  it(`a terminal hung up at the login prompt (${how}): exit 1 and one line, E_INTERRUPTED, from the launcher too`, { skip, timeout: 60_000 }, async (t) => {
    const { code, stderr } = await hangUpAtPrompt(t, how);
    assert.equal(code, '1', stderr);
    // After the prompt, the error's one line and nothing else (no native stack trace).
    assert.equal(stderr.slice(stderr.indexOf('Access key ID: ') + 'Access key ID: '.length), 'strata: E_INTERRUPTED sign-in cancelled: the terminal closed at the prompt\n');
  });
}
