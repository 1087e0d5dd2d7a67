// The strata CLI end to end, as child processes against a file:// store in a temp folder:
// init → snapshot → log → ls → restore (identical) → check → damage → check fails.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { makeRng } from '../testing/random.js';
import { LAUNCHER, cleanEnv, describeRun, listFiles, readTree, spawnNode, strata, writeTree, type RunResult } from './testkit.js';

const LAYER = 'user/alice';
const DEVICE = 'test-device';
const rng = makeRng(20240501);

/** One failure line on stderr and nothing on stdout. */
function assertFailure(r: RunResult, exit: number, code: string): void {
  assert.equal(r.code, exit, describeRun(r));
  assert.equal(r.stdout, '', describeRun(r));
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, describeRun(r));
  assert.match(lines[0] as string, new RegExp(`^strata: ${code} `));
}

function assertOk(r: RunResult): void {
  assert.equal(r.code, 0, describeRun(r));
}

describe('strata CLI on a file:// store', () => {
  let tmp: string;
  let src: string;
  let store: string;
  const cli = (...args: string[]) => strata(['--store', store, '--device', DEVICE, ...args]);
  let firstId: string;

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'strata-cli-'));
    src = join(tmp, 'src');
    store = pathToFileURL(join(tmp, 'store', 'repo')).href;
    await writeTree(src, {
      'notes.txt': 'hello strata\n',
      'empty.txt': '',
      'run.sh': { mode: 0o755, data: '#!/bin/sh\necho hi\n' },
      'link-to-notes': { link: 'notes.txt' },
      docs: { 'a.bin': rng.bytes(20_000), deep: { 'b.bin': rng.bytes(150_000), 'c.txt': 'c' } },
      'empty-dir': {},
    });
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  it('init creates the folder and the repository', async () => {
    const r = await cli('init');
    assertOk(r);
    assert.match(r.stdout, /^created repository [0-9a-f-]+ at file:\/\//);
    assert.ok((await readFile(join(tmp, 'store', 'repo', 'config'))).byteLength > 0);
  });

  it('a second init fails with E_REPO_EXISTS and exit 1', async () => {
    assertFailure(await cli('init'), 1, 'E_REPO_EXISTS');
  });

  it('snapshot --json prints one object with the transfer report', async () => {
    const r = await cli('snapshot', src, '--layer', LAYER, '--json');
    assertOk(r);
    const out = JSON.parse(r.stdout);
    assert.match(out.snapshot, /^[0-9a-f]{64}$/);
    assert.equal(out.files, 6);
    assert.equal(out.bytes, 13 + 18 + 20_000 + 150_000 + 1);
    assert.ok(out.bytesUploaded >= out.bytes, 'everything was new');
    assert.equal(out.bytesSeeded, 0);
    assert.equal(typeof out.bytesDownloaded, 'number');
    for (const k of ['gets', 'puts', 'lists', 'heads']) assert.equal(typeof out.requests[k], 'number', k);
    assert.ok(out.requests.puts >= 4, 'pack, index, snapshot, head');
    assert.ok(out.seconds >= 0);
    assert.deepEqual(out.parents, []);
    firstId = out.snapshot;
  });

  it('log shows the snapshot with its head', async () => {
    const r = await cli('log', '--layer', LAYER);
    assertOk(r);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 2, r.stdout);
    assert.match(lines[1] as string, new RegExp(`^${firstId.slice(0, 12)} .* ${DEVICE} .* 6 .* \\* ${DEVICE}$`));
  });

  it('ls lists every entry recursively, and a sub-path', async () => {
    const r = await cli('ls', '--layer', LAYER);
    assertOk(r);
    const paths = r.stdout.trim().split('\n').map((l) => l.split(/\s+/).slice(4).join(' '));
    assert.deepEqual(paths, ['docs/', 'docs/a.bin', 'docs/deep/', 'docs/deep/b.bin', 'docs/deep/c.txt', 'empty-dir/', 'empty.txt', 'link-to-notes -> notes.txt', 'notes.txt', 'run.sh']);
    assert.match(r.stdout, /^file +-rwxr-xr-x +\d+ +\d{4}-\d\d-\d\dT[\d:]+Z +run\.sh$/m);
    const sub = JSON.parse((await cli('ls', '--layer', LAYER, '--snapshot', firstId.slice(0, 8), '--json', 'docs/deep')).stdout);
    assert.equal(sub.snapshot, firstId);
    assert.deepEqual(
      sub.entries.map((e: { path: string; type: string; size: number | null }) => [e.path, e.type, e.size]),
      [['docs/deep', 'dir', null], ['docs/deep/b.bin', 'file', 150_000], ['docs/deep/c.txt', 'file', 1]],
    );
  });

  it('ls of a path that is not there fails with E_PATH_NOT_FOUND', async () => {
    assertFailure(await cli('ls', '--layer', LAYER, 'docs/nope'), 1, 'E_PATH_NOT_FOUND');
  });

  it('restore lays down an identical tree', async () => {
    const target = join(tmp, 'restored');
    const r = await cli('restore', target, '--layer', LAYER, '--json');
    assertOk(r);
    const out = JSON.parse(r.stdout);
    assert.equal(out.snapshot, firstId);
    assert.equal(out.files, 6);
    assert.equal(out.bytesSeeded, 0);
    assert.ok(out.bytesDownloaded >= out.bytes);
    assert.equal(out.requests.puts, 0);
    assert.deepEqual(await readTree(target), await readTree(src));
  });

  it('restore to a folder that cannot be made (under /proc) fails with one line instead of spinning', { skip: process.platform !== 'linux' && '/proc is Linux only' }, async () => {
    // Node's own mkdir -p retries forever where a parent exists but refuses new entries; the
    // guard kills such a run, which then fails here.
    const target = '/proc/strata-no-such/restored';
    const inPlace = await strata(['--store', store, '--device', DEVICE, 'restore', target, '--layer', LAYER], cleanEnv(), 60_000);
    assertFailure(inPlace, 1, 'E_BAD_TARGET');
    assert.match(inPlace.stderr, /\/proc\/strata-no-such\/restored: .*cannot be created/);
    const beside = await strata(['--store', store, '--device', DEVICE, 'restore', target, '--layer', LAYER, '--path', 'notes.txt', '--beside'], cleanEnv(), 60_000);
    assertFailure(beside, 1, 'E_BAD_TARGET');
  });

  it('a failure naming a path of several KB prints it shortened in the middle, its start and its end kept', { skip: process.platform !== 'linux' && '/proc is Linux only' }, async () => {
    const target = `/proc/strata-no-such/${Array.from({ length: 12 }, (_, i) => `${i}-${'d'.repeat(200)}`).join('/')}/restored`;
    const r = await strata(['--store', store, '--device', DEVICE, 'restore', target, '--layer', LAYER], cleanEnv(), 60_000);
    assertFailure(r, 1, 'E_BAD_TARGET');
    assert.ok(r.stderr.length < 400, r.stderr);
    assert.match(r.stderr, /^strata: E_BAD_TARGET \/proc\/strata-no-such\/0-d+…d+\/restored: /);
  });

  it('a state dir or a folder store that cannot be made (under /proc) fails at once, not spinning', { skip: process.platform !== 'linux' && '/proc is Linux only' }, async () => {
    const sync = await strata(['--store', store, 'sync', src, '--once', '--layer', LAYER, '--state-dir', '/proc/strata-no-such/state'], cleanEnv(), 60_000);
    assertFailure(sync, 1, 'E_PATH_NOT_FOUND');
    assert.match(sync.stderr, /^strata: E_PATH_NOT_FOUND \/proc\/strata-no-such: no such file or directory \(mkdir\)\n$/);
    const init = await strata(['--store', 'file:///proc/strata-no-such/repo', 'init'], cleanEnv(), 60_000);
    assertFailure(init, 1, 'E_PATH_NOT_FOUND');
  });

  it('a failed system call is coded by what to do about it: a file in the way, a path too long', async () => {
    const file = join(tmp, 'a-file');
    await writeFile(file, 'x');
    const sync = (stateDir: string) => strata(['--store', store, 'sync', src, '--once', '--layer', LAYER, '--state-dir', stateDir], cleanEnv(), 60_000);
    const atFile = await sync(file);
    assertFailure(atFile, 1, 'E_PATH_EXISTS');
    assert.equal(atFile.stderr, `strata: E_PATH_EXISTS ${file}: file already exists (mkdir)\n`);
    const underFile = await sync(join(file, 'state'));
    assertFailure(underFile, 1, 'E_PATH_NOT_FOUND');
    assert.equal(underFile.stderr, `strata: E_PATH_NOT_FOUND ${join(file, 'state')}: not a directory (mkdir)\n`);
    assertFailure(await strata(['--store', pathToFileURL(file).href, 'init']), 1, 'E_PATH_EXISTS');
    const tooLong = await sync(join(tmp, 'n'.repeat(300), 'state'));
    assertFailure(tooLong, 1, 'E_PATH_TOO_LONG');
    assert.match(tooLong.stderr, /: name too long \(mkdir\)\n$/);
  });

  it('a second snapshot records its parent; log lists newest first and moves the head', async () => {
    await writeFile(join(src, 'notes.txt'), 'changed\n');
    const r = await cli('snapshot', src, '--layer', LAYER);
    assertOk(r);
    assert.match(r.stdout, /^snapshot [0-9a-f]{12} of user\/alice \(device test-device\)/);
    const log = JSON.parse((await cli('log', '--layer', LAYER, '--json')).stdout);
    assert.equal(log.snapshots.length, 2);
    assert.deepEqual(log.snapshots[0].parents, [firstId]);
    assert.deepEqual(log.snapshots[0].heads, [DEVICE]);
    assert.deepEqual(log.snapshots[1].heads, []);
  });

  it('restore --snapshot <prefix> with --seed restores the older snapshot, seeding from local files', async () => {
    const target = join(tmp, 'old');
    const r = await cli('restore', target, '--layer', LAYER, '--snapshot', firstId.slice(0, 10), '--seed', src, '--json');
    assertOk(r);
    const out = JSON.parse(r.stdout);
    assert.equal(out.snapshot, firstId);
    assert.ok(out.bytesSeeded > 0, describeRun(r));
    assert.equal((await readFile(join(target, 'notes.txt'), 'utf8')), 'hello strata\n');
    assert.deepEqual(await readTree(join(target, 'docs')), await readTree(join(src, 'docs')));
  });

  it('check passes on an intact repository', async () => {
    const r = await cli('check', '--read-data');
    assertOk(r);
    assert.match(r.stdout, /no problems/);
  });

  it('check fails on a damaged user profile and warns of an assigned org layer never published', async () => {
    const users = join(tmp, 'store', 'repo', 'users');
    await writeTree(users, {
      eve: { profile: '{"version":1' },
      bob: { profile: JSON.stringify({ displayName: '', layers: ['org/later'], updated: '2024-05-01T10:00:00.000Z', user: 'bob', version: 1 }) },
    });
    const r = await cli('check', '--json');
    assert.equal(r.code, 1, describeRun(r));
    const report = JSON.parse(r.stdout);
    assert.deepEqual(report.problems.map((p: { code: string; key: string }) => [p.code, p.key]), [['E_BAD_PROFILE', 'users/eve/profile']]);
    assert.deepEqual(report.warnings.map((p: { code: string; key: string }) => [p.code, p.key]), [['E_LAYER_NOT_PUBLISHED', 'users/bob/profile']]);
    assert.equal(report.counts.profiles, 2);
    await rm(users, { recursive: true });
  });

  it('check warns of a key that belongs to nothing, and still passes', async () => {
    const junk = join(tmp, 'store', 'repo', 'notes-from-admin.txt');
    await writeFile(junk, 'hello');
    const r = await cli('check', '--json');
    assertOk(r);
    assert.deepEqual(JSON.parse(r.stdout).warnings.map((p: { code: string; key: string }) => [p.code, p.key]), [['E_BAD_OBJECT', 'notes-from-admin.txt']]);
    await unlink(junk);
  });

  it('check --read-data finds a flipped byte and names the pack; a deleted pack fails check', async () => {
    const repoDir = join(tmp, 'store', 'repo');
    const packs = (await listFiles(join(repoDir, 'data'))).map((p) => `data/${p}`);
    assert.ok(packs.length >= 1);
    const pack = packs[0] as string;
    const bytes = await readFile(join(repoDir, pack));
    const at = Math.floor(bytes.byteLength / 2);
    bytes[at] = (bytes[at] as number) ^ 0xff;
    await writeFile(join(repoDir, pack), bytes);

    const structural = await cli('check');
    const deep = await cli('check', '--read-data');
    assert.equal(deep.code, 1, describeRun(deep));
    assert.ok(deep.stdout.includes(pack), describeRun(deep));
    assert.match(deep.stderr, /^strata: E_CHECK_FAILED /);
    assert.equal(deep.stderr.trim().split('\n').filter((l) => !l.startsWith('strata: warning:')).length, 1);
    assert.ok(structural.code === 0 || structural.stdout.includes(pack), describeRun(structural));

    await unlink(join(repoDir, pack));
    const missing = await cli('check', '--json');
    assert.equal(missing.code, 1, describeRun(missing));
    const report = JSON.parse(missing.stdout);
    assert.equal(report.ok, false);
    assert.ok(report.problems.some((p: { code: string; key: string }) => p.code === 'E_PACK_MISSING' && p.key === pack), missing.stdout);
  });
});

describe('strata CLI usage errors exit 2 with one line', { concurrency: 2 }, () => {
  const store = 'memory:';
  const cases: [string, string[], NodeJS.ProcessEnv?][] = [
    ['no command', []],
    ['unknown command', ['frobnicate']],
    ['unknown flag', ['--store', store, 'log', '--layer', LAYER, '--bogus']],
    ['missing --layer', ['--store', store, 'log']],
    ['missing <dir>', ['--store', store, 'snapshot', '--layer', LAYER]],
    ['extra argument', ['--store', store, 'check', 'extra']],
    ['flag without its value', ['--store', store, 'log', '--layer']],
    ['invalid layer', ['--store', store, 'log', '--layer', 'alice']],
    ['invalid device', ['--store', store, '--device', '-x', 'log', '--layer', LAYER]],
    // Nobody signed in with this state dir either (without --store, log reads the signed-in session).
    ['no store', ['log', '--layer', LAYER, '--state-dir', '/nonexistent/strata-state']],
    ['bad store URL', ['--store', 'ftp://example.com/x', 'init']],
    ['s3 store without credentials', ['--store', 's3://bucket-name/p', 'init']],
    ['bad snapshot id', ['--store', store, 'ls', '--layer', LAYER, '--snapshot', 'xyz']],
    // Before the session is even read (there is none here): a bad timing never comes after a lay.
    ['agent --org-check below a second', ['agent', '--state-dir', '/nonexistent/strata-state', '--org-check', '0.5']],
    ['agent --poll not a number', ['agent', '--state-dir', '/nonexistent/strata-state', '--poll', 'soon']],
  ];
  for (const [name, args] of cases) {
    it(name, async () => assertFailure(await strata(args), 2, 'E_USAGE'));
  }

  it('--help prints the command help and exits 0; STRATA_STORE is read from the environment', async () => {
    const help = await strata(['restore', '--help']);
    assertOk(help);
    assert.match(help.stdout, /^usage: strata restore <dir>\|<path> \[options\]/);
    assert.match(help.stdout, /--seed <dir>/);
    const top = await strata(['--help']);
    assertOk(top);
    for (const c of ['init', 'snapshot', 'restore', 'log', 'ls', 'check']) assert.match(top.stdout, new RegExp(`^  ${c} `, 'm'));
    // Every exit code a command can give is in the help (sync --once gives 3).
    assert.match(top.stdout, /Exit codes: 0 success, 1 failure, 2 bad usage, 3 waiting for the user/);
    const fromEnv = await strata(['log', '--layer', LAYER], cleanEnv({ STRATA_STORE: 'memory:' }));
    assertFailure(fromEnv, 1, 'E_NO_REPOSITORY');
  });

  it('bin/strata.js runs the CLI and passes its exit code through', async () => {
    const help = await spawnNode([LAUNCHER, 'log', '--help']);
    assertOk(help);
    assert.match(help.stdout, /^usage: strata log \[path\] \[options\]/);
    assertFailure(await spawnNode([LAUNCHER, 'log', '--bogus']), 2, 'E_USAGE');
  });
});
