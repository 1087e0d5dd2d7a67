// `strata admin` through the CLI's run() against a file:// store: preload creates and extends a
// user layer, org layer versions are published and listed, profiles are assigned, and `users`
// shows devices, last sync, size and snapshots after a device synced. Hostile profiles in the
// bucket give one-line typed errors or warnings; misuse gives exit code 2.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { DirStore } from '../../store/dir.js';
import { run } from '../run.js';
import { writeTree } from '../testkit.js';

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

function failedWith(r: Ran, exit: number, code: string): string {
  assert.equal(r.code, exit, r.stderr);
  assert.equal(r.stdout, '');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0] as string, new RegExp(`^strata: ${code} `));
  return lines[0] as string;
}

describe('strata admin on a file:// store', () => {
  let tmp: string;
  let storeDir: string;
  let cli: (...argv: string[]) => Promise<Ran>;
  let json: (...argv: string[]) => Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const ids: Record<string, string> = {};

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'strata-admin-'));
    storeDir = join(tmp, 'store');
    const url = pathToFileURL(storeDir).href;
    cli = async (...argv) => {
      let stdout = '';
      let stderr = '';
      const code = await run(['--store', url, ...argv], { stdout: (s) => (stdout += s), stderr: { write: (s: string) => (stderr += s), isTTY: false }, env: {} });
      return { code, stdout, stderr };
    };
    json = async (...argv) => {
      const r = await cli(...argv, '--json');
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    await writeTree(join(tmp, 'tpl1'), { Desktop: { 'welcome.txt': 'welcome v1' }, '.config': { app: { 'settings.ini': 'a=1' } } });
    await writeTree(join(tmp, 'tpl2'), { Desktop: { 'welcome.txt': 'welcome v2' }, 'handbook.pdf': 'pdf' });
    await writeTree(join(tmp, 'org-v1'), { 'bookmarks.html': 'v1', 'policy.txt': 'p' });
    await writeTree(join(tmp, 'org-v2'), { 'bookmarks.html': 'v2', 'policy.txt': 'p', 'new.txt': 'n' });
    await writeTree(join(tmp, 'laptop'), { 'notes.txt': 'typed on the laptop' });
    assert.equal((await cli('init')).code, 0);
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  it('preload creates user/alice from a template as device admin', async () => {
    const out = await json('admin', 'preload', '--user', 'alice', '--from', join(tmp, 'tpl1'));
    assert.equal(out.layer, 'user/alice');
    assert.equal(out.changed, true);
    assert.equal(out.extended, null);
    assert.equal(out.device, 'admin');
    assert.equal(out.files, 2);
    assert.match(out.snapshot, HEX64);
    ids.preload1 = out.snapshot;
    const log = await json('log', '--layer', 'user/alice');
    assert.deepEqual(log.heads.map((h: { device: string; snapshot: string }) => [h.device, h.snapshot]), [['admin', out.snapshot]]);
  });

  it('preload again with a second template extends the layer: old files kept, shared path updated', async () => {
    const r = await cli('admin', 'preload', '--user', 'alice', '--from', join(tmp, 'tpl2'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^extended user/alice: snapshot [0-9a-f]{64} \\(device admin\\), parent ${ids.preload1!.slice(0, 12)}\n`));
    const restored = join(tmp, 'restored');
    assert.equal((await cli('restore', restored, '--layer', 'user/alice')).code, 0);
    assert.equal(await readFile(join(restored, 'Desktop/welcome.txt'), 'utf8'), 'welcome v2');
    assert.equal(await readFile(join(restored, '.config/app/settings.ini'), 'utf8'), 'a=1');
    assert.equal(await readFile(join(restored, 'handbook.pdf'), 'utf8'), 'pdf');
    // The second preload and its template record (its last parent, never a head).
    const log = await json('log', '--layer', 'user/alice');
    assert.equal(log.snapshots.length, 3);
    assert.equal(log.snapshots[0].parents.length, 2);
    assert.equal(log.snapshots[0].parents[0], ids.preload1);
    assert.equal(log.snapshots[0].parents[1], log.snapshots[1].id);
    assert.deepEqual(log.snapshots[1].parents, [ids.preload1]);
    ids.preload2 = log.snapshots[0].id;
  });

  it('layer publish prints the new version; v2 has v1 as parent; layer list shows the latest', async () => {
    const v1 = await cli('admin', 'layer', 'publish', 'org/base', '--from', join(tmp, 'org-v1'));
    assert.equal(v1.code, 0, v1.stderr);
    const m = /^published org\/base: snapshot ([0-9a-f]{64})\n {2}2 files, .*first version\n$/.exec(v1.stdout);
    assert.ok(m, v1.stdout);
    const v2 = await json('admin', 'layer', 'publish', 'org/base', '--from', join(tmp, 'org-v2'));
    assert.deepEqual(v2.parents, [m[1]]);
    assert.equal(v2.device, 'admin');
    assert.equal(v2.files, 3);
    await json('admin', 'layer', 'publish', 'org/apps', '--from', join(tmp, 'org-v1'));
    const list = await json('admin', 'layer', 'list');
    assert.deepEqual(
      list.layers.map((l: any) => [l.layer, l.versions, l.latest.snapshot, l.latest.files]), // eslint-disable-line @typescript-eslint/no-explicit-any
      [['org/apps', 1, list.layers[0].latest.snapshot, 2], ['org/base', 2, v2.snapshot, 3]],
    );
    const text = await cli('admin', 'layer', 'list');
    const lines = text.stdout.trimEnd().split('\n');
    assert.match(lines[0] as string, /^LAYER +VERSIONS +LATEST +PUBLISHED +FILES +BYTES$/);
    assert.match(lines[2] as string, new RegExp(`^org/base +2 +${v2.snapshot.slice(0, 12)} +\\d{4}-\\d\\d-\\d\\dT[\\d:]+Z +3 +4 B$`));
  });

  it('layer publish refuses a folder without files over a version with files (an unmounted share) unless --force', async () => {
    const empty = join(tmp, 'unmounted');
    await mkdir(join(empty, 'sub'), { recursive: true });
    const before = await json('admin', 'layer', 'list');
    const refused = failedWith(await cli('admin', 'layer', 'publish', 'org/apps', '--from', empty), 1, 'E_EMPTY_VERSION');
    assert.ok(refused.includes(empty), refused);
    assert.match(refused, /org\/apps.*--force/);
    assert.deepEqual(await json('admin', 'layer', 'list'), before);
    const forced = await json('admin', 'layer', 'publish', 'org/apps', '--from', empty, '--force');
    assert.equal(forced.files, 0);
    assert.equal(forced.changed, true);
    // An empty first version takes nothing from anyone.
    assert.equal((await json('admin', 'layer', 'publish', 'org/empty', '--from', empty)).files, 0);
  });

  it('assign refuses a layer never published unless --force, and keeps the display name', async () => {
    const refused = failedWith(await cli('admin', 'assign', '--user', 'alice', '--layers', 'org/base,org/nope'), 1, 'E_LAYER_NOT_PUBLISHED');
    assert.match(refused, /layers\/org\/nope\/heads\/: .*--force/);
    const forced = await cli('admin', 'assign', '--user', 'alice', '--layers', 'org/base,org/nope', '--force');
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /^strata: warning: org layer org\/nope was never published; assigned anyway \(--force\)\n$/);
    const named = await json('admin', 'assign', '--user', 'alice', '--display-name', 'Alice Smith');
    assert.deepEqual(named.layers, ['org/base', 'org/nope'], 'layers kept when only the name changes');
    const final = await json('admin', 'assign', '--user', 'alice', '--layers', 'org/apps, org/base');
    assert.equal(final.displayName, 'Alice Smith');
    assert.deepEqual(final.layers, ['org/apps', 'org/base']);
    assert.equal(final.version, 1);
    assert.equal(final.user, 'alice');
    const text = await cli('admin', 'assign', '--user', 'bob', '--layers', '', '--display-name', 'Bob');
    assert.equal(text.stdout, 'bob (Bob): no org layers\n');
  });

  it('users shows devices with last sync, layer size and snapshot count after a device synced', async () => {
    const synced = await json('snapshot', join(tmp, 'laptop'), '--layer', 'user/alice', '--device', 'laptop1');
    await json('snapshot', join(tmp, 'laptop'), '--layer', 'user/carol', '--device', 'pc');
    // Last sync: when the bucket got the head (here the head file's mtime), not the device's clock.
    const written = new Map<string, string>();
    for await (const { key, modified } of new DirStore(storeDir).list('layers/user/alice/heads/')) written.set(key, new Date(modified!).toISOString());
    const headTime = (d: string) => written.get(`layers/user/alice/heads/${d}`);
    const out = await json('admin', 'users');
    assert.deepEqual(out.users.map((u: { user: string }) => u.user), ['alice', 'bob', 'carol']);
    const [alice, bob, carol] = out.users;
    assert.equal(alice.displayName, 'Alice Smith');
    assert.deepEqual(alice.layers, ['org/apps', 'org/base']);
    assert.deepEqual(alice.devices, [{ device: 'laptop1', lastSync: headTime('laptop1'), snapshot: synced.snapshot, signedOut: false }]);
    assert.deepEqual(alice.preloads, [{ device: 'admin', at: headTime('admin'), snapshot: ids.preload2 }]);
    assert.equal(alice.snapshots, 4, 'two preloads, a template record, the laptop');
    // The device's snapshot is the newest: the layer's size is what the laptop holds.
    assert.equal(alice.latest.snapshot, synced.snapshot);
    assert.equal(alice.files, 1);
    assert.equal(alice.bytes, 'typed on the laptop'.length);
    assert.deepEqual(alice.problems, []);
    assert.deepEqual([bob.displayName, bob.hasProfile, bob.devices, bob.latest, bob.snapshots], ['Bob', true, [], null, 0]);
    assert.deepEqual([carol.hasProfile, carol.layers, carol.snapshots, carol.devices.map((d: { device: string }) => d.device)], [false, [], 1, ['pc']]);

    const text = await cli('admin', 'users', '--user', 'alice');
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'alice (Alice Smith)');
    assert.equal(lines[1], '  layers     org/apps, org/base');
    assert.match(lines[2] as string, new RegExp(`^ {2}size {7}1 file \\(not counting symlinks\\), 19 B \\(snapshot ${synced.snapshot.slice(0, 12)}, .*Z\\)$`));
    assert.equal(lines[3], '  snapshots  4');
    assert.match(lines[4] as string, new RegExp(`^ {2}preloaded +\\d{4}-.*Z by admin +${ids.preload2!.slice(0, 12)}$`));
    assert.match(lines[5] as string, /^ {2}device +laptop1 +last sync \d{4}-.*Z +[0-9a-f]{12}$/);
    assert.equal(lines.length, 6);
  });

  it('users tells a preload from a device: a new hire preloaded but never signed in has no device', async () => {
    const pre = await json('admin', 'preload', '--user', 'hank', '--from', join(tmp, 'tpl1'));
    const head = 'layers/user/hank/heads/admin';
    let at: string | undefined;
    for await (const { key, modified } of new DirStore(storeDir).list(head)) if (key === head) at = new Date(modified!).toISOString();
    const [hank] = (await json('admin', 'users', '--user', 'hank')).users;
    assert.deepEqual(hank.devices, []);
    assert.deepEqual(hank.preloads, [{ device: 'admin', at, snapshot: pre.snapshot }]);
    const text = await cli('admin', 'users', '--user', 'hank');
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.trimEnd().split('\n');
    assert.ok(lines.some((l) => /^ {2}devices +none: not signed in yet$/.test(l)), text.stdout);
    assert.ok(lines.some((l) => new RegExp(`^ {2}preloaded +\\d{4}-.*Z by admin +${pre.snapshot.slice(0, 12)}$`).test(l)), text.stdout);
    assert.ok(!lines.some((l) => /^ {2}device /.test(l)), text.stdout);
  });

  it("users shows a VDI user's many sessions newest first, signed-out ones marked and the oldest summed up", async () => {
    const store = new DirStore(storeDir);
    const sessions = Array.from({ length: 9 }, (_, i) => `s${String(i + 1).padStart(2, '0')}${'qzkx'[i % 4]}`);
    for (const device of sessions) await json('snapshot', join(tmp, 'laptop'), '--layer', 'user/vic', '--device', device);
    // Every session but the last signed out (its head marked final), one minute apart by the bucket's clock.
    const t0 = Date.parse('2030-01-01T08:00:00Z');
    for (const [i, device] of sessions.entries()) {
      const key = `layers/user/vic/heads/${device}`;
      const head = JSON.parse(Buffer.from(await store.get(key)).toString());
      if (i < sessions.length - 1) await writeFile(join(storeDir, key), JSON.stringify({ ...head, final: true }));
      await utimes(join(storeDir, key), new Date(t0 + i * 60_000), new Date(t0 + i * 60_000));
    }
    const [vic] = (await json('admin', 'users', '--user', 'vic')).users;
    assert.deepEqual(vic.devices.map((d: { device: string; signedOut: boolean }) => [d.device, d.signedOut]), [...sessions].reverse().map((d, i) => [d, i > 0]));
    const text = await cli('admin', 'users', '--user', 'vic');
    const lines = text.stdout.trimEnd().split('\n').slice(4);
    assert.equal(lines.length, 7, text.stdout);
    assert.match(lines[0]!, new RegExp(`^ {2}device +${sessions[8]} +last sync 2030-01-01T08:08:00Z +[0-9a-f]{12}$`));
    assert.match(lines[1]!, new RegExp(`^ {2}device +${sessions[7]} +signed out 2030-01-01T08:07:00Z +[0-9a-f]{12}$`));
    assert.match(lines[5]!, new RegExp(`^ {2}device +${sessions[3]} +signed out 2030-01-01T08:03:00Z +[0-9a-f]{12}$`));
    assert.equal(lines[6], '  …          3 more signed out, the oldest 2030-01-01T08:00:00Z (--json lists them all)');
  });

  it('users says the size is unknown, and why, when snapshots exist but none can be read', async () => {
    const synced = await json('snapshot', join(tmp, 'laptop'), '--layer', 'user/iris', '--device', 'pc');
    const key = join(storeDir, `layers/user/iris/snapshots/${synced.snapshot}`);
    const bytes = await readFile(key);
    await writeFile(key, 'not a snapshot');
    const text = await cli('admin', 'users', '--user', 'iris');
    await writeFile(key, bytes); // the later tests share this bucket
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stderr, /warning: E_\w+ layers\/user\/iris\/snapshots\//);
    const lines = text.stdout.trimEnd().split('\n');
    assert.equal(lines[2], '  size       unknown: no snapshot a head points at could be read (see the warnings)');
    assert.equal(lines[3], '  snapshots  1');
  });

  it('users --user for a user the bucket knows nothing of fails, naming the user', async () => {
    const line = failedWith(await cli('admin', 'users', '--user', 'alcie'), 1, 'E_NO_USER');
    assert.match(line, /layers\/user\/alcie\/.*alcie/);
  });

  it('hostile profiles: users warns and goes on; assign fails with the key unless --force', async () => {
    const store = new DirStore(storeDir);
    await store.put('users/dave/profile', Buffer.from('{"version":1,"user":"dave","displayName":"D","layers":"org/base","updated":"x"}'));
    await store.put('users/erin/profile', Buffer.from('not json at all'));
    await store.put('users/frank/profile', Buffer.alloc(70 * 1024, 0x20));
    const r = await cli('admin', 'users', '--json');
    assert.equal(r.code, 0, r.stderr);
    const warnings = r.stderr.trimEnd().split('\n');
    assert.deepEqual(
      warnings.map((l) => /^strata: warning: (E_\w+) (\S+):/.exec(l)?.slice(1)),
      [['E_BAD_PROFILE', 'users/dave/profile'], ['E_BAD_PROFILE', 'users/erin/profile'], ['E_OBJECT_TOO_LARGE', 'users/frank/profile']],
    );
    const users = JSON.parse(r.stdout).users;
    const dave = users.find((u: { user: string }) => u.user === 'dave');
    assert.equal(dave.hasProfile, false);
    assert.match(dave.problems[0], /^E_BAD_PROFILE users\/dave\/profile: profile: layers is not an array$/);
    assert.ok(users.some((u: { user: string }) => u.user === 'alice'), 'the other users are still listed');

    const line = failedWith(await cli('admin', 'assign', '--user', 'erin', '--layers', 'org/base'), 1, 'E_BAD_PROFILE');
    assert.match(line, /users\/erin\/profile: profile: is not valid JSON .*--force/);
    failedWith(await cli('admin', 'assign', '--user', 'frank', '--layers', 'org/base'), 1, 'E_OBJECT_TOO_LARGE');
    const forced = await cli('admin', 'assign', '--user', 'erin', '--layers', 'org/base', '--force', '--json');
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /warning: E_BAD_PROFILE users\/erin\/profile: .*overwriting it \(--force\)/);
    assert.deepEqual((await json('admin', 'users', '--user', 'erin')).users[0].layers, ['org/base']);
  });

  it('assign refuses --layers with an empty item (org/a,, or a stray comma) as a usage error naming it', async () => {
    for (const given of ['org/base,,', 'org/base,', ',org/base', 'org/base,,org/apps', 'org/base, ,org/apps']) {
      const line = failedWith(await cli('admin', 'assign', '--user', 'gina', '--layers', given), 2, 'E_USAGE');
      assert.match(line, /--layers: .*empty/, line);
      assert.ok(line.includes(JSON.stringify(given)), line);
    }
    // Nothing was written: gina is still unknown.
    failedWith(await cli('admin', 'users', '--user', 'gina'), 1, 'E_NO_USER');
    // '' (and only blanks) still assigns none.
    assert.deepEqual((await json('admin', 'assign', '--user', 'gina', '--layers', ' ')).layers, []);
  });

  it('preload and layer publish leave out what the built-in exclusions name (.DS_Store, Thumbs.db, *.tmp, ~$*, caches) and say so', async () => {
    const junk = { '.DS_Store': 'x', Desktop: { 'welcome.txt': 'hi', 'Thumbs.db': 'x' }, Documents: { 'report.docx': 'r', '~$report.docx': 'lock', 'draft.tmp': 't' }, '.cache': { app: { blob: 'c' } } };
    const left = ['.DS_Store', '.cache/', 'Desktop/Thumbs.db', 'Documents/draft.tmp', 'Documents/~$report.docx'];
    await writeTree(join(tmp, 'tpl-junk'), junk);
    const pre = await json('admin', 'preload', '--user', 'ivy', '--from', join(tmp, 'tpl-junk'));
    assert.deepEqual([pre.files, pre.excluded], [2, left]);
    const pub = await json('admin', 'layer', 'publish', 'org/junk', '--from', join(tmp, 'tpl-junk'));
    assert.deepEqual([pub.files, pub.excluded], [2, left]);
    for (const layer of ['user/ivy', 'org/junk']) {
      const restored = join(tmp, `restored-${layer.replace('/', '-')}`);
      assert.equal((await cli('restore', restored, '--layer', layer)).code, 0);
      assert.deepEqual((await readdir(restored, { recursive: true })).sort(), ['Desktop', 'Desktop/welcome.txt', 'Documents', 'Documents/report.docx']);
    }
    await writeTree(join(tmp, 'tpl-junk'), { Documents: { 'report.docx': 'r2' } });
    const text = await cli('admin', 'layer', 'publish', 'org/junk', '--from', join(tmp, 'tpl-junk'));
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /\n {2}left out by the exclusion rules: 5 paths: \.DS_Store, \.cache\/, Desktop\/Thumbs\.db, Documents\/draft\.tmp, Documents\/~\$report\.docx\n$/);
  });

  it('preload and layer publish of a template with entries no layer can hold (a FIFO, a name Windows refuses) store the rest, name each one, and exit 4', async () => {
    const tpl = join(tmp, 'tpl-odd');
    await writeTree(tpl, { 'welcome.txt': 'hi', 'CON': 'x', empty: {} });
    await symlink('/etc/passwd', join(tpl, 'outside'));
    execFileSync('mkfifo', [join(tpl, 'pipe')]);
    for (const argv of [['preload', '--user', 'odd'], ['layer', 'publish', 'org/odd']]) {
      const r = await cli('admin', ...argv, '--from', tpl, '--json');
      assert.equal(r.code, 4, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.deepEqual(out.skipped.map((s: { path: string }) => s.path), ['CON', 'pipe']);
      assert.deepEqual(r.stderr.trimEnd().split('\n').map((l) => l.replace(/^(strata: warning: skipped \S+): .*/, '$1')), ['strata: warning: skipped CON', 'strata: warning: skipped pipe']);
      const listed = await cli('ls', '--layer', argv[0] === 'preload' ? 'user/odd' : 'org/odd');
      // The link is stored as a link, never followed out of the folder; the empty folder is kept.
      assert.match(listed.stdout, /outside -> \/etc\/passwd/);
      assert.match(listed.stdout, / empty\/\n/);
    }
  });

  it('misuse is a usage error (exit 2): no or unknown subcommand, foreign options, bad ids', async () => {
    const usage = async (...argv: string[]) => failedWith(await cli('admin', ...argv), 2, 'E_USAGE');
    assert.match(await usage(), /admin needs a subcommand: preload, layer publish, layer list, assign, users/);
    await usage('frobnicate');
    await usage('layer');
    await usage('layer', 'delete', 'org/x');
    assert.match(await usage('users', '--from', tmp), /--from does not apply to admin users/);
    await usage('preload', '--user', 'alice');
    await usage('preload', '--user', 'a/b', '--from', tmp);
    await usage('preload', '--user', 'alice', '--from', tmp, 'extra');
    await usage('layer', 'publish', 'user/alice', '--from', tmp);
    await usage('layer', 'publish', '--from', tmp);
    await usage('assign', '--user', 'alice');
    await usage('assign', '--user', 'alice', '--layers', 'org/a,user/b');
    await usage('assign', '--user', 'alice', '--layers', 'org/a,org/a');
    await usage('assign', '--user', 'alice', '--display-name', 'bell\u0007');
    await usage('preload', '--user', 'alice', '--from', tmp, '--device', 'bad/device');
    // Admin heads must read as admin writes, never as a user's device.
    assert.match(await usage('preload', '--user', 'alice', '--from', tmp, '--device', 'laptop1'), /admin-<name>/);
    await usage('layer', 'publish', 'org/base', '--from', tmp, '--device', 'ops');
    const help = await cli('admin', 'help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /strata admin layer publish <org\/name> --from <dir>\n/);
    const opts = await cli('admin', '--help');
    assert.match(opts.stdout, /^usage: strata admin /);
    failedWith(await cli('admin', 'preload', '--user', 'zed', '--from', join(tmp, 'missing')), 1, 'E_NO_ROOT');
  });
  it('gc removes packs in no index past the grace period (the bucket\'s time), keeps young ones, and a dry run removes nothing', async () => {
    const leftover = async (seed: string, ageMs: number) => {
      const id = createHash('sha256').update(seed).digest('hex');
      const path = join(storeDir, 'data', id.slice(0, 2), id);
      await mkdir(join(storeDir, 'data', id.slice(0, 2)), { recursive: true });
      await writeFile(path, 'x'.repeat(100));
      const t = new Date(Date.now() - ageMs);
      await utimes(path, t, t);
      return `data/${id.slice(0, 2)}/${id}`;
    };
    const old = [await leftover('old-1', 2 * 86_400_000), await leftover('old-2', 25 * 3_600_000)];
    const young = await leftover('young', 3_600_000);
    const packs = async () => (await readdir(join(storeDir, 'data'), { recursive: true })).filter((p) => HEX64.test(p.split('/').at(-1) ?? '')).length;
    const before = await packs();

    const dry = await json('admin', 'gc', '--dry-run');
    assert.equal(dry.dryRun, true);
    assert.deepEqual(dry.removed, { count: 2, bytes: 200, packs: [...old].sort() });
    assert.equal(dry.kept.young, 1);
    assert.equal(await packs(), before);

    const text = await cli('admin', 'gc');
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^removed 2 unindexed packs \(200 B\), in no index for at least 24h\n/);
    assert.match(text.stdout, /\nindexes: read \d+ \(\d+ live\), (wrote none|wrote 1 consolidated index merging \d+), deleted 0 superseded\n/);
    assert.equal(await packs(), before - 2);
    // The packs and indexes are whole (the damaged profiles the tests before left are not gc's).
    const checked = JSON.parse((await cli('check', '--json')).stdout) as { problems: { code: string; key?: string }[] };
    assert.deepEqual(checked.problems.filter((p) => !p.key?.startsWith('users/')), []);

    const shorter = await json('admin', 'gc', '--grace', '30m');
    assert.deepEqual(shorter.removed.packs, [young]);
    assert.equal(shorter.kept.indexed, before - 3);
    failedWith(await cli('admin', 'gc', '--grace', '24'), 2, 'E_USAGE');
    failedWith(await cli('admin', 'gc', '--grace', '-1h'), 2, 'E_USAGE');
    failedWith(await cli('admin', 'gc', '--max-indexes', '0'), 2, 'E_USAGE');
  });

  // A put killed between writing its temp file and the rename leaves the temp file: the folder
  // store's partial upload, which nothing else ever removes.
  it('gc removes the temp files of crashed puts past the grace period and keeps young ones, which a put may still be writing', async () => {
    const temp = async (dir: string, name: string, ageMs: number) => {
      await mkdir(join(storeDir, dir), { recursive: true });
      await writeFile(join(storeDir, dir, name), 'partial');
      const t = new Date(Date.now() - ageMs);
      await utimes(join(storeDir, dir, name), t, t);
    };
    await temp('data/ab', '.strata-tmp-00000000000000aa', 2 * 86_400_000);
    await temp('layers/user/alice/heads', '.strata-tmp-00000000000000bb', 3_600_000);
    const dry = await json('admin', 'gc', '--dry-run');
    assert.deepEqual(dry.uploads, { removed: [{ key: 'data/ab/.strata-tmp-00000000000000aa', uploadId: '.strata-tmp-00000000000000aa' }], young: 1, unsure: 0 });
    const text = await cli('admin', 'gc');
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /\naborted 1 partial upload, begun at least 24h ago\nkept 1 partial upload younger than 24h\n$/);
    // data/ab may hold a pack of the tests before (1 run in 256 one's id begins with ab): only the temps count.
    assert.deepEqual((await readdir(join(storeDir, 'data/ab'))).filter((n) => n.startsWith('.strata-tmp-')), []);
    assert.deepEqual((await readdir(join(storeDir, 'layers/user/alice/heads'))).filter((n) => n.startsWith('.strata-tmp-')), ['.strata-tmp-00000000000000bb']);
  });
});
