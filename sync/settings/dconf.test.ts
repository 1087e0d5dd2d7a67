import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { describeError, StrataError } from '../errors.js';
import { failFileHandle } from '../testing/fd-faults.js';
import { fillUp, NEEDS_MOUNT, withTmpfs } from '../testing/tmpfs.js';
import { Dconf } from './dconf.js';
import { keyFile, parseDump } from './dconf-keyfile.js';
import { needsDconf, startDconf } from './testkit.js';
import { makeFifo, notWaitingOn } from '../testing/fifo.js';
import { NEEDS_STRACE, traceSyncs } from '../testing/strace.js';

describe('dconf dump and key files', () => {
  it('reads a dump by full key path, sections relative to the dir dumped', () => {
    const text = "[/]\ntheme='dark'\nsize=uint32 12\n\n[sub/deeper]\nlist=['a', 'b=c']\n";
    const { values, skipped } = parseDump('/org/app/', text);
    assert.deepEqual(Object.fromEntries(values), { '/org/app/theme': "'dark'", '/org/app/size': 'uint32 12', '/org/app/sub/deeper/list': "['a', 'b=c']" });
    assert.deepEqual(skipped, []);
  });

  it('skips keys whose names the layer cannot hold, and says which', () => {
    const { values, skipped } = parseDump('/org/app/', "[/]\nwe ird=1\nok=2\n[.hidden]\nx=3\n");
    assert.deepEqual([...values.keys()], ['/org/app/ok']);
    assert.deepEqual(skipped, ['/org/app/we ird', '/org/app/.hidden/x']);
  });

  it('a key name holding a newline spans lines of the dump: skipped whole, never read as the key its last line names', () => {
    const text = "[/]\nx\ntheme='evil'\nok=1\ny\n\n[b]=['v']\n#z=2\n[sub]\nk=3\n";
    const { values, skipped } = parseDump('/org/app/', text);
    assert.deepEqual(Object.fromEntries(values), { '/org/app/ok': '1', '/org/app/sub/k': '3' });
    assert.deepEqual(skipped, ['/org/app/x\ntheme', '/org/app/y\n\n[b]', '/org/app/#z']);
  });

  it('writes one key file section per dir', () => {
    assert.equal(keyFile([{ key: '/org/a/x', value: '1' }, { key: '/org/a/y', value: "'s'" }, { key: '/top', value: 'true' }]), "[org/a]\nx=1\ny='s'\n\n[/]\ntop=true\n");
  });
});


describe('dconf: the database made durable after a write', { skip: process.platform === 'win32' && 'no FIFOs on Windows' }, () => {
  // The database is opened to be fsynced after every write: a FIFO found at its path must not make
  // the write wait for a writer; it fails, not taken for durable.
  it('a FIFO where the database should be fails the write with E_SETTINGS, without waiting on it', { timeout: 30_000 }, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-dconf-fifo-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await mkdir(join(dir, 'dconf'));
    const db = join(dir, 'dconf', 'user');
    makeFifo(db);
    await writeFile(join(dir, 'profile'), 'user-db:user\n');
    // `true` stands in for dconf: the load succeeds, and the database is then opened.
    const dconf = new Dconf({ command: 'true', env: { PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: dir, DCONF_PROFILE: join(dir, 'profile') } });
    await assert.rejects(notWaitingOn(db, dconf.write([{ key: '/org/test/app/theme', value: "'dark'" }])), (err) => err instanceof StrataError && err.code === 'E_SETTINGS' && err.path === db);
  });
});

describe('dconf where the disk refuses a write', () => {
  it('an fsync of the database that fails: E_SETTINGS naming it, in the OS\'s words', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-dconf-eio-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await mkdir(join(dir, 'dconf'));
    const db = join(dir, 'dconf', 'user');
    await writeFile(db, 'a database');
    await writeFile(join(dir, 'profile'), 'user-db:user\n');
    // `true` stands in for dconf: the load succeeds, and the database is then fsynced.
    const dconf = new Dconf({ command: 'true', env: { PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: dir, DCONF_PROFILE: join(dir, 'profile') } });
    await failFileHandle(t, 'sync', 'EIO', 'fsync');
    const err = await dconf.write([{ key: '/org/test/app/theme', value: "'dark'" }]).catch((e: unknown) => e);
    assert.equal(describeError(err), `E_SETTINGS ${db}: the dconf database could not be made durable: injected failure (fsync)`);
  });

  it('canonical with a full temp folder: the error names the file it was writing', { skip: NEEDS_MOUNT }, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-dconf-nospace-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const disk = join(dir, 'tmp');
    const before = process.env.TMPDIR;
    t.after(() => void (before === undefined ? delete process.env.TMPDIR : (process.env.TMPDIR = before)));
    await withTmpfs(disk, '64k', async () => {
      await fillUp(disk);
      process.env.TMPDIR = disk;
      const err = await new Dconf({ command: 'true' }).canonical([`'${'x'.repeat(8192)}'`]).catch((e: unknown) => e);
      assert.match(describeError(err), new RegExp(`^ENOSPC ${disk}/strata-dconf-canonical-\\w+/keyfiles/values: no space left on device \\(write\\)$`));
    });
  });
});

describe('dconf, real (a database and a session bus of its own)', { skip: needsDconf }, () => {
  // The mirror records a value written into dconf as agreed once the write returns: were the
  // database to lose it at a power loss, the next run would take dconf's old value for a change
  // made here and push it over the layer's. dconf's service replies once its database is renamed
  // in place, fsynced only where a database was there before (GLib's g_file_set_contents; not on
  // btrfs at all): the first write to a new database is not durable when it returns.
  it('a write returns once the database is durable: its content and its folder fsynced after its last rename, the first write to a new database too', { skip: NEEDS_STRACE }, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-dconf-trace-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const marker = join(dir, 'written');
    const { calls, stdout } = await traceSyncs(dir, fileURLToPath(new URL('./dconf-child.ts', import.meta.url)), [marker]);
    const config = stdout.trim();
    const db = join(config, 'dconf', 'user');
    const written = calls.findIndex((c) => c[0] === 'rename' && c[1] === marker);
    assert.ok(written >= 0);
    const renamed = calls.slice(0, written).map((c) => c[0] === 'rename' && c[2] === db).lastIndexOf(true);
    assert.ok(renamed >= 0, 'the database was written');
    const synced = (path: string, from: number) => calls.some((c, i) => i >= from && i < written && (c[0] === 'syncfs' || (c[0] === 'fsync' && c[1] === path)));
    assert.ok(synced(calls[renamed]![1]!, 0) || synced(db, renamed), 'the database was not fsynced before the write returned');
    assert.ok(synced(join(config, 'dconf'), renamed), 'the database folder was not fsynced after its rename, before the write returned');
  });

  it('writes values, reads them back, and resets keys', async (t) => {
    const { dconf } = await startDconf(t);
    assert.deepEqual(await dconf.write([
      { key: '/org/test/app/theme', value: "'dark'" },
      { key: '/org/test/app/sub/list', value: "['a', 'b\\nc', \"it's\"]" },
      { key: '/org/test/other/x', value: 'uint32 7' },
    ]), []);
    assert.deepEqual(Object.fromEntries((await dconf.read('/org/test/app/')).values), { '/org/test/app/theme': "'dark'", '/org/test/app/sub/list': "['a', 'b\\nc', \"it's\"]" });
    assert.deepEqual(await dconf.write([{ key: '/org/test/app/theme', value: undefined }]), []);
    assert.deepEqual(Object.fromEntries((await dconf.read('/org/test/app/')).values), { '/org/test/app/sub/list': "['a', 'b\\nc', \"it's\"]" });
    assert.deepEqual([...(await dconf.read('/org/none/')).values], []);
  });

  it('canonical: each value as a read shows it once written, undefined for one dconf refuses; the user\'s database untouched', async (t) => {
    const { dconf } = await startDconf(t);
    const values = ['"dark"', "'it\\'s'", '"it\'s"', 'uint32 5', '@as []', "[ 'a','b' ]", 'true', '  5  ', '(1, "x")', "{'k': <1>}", 'not a value', "[1, 'a']", "'a\\nb'"];
    const canonical = await dconf.canonical(values);
    const written = values.map((value, i) => ({ key: `/org/test/k${i}`, value }));
    const refused = await dconf.write(written);
    const read = (await dconf.read('/org/test/')).values;
    assert.deepEqual(refused.map((p) => p.key).sort(), ['/org/test/k10', '/org/test/k11']);
    assert.deepEqual(canonical, written.map((w) => read.get(w.key)));
    assert.equal(canonical[0], "'dark'");
    assert.deepEqual(await dconf.canonical([]), []);
    await dconf.write(written.map((w) => ({ key: w.key, value: undefined })));
    await dconf.canonical(['"x"']);
    assert.deepEqual([...(await dconf.read('/')).values], []);
  });

  it('resets a dir whose every key goes with one dconf reset -f, and only the keys that go elsewhere (a key dump cannot show stays)', async (t) => {
    const { env } = await startDconf(t);
    const keys = (dir: string, n: number) => Array.from({ length: n }, (_, i) => `${dir}k${i}`);
    const gone = [...keys('/org/test/gone/', 30), ...keys('/org/test/gone/sub/', 10)];
    const part = keys('/org/test/part/', 10);
    const hidden = keys('/org/test/hidden/', 5);
    const plain = new Dconf({ env });
    assert.deepEqual(await plain.write([...gone, ...part, ...hidden, '/org/test/part/keep'].map((key) => ({ key, value: '1' }))), []);
    // A name dconf's dump leaves out: only a list shows it.
    assert.equal(spawnSync('dconf', ['write', '/org/test/hidden/x=y', '2'], { env }).status, 0);

    const dir = await mkdtemp(join(tmpdir(), 'strata-dconf-log-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const logged = join(dir, 'dconf');
    await writeFile(logged, `#!/bin/sh\necho "$*" >> ${join(dir, 'log')}\nexec dconf "$@"\n`, { mode: 0o755 });
    assert.deepEqual(await new Dconf({ command: logged, env }).write([...gone, ...part, ...hidden].map((key) => ({ key, value: undefined }))), []);

    assert.deepEqual(Object.fromEntries((await plain.read('/org/test/')).values), { '/org/test/part/keep': '1' });
    assert.equal(spawnSync('dconf', ['read', '/org/test/hidden/x=y'], { env, encoding: 'utf8' }).stdout.trim(), '2');
    const resets = (await readFile(join(dir, 'log'), 'utf8')).split('\n').filter((l) => l.startsWith('reset'));
    assert.deepEqual(resets.sort(), ['reset -f /org/test/gone/', ...[...part, ...hidden].map((k) => `reset ${k}`)].sort());
  });

  it('a key whose name holds a newline is skipped, not read as another key', async (t) => {
    const { dconf, env } = await startDconf(t);
    assert.equal(spawnSync('dconf', ['write', '/org/test/x\ntheme', "'evil'"], { env }).status, 0);
    assert.deepEqual(await dconf.write([{ key: '/org/test/ok', value: '1' }]), []);
    const { values, skipped } = await dconf.read('/org/test/');
    assert.deepEqual(Object.fromEntries(values), { '/org/test/ok': '1' });
    assert.deepEqual(skipped, ['/org/test/x\ntheme']);
  });

  it('skips the names a dump cannot show ("=", "[", "]", a space at either end; a dir with "[" or "]"), found by dconf list', async (t) => {
    const { dconf, env } = await startDconf(t);
    const unseen = ['/org/test/a=b', '/org/test/c[d', '/org/test/e]f', '/org/test/ lead', '/org/test/sub/[sec]/y', '/org/test/only/k=v'];
    for (const key of unseen) assert.equal(spawnSync('dconf', ['write', key, '1'], { env }).status, 0);
    assert.equal(spawnSync('dconf', ['write', '/org/test/x\ntheme', '2'], { env }).status, 0);
    assert.deepEqual(await dconf.write([{ key: '/org/test/ok', value: '1' }, { key: '/org/test/sub/k', value: '1' }]), []);
    const { values, skipped } = await dconf.read('/org/test/');
    assert.deepEqual(Object.fromEntries(values), { '/org/test/ok': '1', '/org/test/sub/k': '1' });
    assert.deepEqual(skipped.sort(), [...unseen, '/org/test/x\ntheme'].sort());
    // Read again with nothing changed: the same, without listing again.
    assert.deepEqual((await dconf.read('/org/test/')).skipped.sort(), skipped);
  });

  it('names the key whose value is not GVariant, and still writes the others', async (t) => {
    const { dconf } = await startDconf(t);
    const problems = await dconf.write([
      { key: '/org/test/good', value: '1' },
      { key: '/org/test/bad', value: 'not a value' },
    ]);
    assert.deepEqual(problems.map((p) => p.key), ['/org/test/bad']);
    assert.match(problems[0]?.message ?? '', /not a GVariant value/);
    assert.deepEqual(Object.fromEntries((await dconf.read('/org/test/')).values), { '/org/test/good': '1' });
  });

  it('names the key whose value is not GVariant whatever the parse error says (two places at fault: "1-2,4-7:"), and still writes the others', async (t) => {
    const { dconf } = await startDconf(t);
    const problems = await dconf.write([
      { key: '/org/test/good', value: '1' },
      { key: '/org/test/mixed', value: "[1, 'a']" },
    ]);
    assert.deepEqual(problems.map((p) => p.key), ['/org/test/mixed']);
    assert.match(problems[0]?.message ?? '', /not a GVariant value: .*common type/);
    assert.deepEqual(Object.fromEntries((await dconf.read('/org/test/')).values), { '/org/test/good': '1' });
  });

  it('a value bigger than a command line can hold still reaches dconf when another value of the batch is refused; a big refused one is named in a short message', async (t) => {
    const { dconf } = await startDconf(t);
    const big = `'${'a'.repeat(200 * 1024)}'`;
    const problems = await dconf.write([
      { key: '/org/test/big', value: big },
      { key: '/org/test/bad', value: 'not a value' },
      { key: '/org/test/bigbad', value: `${big} x` },
    ]);
    assert.deepEqual(problems.map((p) => p.key), ['/org/test/bad', '/org/test/bigbad']);
    assert.ok(problems.every((p) => /not a GVariant value/.test(p.message) && p.message.length < 200), JSON.stringify(problems.map((p) => p.message.slice(0, 300))));
    assert.deepEqual(Object.fromEntries((await dconf.read('/org/test/')).values), { '/org/test/big': big });
  });

  it('reads the user\'s own values, not the defaults of a system database under them', async (t) => {
    const { dconf } = await startDconf(t, { system: { values: "[org/test]\nclock='admin default'\ntheme='admin theme'\n" } });
    assert.deepEqual(await dconf.write([{ key: '/org/test/theme', value: "'mine'" }]), []);
    assert.deepEqual(Object.fromEntries((await dconf.read('/org/test/')).values), { '/org/test/theme': "'mine'" });
  });

  it('leaves nothing in the temp folder: the profile made for reads of the user\'s own values, nor the database canonical compiles', async (t) => {
    const { dconf, env } = await startDconf(t, { system: { values: "[org/test]\nclock='admin default'\n" } });
    const tmp = await mkdtemp(join(tmpdir(), 'strata-dconf-tmp-'));
    const was = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    t.after(async () => {
      if (was === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = was;
      await rm(tmp, { recursive: true, force: true });
    });
    assert.deepEqual(await dconf.write([{ key: '/org/test/a', value: '1' }, { key: '/org/test/b', value: '2' }]), []);
    assert.deepEqual(Object.fromEntries((await dconf.read('/org/test/')).values), { '/org/test/a': '1', '/org/test/b': '2' });
    assert.deepEqual(await dconf.write([{ key: '/org/test/a', value: undefined }, { key: '/org/test/b', value: undefined }]), []);
    assert.deepEqual(await dconf.canonical(['"x"']), ["'x'"]);
    // A second store on the same database, as each sign-in makes.
    assert.deepEqual([...(await new Dconf({ env }).read('/org/test/')).values], []);
    assert.deepEqual(await readdir(tmp), []);
  });

  it('names a key an administrator locked, and still writes the others', async (t) => {
    const { dconf } = await startDconf(t, { system: { values: "[org/test]\nlocked='admin'\n", locks: ['/org/test/locked'] } });
    const problems = await dconf.write([
      { key: '/org/test/good', value: '1' },
      { key: '/org/test/locked', value: "'mine'" },
    ]);
    assert.deepEqual(problems.map((p) => [p.key, p.locked]), [['/org/test/locked', true]]);
    // Reads show the user's own values only: the administrator's locked default is not the user's to sync.
    assert.deepEqual(Object.fromEntries((await dconf.read('/org/test/')).values), { '/org/test/good': '1' });
  });

  it('fails with E_SETTINGS, one line, when dconf cannot reach its service', async (t) => {
    const { env } = await startDconf(t);
    const cut = new Dconf({ env: { ...env, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' } });
    await assert.rejects(cut.write([{ key: '/org/test/a', value: '1' }]), (err: unknown) => err instanceof StrataError && err.code === 'E_SETTINGS' && !err.message.includes('\n'));
  });

  it('watch: a change made by another dconf client is told soon, without a read; stopping ends the watch', async (t) => {
    const { dconf, env } = await startDconf(t);
    let told = 0;
    const stop = dconf.watch('/org/test/', () => told++);
    t.after(stop);
    const other = new Dconf({ env });
    // The child subscribes on the bus some time after it starts: a change before that is not seen (the poll finds it).
    for (let i = 0; told === 0 && i < 100; i++) {
      await other.write([{ key: '/org/test/theme', value: `'v${i}'` }]);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(told > 0, 'the watch told of a change');
    await stop();
    told = 0;
    await other.write([{ key: '/org/test/theme', value: "'after'" }]);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(told, 0, 'nothing is told once stopped');
  });

  it('watch: a dconf watch that ends is started again; a dconf that is not installed is not watched, and stops cleanly', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-dconf-watch-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    // A dconf whose watch prints one change and ends at once.
    const fake = join(dir, 'dconf');
    await writeFile(fake, '#!/bin/sh\necho "$2"\n', { mode: 0o755 });
    let told = 0;
    const stop = new Dconf({ command: fake }).watch('/org/test/', () => told++);
    t.after(stop);
    for (let i = 0; told < 2 && i < 100; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(told >= 2, `started again after it ended (told ${told} times)`);
    await stop();

    await new Dconf({ command: join(dir, 'no-such-dconf') }).watch('/org/test/', () => assert.fail('a missing dconf tells nothing'))();
  });

  it('fails with E_SETTINGS saying what to install when dconf is missing', async () => {
    const missing = new Dconf({ command: 'strata-no-such-dconf' });
    await assert.rejects(missing.read('/org/'), (err: unknown) => err instanceof StrataError && err.code === 'E_SETTINGS' && /apt install dconf-cli/.test(err.message));
  });
});
