#!/usr/bin/env node
// The test command: `npm test`. Typechecks (tsc -b) and lints, then runs every *.test.ts under
// sync/, shared/, renderer/, electron/ and e2e/ with Node's test runner (TypeScript through tsx).
//
// Suites that need real services get them here:
// - S3: unless STRATA_TEST_S3_ENDPOINT is already set, a throwaway OpenStack Swift server with its
//   S3 layer is started (scripts/swift/server.sh) and stopped afterwards.
// - OS keychain (Linux): the tests run inside a throwaway D-Bus session (dbus-run-session) with a
//   gnome-keyring made for the run in a temporary folder and unlocked, so that they never touch
//   the keyring of the person running them (scripts/test-keyring.mjs); STRATA_TEST_KEYCHAIN=1
//   tells the suites it is there.
// Without the service installed those suites skip locally, and fail under CI=true: CI must run
// everything.
//
// A hung test must fail the run, not stall it: each test fails after STRATA_TEST_TIMEOUT_MS
// (default 10 min; Node 20 also bounds each file by it), and a file still running half as long
// again — a test's handle, a server or an agent a failed test left, keeps its process alive, which
// Node's runner waits on for good — is ended by scripts/test-watchdog.mjs, which names it. The
// slowest healthy test took 85 s in a loaded CI run.
//
// Usage: node scripts/test.mjs [--tests-only] [--no-s3] [file-or-folder-filter ...]
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { keyringReport, keyringSessionCommand, writeKeyringSession } from './test-keyring.mjs';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const noS3 = args.includes('--no-s3');
const testsOnly = args.includes('--tests-only');
const filters = args.filter((a) => !a.startsWith('--'));
const env = { ...process.env };

function findTests(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) findTests(full, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, full));
  }
  return out;
}

const files = ['shared', 'sync', 'renderer', 'electron', 'e2e']
  .flatMap((d) => findTests(join(root, d)))
  .filter((f) => filters.length === 0 || filters.some((flt) => f.includes(flt)))
  .sort();
if (files.length === 0) {
  console.error('test: no test files match');
  process.exit(2);
}

function run(what, command, commandArgs) {
  const started = Date.now();
  const r = spawnSync(command, commandArgs, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`test: ${what} failed`);
    process.exit(1);
  }
  console.log(`test: ${what} passed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

if (!testsOnly && filters.length === 0) {
  run('electron type declarations', process.execPath, [join(root, 'scripts/electron-types.mjs')]);
  run('typecheck', process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b']);
  // shared/'s tests use Node's types, which shared/ itself must not see: a project of their own.
  run('typecheck shared tests', process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'shared/tsconfig.test.json']);
  run('lint', process.execPath, [join(root, 'node_modules/eslint/bin/eslint.js'), '.']);
} else if (files.some((f) => f.startsWith('e2e/') || f.startsWith('sync/control/'))) {
  // The agent serves the compiled renderer (sync/control/ui.ts): its UI tests need it built even
  // when the full typecheck is skipped. One small project; tsc -b skips it when it is up to date.
  run('build the renderer', process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b', 'renderer']);
}

let swiftDir;
function startSwift() {
  swiftDir = mkdtempSync(join(tmpdir(), 'strata-swift-'));
  const started = Date.now();
  const r = spawnSync('bash', [join(root, 'scripts/swift/server.sh'), 'start', swiftDir], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    console.error('test: could not start the Swift S3 server (scripts/swift/server.sh start)');
    process.exit(1);
  }
  for (const line of readFileSync(join(swiftDir, 'env'), 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
  console.log(`test: Swift S3 server up at ${env.STRATA_TEST_S3_ENDPOINT} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
function stopSwift() {
  if (swiftDir) spawnSync('bash', [join(root, 'scripts/swift/server.sh'), 'stop', swiftDir], { stdio: 'inherit' });
}

if (!noS3 && !env.STRATA_TEST_S3_ENDPOINT) {
  const haveSwift = spawnSync('sh', ['-c', 'command -v swift-proxy-server']).status === 0;
  if (haveSwift) startSwift();
  else if (env.CI) {
    console.error('test: CI=true but swift-proxy-server is not installed; .ci/run must install it');
    process.exit(1);
  } else {
    console.warn('test: swift-proxy-server not installed; S3 suites will be skipped (install: see README)');
  }
}

let keyringDir;
const testMs = Number(env.STRATA_TEST_TIMEOUT_MS ?? 10 * 60_000);
env.STRATA_TEST_FILE_MS = String(testMs * 1.5);
const watchdog = pathToFileURL(join(root, 'scripts/test-watchdog.mjs')).href;
let command = [process.execPath, '--import', 'tsx', '--import', watchdog, '--test', `--test-timeout=${testMs}`, ...files];
if (process.platform === 'linux') {
  const haveKeyring = spawnSync('sh', ['-c', 'command -v dbus-run-session && command -v dbus-send && command -v gnome-keyring-daemon'], { stdio: 'ignore' }).status === 0;
  if (haveKeyring) {
    keyringDir = mkdtempSync(join(tmpdir(), 'strata-keyring-'));
    writeKeyringSession(keyringDir);
    command = keyringSessionCommand(keyringDir, command);
    env.STRATA_TEST_KEYCHAIN = '1';
  } else if (env.CI) {
    console.error('test: CI=true but dbus-run-session or gnome-keyring-daemon is not installed; .ci/run must install dbus and gnome-keyring');
    stopSwift();
    process.exit(1);
  } else {
    console.warn('test: dbus-run-session or gnome-keyring-daemon not installed; keychain suites will skip (apt-get install dbus gnome-keyring)');
  }
}

const child = spawn(command[0], command.slice(1), { cwd: root, env, stdio: ['inherit', 'inherit', keyringDir ? 'pipe' : 'inherit'] });
if (child.stderr) {
  // dbus-daemon run as root in a container warns that it cannot raise its fd limit, and it says
  // each time it starts the keyring (keyringReport counts those): noise.
  createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) => {
    if (!/dbus-daemon\[\d+\].*(Failed to set fd limit|ctivat\w+ service (name=)?'org\.freedesktop\.secrets')/.test(line)) process.stderr.write(`${line}\n`);
  });
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  const finish = () => {
    stopSwift();
    if (swiftDir) rmSync(swiftDir, { recursive: true, force: true });
    if (keyringDir) for (const line of keyringReport(keyringDir, code !== 0)) console.error(line);
    if (keyringDir) rmSync(keyringDir, { recursive: true, force: true });
    process.exit(code ?? (signal ? 1 : 0));
  };
  // Let the piped stderr drain, but never wait on a stray process that still holds it open.
  if (child.stderr && !child.stderr.readableEnded) {
    child.stderr.once('end', finish);
    setTimeout(finish, 2000);
  } else finish();
});
