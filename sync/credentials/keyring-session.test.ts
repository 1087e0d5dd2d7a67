// npm test's throwaway keyring (scripts/test-keyring.mjs), run here in a session of its own: a
// daemon a test kills on purpose (killTestSecretService) is no death to report, one that dies
// otherwise is, with how it ended in the log (a daemon killed by a signal says nothing itself).
// Linux only (the Secret Service), with dbus and gnome-keyring installed.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { it } from 'node:test';

interface KeyringModule {
  writeKeyringSession(dir: string): void;
  keyringSessionCommand(dir: string, command: string[]): string[];
  keyringReport(dir: string, failed: boolean): string[];
}
const keyring = (await import(new URL('../../scripts/test-keyring.mjs', import.meta.url).href)) as KeyringModule;
const TESTING = new URL('./testing.ts', import.meta.url).href;

// In the session: the daemon killed on purpose, then one killed behind the helpers' back, each
// started again by D-Bus; prints both pids.
const SCRIPT = `
import { execFileSync } from 'node:child_process';
const { killTestSecretService, secretServicePid } = await import(${JSON.stringify(TESTING)});
const bus = (method, ...args) => execFileSync('dbus-send', ['--session', '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.' + method, ...args], { encoding: 'utf8' });
const startAgain = async () => {
  while (bus('NameHasOwner', 'string:org.freedesktop.secrets').includes('boolean true')) await new Promise((r) => setTimeout(r, 20));
  bus('StartServiceByName', 'string:org.freedesktop.secrets', 'uint32:0');
};
const stopped = killTestSecretService();
await startAgain();
const died = secretServicePid();
process.kill(died, 'SIGKILL');
await startAgain();
console.log(JSON.stringify({ stopped, died }));
`;

const haveSession = spawnSync('sh', ['-c', 'command -v dbus-run-session && command -v dbus-send && command -v gnome-keyring-daemon'], { stdio: 'ignore' }).status === 0;
const skip = process.platform !== 'linux' ? 'the Secret Service is Linux only' : !haveSession && process.env.CI !== 'true' && 'dbus-run-session or gnome-keyring-daemon is not installed (apt-get install dbus gnome-keyring)';

/** `command` in a keyring session of `dir`; what it printed on stdout. */
async function inSession(dir: string, command: string[]): Promise<string> {
  const [exe, ...args] = keyring.keyringSessionCommand(dir, command);
  const child = spawn(exe as string, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, `the session failed: ${out}\n${err}`);
  return out;
}

/** The keyring log once it says how `pids` ended: each daemon's shell writes that as the daemon is gone. */
async function logOnceEnded(dir: string, pids: number[]): Promise<string> {
  for (let tries = 0; ; tries++) {
    const log = await readFile(join(dir, 'keyring.log'), 'utf8').catch(() => '');
    if (pids.every((pid) => log.includes(`gnome-keyring-daemon ${pid} ended`)) || tries >= 250) return log;
    await sleep(20);
  }
}

it('reports the keyring daemons that died without a test stopping them, and how each daemon ended', { skip, timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-keyring-session-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  keyring.writeKeyringSession(dir);
  const out = await inSession(dir, [process.execPath, '--import', import.meta.resolve('tsx'), '--input-type=module', '--eval', SCRIPT]);
  const { stopped, died } = JSON.parse(out.trim().split('\n').pop() ?? '') as { stopped: number; died: number };
  const starts = (await readFile(join(dir, 'keyring.starts'), 'utf8')).trim().split('\n').map(Number);
  assert.equal(starts.length, 3, `three daemons: the first, and one after each death (${starts.join(', ')})`);
  assert.deepEqual(starts.slice(0, 2), [stopped, died]);
  const last = starts[2] as number;

  const log = await logOnceEnded(dir, starts);
  // The last one the session stops at its end: gnome-keyring exits on SIGTERM.
  for (const [pid, how] of [[stopped, 'killed by SIGKILL'], [died, 'killed by SIGKILL'], [last, 'exit code 0']] as const) {
    assert.match(log, new RegExp(`^gnome-keyring-daemon ${pid} ended at \\d\\d:\\d\\d:\\d\\d: ${how}$`, 'm'));
  }

  const report = keyring.keyringReport(dir, false);
  assert.equal(report[0], `test: gnome-keyring-daemon died 1 time(s) during the run without a test stopping it (pid ${died}); D-Bus starts it again at the next call`);
  assert.ok(report[1]?.startsWith("test: gnome-keyring-daemon's log (last 40 lines):\n"), report[1]);
  assert.ok(report[1]?.includes(`gnome-keyring-daemon ${died} ended`), report[1]);
  assert.equal(report.length, 2);
});
