// Each command's --help lists only the options the command honours, global ones included.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COMMANDS } from './commands/index.js';
import { run } from './run.js';

async function strata(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, { stdout: (s) => (stdout += s), stderr: { write: (s: string) => (stderr += s), isTTY: false }, env: {} });
  return { code, stdout, stderr };
}

/** The commands that read --store (the bucket) and --device (this machine's id). */
const TAKES = {
  store: ['init', 'snapshot', 'restore', 'log', 'ls', 'check', 'sync', 'admin'],
  device: ['snapshot', 'restore', 'sync', 'login', 'admin'],
};

describe('command help', () => {
  for (const command of COMMANDS) {
    it(`strata ${command.name} --help lists --store and --device only if it takes them`, async () => {
      const help = await strata(command.name, '--help');
      assert.equal(help.code, 0, help.stderr);
      for (const [option, commands] of Object.entries(TAKES)) {
        assert.equal(new RegExp(`^ +--${option} `, 'm').test(help.stdout), commands.includes(command.name), `--${option} in:\n${help.stdout}`);
      }
      assert.match(help.stdout, /^ +--json /m);
    });
  }

  it("each command's --device help names the default that command takes", async () => {
    const expected: Record<string, RegExp> = {
      snapshot: /default: derived from the host name/,
      restore: /default: the signed-in session's device; with --store, derived from the host name/,
      sync: /default: the state dir's device id, a new random one for a new state dir/,
      login: /default: the state dir's device id, a new random one for a new state dir/,
      admin: /admin-<name>.*default: admin\b/,
    };
    for (const command of TAKES.device) {
      const line = (await strata(command, '--help')).stdout.split('\n').find((l) => /^ +--device /.test(l)) ?? '';
      assert.match(line, expected[command] as RegExp, `strata ${command} --help`);
    }
  });

  it('a global option the command ignores is still accepted: a script may pass the same ones to every command', async () => {
    const r = await strata('--store', 'memory:', '--device', 'pc', 'status', '--state-dir', '/nonexistent/strata-state');
    assert.match(r.stderr, /^strata: E_AGENT_NOT_RUNNING /);
  });

  it('strata help <command> prints its help; an unknown command there is bad usage, as everywhere', async () => {
    const help = await strata('help', 'status');
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^usage: strata status /);
    const bogus = await strata('help', 'bogus');
    assert.equal(bogus.code, 2, bogus.stdout);
    assert.equal(bogus.stdout, '');
    assert.match(bogus.stderr, /^strata: E_USAGE unknown command "bogus" \(see `strata --help`\)\n$/);
  });

  it("strata logout --help says --wipe keeps what the bucket does not have, as logout does", async () => {
    const line = (await strata('logout', '--help')).stdout.split('\n').find((l) => /^ +--wipe /.test(l)) ?? '';
    assert.match(line, /what the bucket has/, line);
    assert.match(line, /kept/, line);
  });

  it('strata --help names every exit code a command gives, as the README lists them', async () => {
    const top = await strata('--help');
    assert.equal(top.code, 0, top.stderr);
    const line = /^Exit codes:[^]*?\.$/m.exec(top.stdout)?.[0].replace(/\s+/g, ' ') ?? '';
    for (const code of [0, 1, 2, 3, 4, 5]) assert.match(line, new RegExp(`\\b${code} `), `exit code ${code} in: ${line}`);
    assert.match(line, /4 done but some paths left out/);
    assert.match(line, /5 refused because the agent runs but does not answer/);
  });
});
