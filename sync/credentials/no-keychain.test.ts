// Without a usable keychain the module must refuse — E_NO_KEYCHAIN with what to do — and leave
// the secret nowhere. Each case runs the module in a child process with its own HOME, XDG
// folders, TMPDIR and working directory: no D-Bus session at all; a session whose Secret
// Service has no keyring; a session whose keyring is locked; a bus that never answers. Linux only
// (the Secret Service).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETzz';
const MODULE = new URL('./index.ts', import.meta.url).href;
const BOUNDED = new URL('./bounded.ts', import.meta.url).href;
const TSX = import.meta.resolve('tsx');

const CHILD = `
const m = await import(${JSON.stringify(MODULE)});
if (process.env.LIMIT_MS) (await import(${JSON.stringify(BOUNDED)})).setKeychainLimit(Number(process.env.LIMIT_MS));
const creds = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: ${JSON.stringify(SECRET)} };
const out = {};
const all = {
  check: () => m.checkKeychain(),
  save: () => m.saveCredentials('acme', m.userPrincipal('alice'), creds),
  saveAdmin: () => m.saveCredentials('acme', m.ADMIN, creds),
  load: () => m.loadCredentials('acme', m.userPrincipal('alice')),
  delete: () => m.deleteCredentials('acme', m.userPrincipal('alice')),
};
const ops = process.env.OPS ? Object.entries(all).filter(([name]) => process.env.OPS.split(',').includes(name)) : Object.entries(all);
for (const [name, op] of ops) {
  try { await op(); out[name] = 'ok'; } catch (err) { out[name] = err.code ?? String(err); out[name + 'Message'] = err.message; }
}
console.log(JSON.stringify(out));
`;

const haveSession = spawnSync('sh', ['-c', 'command -v dbus-run-session && command -v dbus-send && command -v gnome-keyring-daemon'], { stdio: 'ignore' }).status === 0;
const linux = process.platform === 'linux';
const skipNoLinux = linux ? false : 'the Secret Service is Linux only';
const skipNoSession = !linux ? skipNoLinux : haveSession || process.env.CI === 'true' ? false : 'dbus-run-session or gnome-keyring-daemon is not installed (apt-get install dbus gnome-keyring)';

interface Run {
  result: Record<string, string>;
  output: string;
}

/** Runs `command` with an environment confined to `root`, no desktop and no inherited bus. */
async function run(root: string, command: string[], busAddress?: string, ops?: string, limitMs?: number): Promise<Run> {
  // TSX_DISABLE_CACHE: tsx would otherwise keep its compiled sources under TMPDIR.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, LANG: 'C.UTF-8', HOME: join(root, 'home'), TMPDIR: join(root, 'tmp'), TSX_DISABLE_CACHE: '1' };
  for (const [name, dir] of [['XDG_CONFIG_HOME', 'config'], ['XDG_DATA_HOME', 'data'], ['XDG_CACHE_HOME', 'cache'], ['XDG_RUNTIME_DIR', 'run']] as const) {
    env[name] = join(root, dir);
  }
  if (busAddress) env.DBUS_SESSION_BUS_ADDRESS = busAddress;
  if (ops) env.OPS = ops;
  if (limitMs !== undefined) env.LIMIT_MS = String(limitMs);
  for (const dir of ['home', 'tmp', 'config', 'data', 'cache', 'run', 'cwd']) await mkdir(join(root, dir), { recursive: true, mode: 0o700 });
  const child = spawn(command[0] as string, command.slice(1), { cwd: join(root, 'cwd'), env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
  const line = stdout.trim().split('\n').pop() ?? '';
  // It exits by itself: a keychain call that never returns must not hold the process.
  assert.ok(code === 0, `child failed (${code ?? signal}): ${stdout}\n${stderr}`);
  return { result: JSON.parse(line) as Record<string, string>, output: stdout + stderr };
}

/**
 * Runs "$@" with a gnome-keyring whose login keyring has a password and is unlocked, then stops
 * the daemon. In the foreground, so that it can be stopped: a daemonized gnome-keyring-daemon
 * may outlive its session bus.
 */
const WITH_UNLOCKED_KEYRING = `
printf %s pw > "$HOME/password"
gnome-keyring-daemon --foreground --unlock --components=secrets <"$HOME/password" >/dev/null 2>&1 &
keyring=$!
n=0
until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \\
  org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; do
  n=$((n + 1)); [ "$n" -ge 400 ] && break; sleep 0.05
done
"$@"; status=$?
kill "$keyring"; wait "$keyring"
exit $status
`;

const node = [process.execPath, '--import', TSX, '--input-type=module', '--eval', CHILD];

/** Every file under `dir`, relative. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => !e.isDirectory()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}

async function secretOnDisk(dir: string): Promise<string[]> {
  const hits: string[] = [];
  for (const file of await filesUnder(dir)) {
    const bytes = await readFile(join(dir, file)).catch(() => Buffer.alloc(0));
    if (bytes.includes(SECRET)) hits.push(file);
  }
  return hits;
}

/** A bus that takes the connection and never says a word, as a stopped daemon behaves; its address. */
async function silentBus(t: TestContext, dir: string): Promise<string> {
  await mkdir(join(dir, 'run'), { recursive: true });
  const socket = join(dir, 'run', 'silent-bus');
  const open = new Set<Socket>();
  const silent = createServer((c) => open.add(c.on('data', () => undefined)));
  await new Promise<void>((resolve) => silent.listen(socket, resolve));
  t.after(() => {
    for (const c of open) c.destroy();
    silent.close();
  });
  return `unix:path=${socket}`;
}

/** `check` and both saves must be refused with `hint`; reads follow `reads` (a reachable, empty keyring has nothing to read). */
function assertRefused(run: Run, hint: RegExp, reads: { load: string; delete: string }): void {
  const expected = { check: 'E_NO_KEYCHAIN', save: 'E_NO_KEYCHAIN', saveAdmin: 'E_NO_KEYCHAIN', ...reads };
  for (const [op, code] of Object.entries(expected)) assert.equal(run.result[op], code, `${op}: ${JSON.stringify(run.result)}`);
  for (const op of ['check', 'save', 'saveAdmin']) {
    assert.match(run.result[`${op}Message`] ?? '', hint, op);
    assert.match(run.result[`${op}Message`] ?? '', /never in a file/, op);
  }
  assert.ok(!run.output.includes(SECRET), 'the secret appeared in the output');
}

describe('without a usable keychain', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'strata-nokeychain-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('refuses with no D-Bus session, saying what to install, and writes nothing to disk', { skip: skipNoLinux, timeout: 60_000 }, async () => {
    const dir = join(root, 'no-bus');
    const refused = await run(dir, node, `unix:path=${join(dir, 'run', 'no-such-bus')}`);
    assertRefused(refused, /apt-get install dbus gnome-keyring.*dbus-run-session/, { load: 'E_NO_KEYCHAIN', delete: 'E_NO_KEYCHAIN' });
    assert.deepEqual(await filesUnder(dir), []);
  });

  it('refuses when the D-Bus session never answers (a hung bus or Secret Service), saying so, instead of waiting for good', { skip: skipNoLinux, timeout: 120_000 }, async (t) => {
    const dir = join(root, 'silent-bus');
    const refused = await run(dir, node, await silentBus(t, dir), 'check,save');
    for (const op of ['check', 'save']) {
      assert.equal(refused.result[op], 'E_NO_KEYCHAIN', `${op}: ${JSON.stringify(refused.result)}`);
      assert.match(refused.result[`${op}Message`] ?? '', /Secret Service (did|has) not answer.*does not answer: .*restart it/, op);
    }
  });

  it('gives up on every operation the keychain never finishes, naming it, and the process exits', { skip: skipNoLinux, timeout: 120_000 }, async (t) => {
    const dir = join(root, 'hung-ops');
    // A limit below the searches' own: the operation as a whole is given up on, whatever call hangs.
    const refused = await run(dir, node, await silentBus(t, dir), undefined, 2_000);
    const what = { check: 'checking that it can store an entry', save: 'saving the keychain entry strata:acme user/alice', saveAdmin: 'saving the keychain entry strata:acme admin', load: 'reading the keychain entry strata:acme user/alice', delete: 'removing the keychain entry strata:acme user/alice' };
    for (const [op, doing] of Object.entries(what)) {
      assert.equal(refused.result[op], 'E_NO_KEYCHAIN', `${op}: ${JSON.stringify(refused.result)}`);
      assert.ok((refused.result[`${op}Message`] ?? '').startsWith(`no usable OS keychain (the keychain did not answer while ${doing} within 2 s): the Secret Service`), refused.result[`${op}Message`]);
      assert.doesNotMatch(refused.result[`${op}Message`] ?? '', /\n/, 'one line');
    }
    assert.ok(!refused.output.includes(SECRET), 'the secret appeared in the output');
  });


  it('refuses when the Secret Service has no keyring, saying how to create one', { skip: skipNoSession, timeout: 60_000 }, async () => {
    const dir = join(root, 'no-collection');
    // D-Bus starts gnome-keyring-daemon on the first call; with no keyring made, it has no default collection.
    const refused = await run(dir, ['dbus-run-session', '--', ...node]);
    assertRefused(refused, /no default keyring.*gnome-keyring-daemon --unlock/, { load: 'E_NO_CREDENTIALS', delete: 'ok' });
    assert.deepEqual(await secretOnDisk(dir), []);
  });

  it('refuses when the keyring is locked and nobody can unlock it, saying how to unlock it', { skip: skipNoSession, timeout: 60_000 }, async () => {
    const dir = join(root, 'locked');
    const saved = await run(dir, ['dbus-run-session', '--', 'sh', '-c', WITH_UNLOCKED_KEYRING, 'sh', ...node], undefined, 'save');
    assert.deepEqual(saved.result, { save: 'ok' });
    assert.ok((await filesUnder(dir)).some((f) => f.endsWith('keyrings/login.keyring')), 'gnome-keyring made no login keyring');
    // A new session: the daemon starts with the keyring locked, and there is no display to prompt on.
    const refused = await run(dir, ['dbus-run-session', '--', ...node]);
    assertRefused(refused, /locked.*unlock the login keyring/, { load: 'E_NO_KEYCHAIN', delete: 'E_NO_KEYCHAIN' });
    assert.match(refused.result.loadMessage ?? '', /locked.*unlock the login keyring/);
    // The keyring file holds the secret encrypted.
    assert.deepEqual(await secretOnDisk(dir), []);
  });
});
