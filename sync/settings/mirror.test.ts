import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import type { FirstContactPolicy } from '../../shared/org-config.js';
import { StrataError } from '../errors.js';
import { makeFifo, notWaitingOn } from '../testing/fifo.js';
import { makeRng, testSeed } from '../testing/random.js';
import { Dconf } from './dconf.js';
import { SettingsMirror } from './mirror.js';
import { MemorySettings, mirrorFiles, needsDconf, setMirrorFile, startDconf } from './testkit.js';
import type { SettingsStore } from './settings.js';

const DIRS = ['/org/app/', '/org/desk/'];
const FOLDER = '.strata/settings/dconf';

async function machine(t: { after: (fn: () => unknown) => void }, opts: { policy?: FirstContactPolicy; store?: SettingsStore; device?: string } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'strata-mirror-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const root = join(dir, 'home');
  await mkdir(root);
  const store = opts.store ?? new MemorySettings();
  const mirror = new SettingsMirror({ root, store, dirs: DIRS, stateFile: join(dir, 'state', 'settings.json'), device: opts.device ?? 'pc', policy: opts.policy ?? 'keep-both', now: () => new Date(Date.UTC(2026, 11, 6, 12, 0, 0)) });
  const fileOf = (key: string) => join(root, FOLDER, key);
  return {
    root,
    dir,
    store,
    mirror,
    stateFile: join(dir, 'state', 'settings.json'),
    fileOf,
    /** The mirror's files: relative path → content. */
    files: () => mirrorFiles(root, FOLDER),
    setFile: (key: string, value: string | undefined) => setMirrorFile(fileOf(key), value),
  };
}

/** Runs `swap` once `dir` has been listed (readdir), before its listing is returned; returns the undo. */
function afterListing(dir: string, swap: () => Promise<void>): () => void {
  const original = fsp.readdir;
  fsp.readdir = (async (path: Parameters<typeof fsp.readdir>[0], ...rest: unknown[]) => {
    const listing = await (original as (...a: unknown[]) => Promise<unknown>)(path, ...rest);
    if (String(path) === dir) await swap();
    return listing;
  }) as typeof fsp.readdir;
  syncBuiltinESMExports();
  return () => {
    fsp.readdir = original;
    syncBuiltinESMExports();
  };
}

function memory(m: { store: SettingsStore }): MemorySettings {
  return m.store as MemorySettings;
}

describe('settings mirror', () => {
  it('first run: the machine\'s keys become files, one per key, under the org\'s dirs only', async (t) => {
    const m = await machine(t);
    memory(m).values.set('/org/app/theme', "'dark'");
    memory(m).values.set('/org/desk/panel/size', 'uint32 24');
    memory(m).values.set('/org/elsewhere/x', '1');
    const r = await m.mirror.sync();
    assert.deepEqual(await m.files(), { 'org/app/theme': "'dark'\n", 'org/desk/panel/size': 'uint32 24\n' });
    assert.deepEqual(r.changed.sort(), [`${FOLDER}/org/app/theme`, `${FOLDER}/org/desk/panel/size`]);
    assert.deepEqual(r.applied, []);
    // Nothing changed: the next run does nothing.
    assert.deepEqual(await m.mirror.sync(), { changed: [], applied: [], conflicts: [], problems: [] });
  });

  it('carries a change of either side to the other: set, edit, reset', async (t) => {
    const m = await machine(t);
    memory(m).values.set('/org/app/theme', "'dark'");
    await m.mirror.sync();
    // The user changes a setting here: the file follows.
    memory(m).values.set('/org/app/theme', "'light'");
    memory(m).values.set('/org/app/font', "'Sans 11'");
    await m.mirror.sync();
    assert.deepEqual(await m.files(), { 'org/app/theme': "'light'\n", 'org/app/font': "'Sans 11'\n" });
    // Another machine's change syncs down into the files: the store follows.
    await m.setFile('/org/app/theme', "'contrast'");
    await m.setFile('/org/app/font', undefined);
    await m.setFile('/org/desk/new', 'true');
    const r = await m.mirror.sync();
    assert.deepEqual(Object.fromEntries(memory(m).values), { '/org/app/theme': "'contrast'", '/org/desk/new': 'true' });
    assert.deepEqual(r.applied.sort(), ['/org/app/font', '/org/app/theme', '/org/desk/new']);
    // The user resets a key: its file goes, and the folders that held only it.
    memory(m).values.delete('/org/desk/new');
    await m.mirror.sync();
    assert.deepEqual(await m.files(), { 'org/app/theme': "'contrast'\n" });
    assert.deepEqual(await readdir(join(m.root, FOLDER, 'org')), ['app']);
  });

  it('both changed: the machine\'s value keeps the name, the file\'s goes to a conflict copy; an edit beats a reset', async (t) => {
    const m = await machine(t);
    memory(m).values.set('/org/app/a', '1');
    memory(m).values.set('/org/app/b', '1');
    memory(m).values.set('/org/app/c', '1');
    await m.mirror.sync();
    memory(m).values.set('/org/app/a', '2');
    await m.setFile('/org/app/a', '3');
    memory(m).values.delete('/org/app/b');
    await m.setFile('/org/app/b', '4');
    memory(m).values.set('/org/app/c', '5');
    await m.setFile('/org/app/c', undefined);
    const r = await m.mirror.sync();
    assert.deepEqual(Object.fromEntries(memory(m).values), { '/org/app/a': '2', '/org/app/b': '4', '/org/app/c': '5' });
    assert.deepEqual(await m.files(), { 'org/app/a': '2\n', 'org/app/a.sync-conflict-20261206-120000-pc': '3\n', 'org/app/b': '4\n', 'org/app/c': '5\n' });
    assert.deepEqual(r.conflicts, [`${FOLDER}/org/app/a.sync-conflict-20261206-120000-pc`]);
    // The conflict copy is not a key: it is left for the user (the UI lists it), not read back.
    assert.deepEqual((await m.mirror.sync()).changed, []);
  });

  for (const policy of ['layer-wins', 'keep-both'] as const) {
    it(`first contact (${policy}): the layer's values win, and the machine's keys the layer does not have are kept${policy === 'keep-both' ? '; the machine\'s differing values stay as conflict copies' : ''}`, async (t) => {
      const m = await machine(t, { policy });
      memory(m).values.set('/org/app/theme', "'image'");
      memory(m).values.set('/org/app/same', '1');
      memory(m).values.set('/org/app/local', '2');
      await m.setFile('/org/app/theme', "'user'");
      await m.setFile('/org/app/same', '1');
      await m.setFile('/org/app/laid', '3');
      await m.mirror.sync();
      assert.deepEqual(Object.fromEntries(memory(m).values), { '/org/app/theme': "'user'", '/org/app/same': '1', '/org/app/local': '2', '/org/app/laid': '3' });
      const copies = Object.keys(await m.files()).filter((p) => p.includes('sync-conflict'));
      assert.deepEqual(copies, policy === 'keep-both' ? ['org/app/theme.sync-conflict-20261206-120000-pc'] : []);
    });
  }

  it('takes nothing unchecked from the files: a value of two lines, a key outside the org\'s dirs, a name the store could not hold', async (t) => {
    const m = await machine(t);
    await m.mirror.sync();
    await mkdir(join(m.root, FOLDER, 'org/app'), { recursive: true });
    await writeFile(m.fileOf('/org/app/inject'), "'x'\n[/]\nevil=1\n");
    await writeFile(m.fileOf('/org/app/empty'), '\n');
    await m.setFile('/org/other/x', '1');
    await mkdir(join(m.root, FOLDER, 'org/app/.hidden'), { recursive: true });
    await writeFile(join(m.root, FOLDER, 'org/app/.hidden/x'), '1\n');
    const r = await m.mirror.sync();
    assert.deepEqual(Object.fromEntries(memory(m).values), {});
    assert.deepEqual(r.problems.map((p) => p.key).sort(), ['/org/app/empty', '/org/app/inject']);
    assert.match(r.problems.find((p) => p.key === '/org/app/inject')?.message ?? '', /not one line/);
    // The refused files stay as they are: nothing is lost, nothing is reset.
    assert.equal(await readFile(m.fileOf('/org/app/inject'), 'utf8'), "'x'\n[/]\nevil=1\n");
  });

  it('takes nothing unchecked from the files: a value that is not UTF-8 is reported, never passed on with its bytes replaced', async (t) => {
    const m = await machine(t);
    memory(m).values.set('/org/app/name', "'cafe'");
    await m.mirror.sync();
    // 'café' in Latin-1: é is one byte, 0xe9, which UTF-8 cannot read.
    await writeFile(m.fileOf('/org/app/name'), Buffer.from([0x27, 0x63, 0x61, 0x66, 0xe9, 0x27, 0x0a]));
    const r = await m.mirror.sync();
    assert.equal(memory(m).values.get('/org/app/name'), "'cafe'");
    assert.deepEqual(r.problems.map((p) => p.key), ['/org/app/name']);
    assert.match(r.problems[0]?.message ?? '', /UTF-8/);
  });

  it('a value file swapped for a FIFO after its folder was listed is reported, not waited on', { skip: process.platform === 'win32' && 'no FIFOs on Windows', timeout: 60_000 }, async (t) => {
    const m = await machine(t);
    memory(m).values.set('/org/app/theme', "'dark'");
    await m.mirror.sync();
    const file = m.fileOf('/org/app/theme');
    const restore = afterListing(dirname(file), async () => {
      await rm(file);
      makeFifo(file);
    });
    t.after(restore);
    const r = await notWaitingOn(file, m.mirror.sync());
    restore();
    assert.deepEqual(r.problems.map((p) => p.key), ['/org/app/theme']);
    assert.match(r.problems[0]?.message ?? '', /not a regular file/);
    assert.equal(memory(m).values.get('/org/app/theme'), "'dark'");
  });

  it('a value the store refuses is reported, and the file then gets the machine\'s value back', async (t) => {
    const m = await machine(t);
    memory(m).values.set('/org/app/theme', "'dark'");
    await m.mirror.sync();
    memory(m).refuse = (v) => v === 'garbage';
    await m.setFile('/org/app/theme', 'garbage');
    const r = await m.mirror.sync();
    assert.deepEqual(r.problems.map((p) => p.key), ['/org/app/theme']);
    assert.equal(memory(m).values.get('/org/app/theme'), "'dark'");
    const again = await m.mirror.sync();
    assert.deepEqual(again.problems, []);
    assert.equal(await readFile(m.fileOf('/org/app/theme'), 'utf8'), "'dark'\n");
  });

  it('never writes through a symlink in its folders', async (t) => {
    const m = await machine(t);
    const outside = join(m.dir, 'outside');
    await mkdir(outside);
    await mkdir(join(m.root, '.strata/settings'), { recursive: true });
    await symlink(outside, join(m.root, FOLDER));
    memory(m).values.set('/org/app/theme', "'dark'");
    await assert.rejects(m.mirror.sync(), (err: unknown) => err instanceof StrataError && err.code === 'E_SETTINGS');
    assert.deepEqual(await readdir(outside), []);
  });

  it('refuses a damaged record of the agreed values with E_BAD_STATE, naming it', async (t) => {
    const m = await machine(t);
    await mkdir(dirname(m.stateFile), { recursive: true });
    await writeFile(m.stateFile, '{"version":1,"agreed":{"/org/app/x":7}}');
    await assert.rejects(m.mirror.sync(), (err: unknown) => err instanceof StrataError && err.code === 'E_BAD_STATE' && err.path === m.stateFile);
  });

  it('randomized: after every run the store, the files and the record agree, and no value is lost', async (t) => {
    const seed = testSeed('settings mirror randomized');
    const rng = makeRng(seed);
    const rand = (n: number): number => rng.int(n);
    const m = await machine(t);
    const keys = ['/org/app/a', '/org/app/b', '/org/app/sub/c', '/org/desk/d'];
    let n = 0;
    for (let step = 0; step < 60; step++) {
      // What each side holds before the run: every one of these values must survive somewhere.
      for (let k = rand(3); k > 0; k--) {
        const key = keys[rand(keys.length)] as string;
        if (rand(4) === 0) memory(m).values.delete(key);
        else memory(m).values.set(key, `${++n}`);
      }
      for (let k = rand(3); k > 0; k--) {
        const key = keys[rand(keys.length)] as string;
        await m.setFile(key, rand(4) === 0 ? undefined : `${++n}`);
      }
      // Values either side changed since the last run (what the two last agreed on is in the layer's history).
      const was = step === 0 ? {} : (JSON.parse(await readFile(m.stateFile, 'utf8')) as { agreed: Record<string, string> }).agreed;
      const changedHere = [...memory(m).values].filter(([k, v]) => was[k] !== v).map(([, v]) => v);
      const changedThere = Object.entries(await m.files()).filter(([p, v]) => !p.includes('sync-conflict') && was[`/${p}`] !== v.trim()).map(([, v]) => v.trim());
      const before = new Set([...changedHere, ...changedThere]);
      await m.mirror.sync();
      const files = await m.files();
      const live = Object.fromEntries(memory(m).values);
      const named = Object.fromEntries(Object.entries(files).filter(([p]) => !p.includes('sync-conflict')).map(([p, v]) => [`/${p}`, v.trim()]));
      assert.deepEqual(named, live, `seed ${seed}, step ${step}: the files hold the store's values`);
      const agreed = (JSON.parse(await readFile(m.stateFile, 'utf8')) as { agreed: Record<string, string> }).agreed;
      assert.deepEqual(agreed, live, `seed ${seed}, step ${step}: the record is what both hold`);
      const after = new Set(Object.values(files).map((v) => v.trim()));
      for (const v of before) assert.ok(after.has(v), `seed ${seed}, step ${step}: value ${v} was lost`);
    }
  });
});

describe('settings mirror on a real dconf', { skip: needsDconf }, () => {
  it('two machines: a setting changed on one reaches the other through the files', async (t) => {
    const a = await startDconf(t);
    const b = await startDconf(t);
    const ma = await machine(t, { store: a.dconf, device: 'a' });
    const mb = await machine(t, { store: b.dconf, device: 'b' });
    await a.dconf.write([{ key: '/org/app/theme', value: "'dark'" }, { key: '/org/app/sub/list', value: "['x', 'y']" }]);
    await ma.mirror.sync();
    // What sync would do: B's folder gets A's files.
    for (const [p, v] of Object.entries(await ma.files())) await mb.setFile(`/${p}`, v.trim());
    await mb.mirror.sync();
    assert.deepEqual(Object.fromEntries((await b.dconf.read('/org/app/')).values), { '/org/app/theme': "'dark'", '/org/app/sub/list': "['x', 'y']" });
    // A key reset on B goes from B's files.
    await b.dconf.write([{ key: '/org/app/theme', value: undefined }]);
    await mb.mirror.sync();
    assert.deepEqual(Object.keys(await mb.files()), ['org/app/sub/list']);
  });
});

describe('settings mirror: a dconf profile that cannot be opened', { skip: needsDconf }, () => {
  // dconf reads through a profile it cannot open (removed, a typo in DCONF_PROFILE) as an empty
  // database, with a warning and exit code 0: taken at its word, every key would look reset here.
  it('fails the run, and removes no file: the keys are not taken for reset on this machine', async (t) => {
    const d = await startDconf(t, { system: { values: "[org/other]\nx=1\n" } });
    const m = await machine(t, { store: d.dconf });
    await d.dconf.write([{ key: '/org/app/theme', value: "'dark'" }, { key: '/org/app/font', value: "'Sans'" }]);
    await m.mirror.sync();
    const before = await m.files();
    assert.deepEqual(Object.keys(before).sort(), ['org/app/font', 'org/app/theme']);
    const broken = new SettingsMirror({ root: m.root, store: new Dconf({ env: { ...d.env, DCONF_PROFILE: join(m.dir, 'no-such-profile') } }), dirs: DIRS, stateFile: m.stateFile, device: 'pc', policy: 'keep-both' });
    await assert.rejects(broken.sync(), (err: unknown) => err instanceof StrataError && err.code === 'E_SETTINGS' && /profile/.test(err.message));
    assert.deepEqual(await m.files(), before);
  });
});

describe('settings mirror: one key\'s trouble', { skip: needsDconf }, () => {
  it('a dconf key and a dconf dir of the same name: the others still sync, the clash is reported', async (t) => {
    const d = await startDconf(t);
    const m = await machine(t, { store: d.dconf });
    // dconf holds /org/app/x and /org/app/x/y at once; a folder cannot be a file as well.
    await d.dconf.write([{ key: '/org/app/x', value: '2' }, { key: '/org/app/x/y', value: '1' }, { key: '/org/desk/theme', value: "'dark'" }]);
    const r = await m.mirror.sync();
    assert.equal((await m.files())['org/desk/theme'], "'dark'\n");
    assert.deepEqual(r.problems.map((p) => p.key), ['/org/app/x/y']);
    assert.match(r.problems[0]?.message ?? '', /not synced: its file cannot be written/);
    // The layer's changes still reach dconf.
    await m.setFile('/org/desk/theme', "'light'");
    await m.mirror.sync();
    assert.equal((await d.dconf.read('/org/desk/')).values.get('/org/desk/theme'), "'light'");
  });
});

describe('settings mirror: names a dconf dump cannot show', { skip: needsDconf }, () => {
  it('a key named with "=" or "[" is reported as not synced at each run (settingsRunner tells it once), and the others sync', async (t) => {
    const d = await startDconf(t);
    const m = await machine(t, { store: d.dconf });
    for (const key of ['/org/app/a=b', '/org/app/c[d']) assert.equal(spawnSync('dconf', ['write', key, '1'], { env: d.env }).status, 0);
    await d.dconf.write([{ key: '/org/app/theme', value: "'dark'" }]);
    for (let run = 0; run < 2; run++) {
      const r = await m.mirror.sync();
      assert.deepEqual(r.problems.map((p) => p.key).sort(), ['/org/app/a=b', '/org/app/c[d']);
      assert.match(r.problems[0]?.message ?? '', /not synced/);
    }
    assert.deepEqual(await m.files(), { 'org/app/theme': "'dark'\n" });
  });
});

describe('settings mirror: the machine changes a setting while a run is under way', () => {
  it('a value set between the run\'s read and its write is not overwritten by the layer\'s: it wins as a change made here, the layer\'s goes to a conflict copy', async (t) => {
    const m = await machine(t);
    memory(m).values.set('/org/app/theme', "'dark'");
    await m.mirror.sync();
    // Another machine's value synced down into the file...
    await m.setFile('/org/app/theme', "'contrast'");
    // ... and the user sets one here just after the run has read dconf.
    const read = memory(m).read.bind(memory(m));
    let once = true;
    memory(m).read = async (dir) => {
      const r = await read(dir);
      if (once && dir === '/org/app/') {
        once = false;
        memory(m).values.set('/org/app/theme', "'user'");
      }
      return r;
    };
    await m.mirror.sync();
    await m.mirror.sync();
    assert.equal(memory(m).values.get('/org/app/theme'), "'user'");
    assert.deepEqual(await m.files(), { 'org/app/theme': "'user'\n", 'org/app/theme.sync-conflict-20261206-120000-pc': "'contrast'\n" });
  });
});

describe('settings mirror on a managed desktop (a system database with locks)', { skip: needsDconf }, () => {
  it('a key the administrator locked: reported, the layer keeps the user\'s value, and the other keys still reach dconf', async (t) => {
    const d = await startDconf(t, { system: { values: "[org/app]\nlocked='admin'\n", locks: ['/org/app/locked'] } });
    const m = await machine(t, { store: d.dconf, policy: 'layer-wins' });
    await m.setFile('/org/app/locked', "'mine'");
    await m.setFile('/org/app/theme', "'dark'");
    const r = await m.mirror.sync();
    assert.deepEqual(r.problems.map((p) => p.key), ['/org/app/locked']);
    assert.match(r.problems[0]?.message ?? '', /locked/);
    assert.equal((await d.dconf.read('/org/app/')).values.get('/org/app/theme'), "'dark'");
    // Runs after it leave the user's value in the layer: the lock is this machine's, not the user's.
    await m.mirror.sync();
    await m.mirror.sync();
    assert.equal(await readFile(m.fileOf('/org/app/locked'), 'utf8'), "'mine'\n");
    assert.deepEqual(Object.keys(await m.files()).sort(), ['org/app/locked', 'org/app/theme']);
    // A value the user sets here still goes to the layer.
    await d.dconf.write([{ key: '/org/app/theme', value: "'light'" }]);
    await m.mirror.sync();
    assert.equal(await readFile(m.fileOf('/org/app/theme'), 'utf8'), "'light'\n");
  });
});

describe('settings mirror: the org config lists more dirs at a later sign-in', () => {
  it('the keys of a dir new to this machine meet the layer as at first contact (layer-wins: the layer\'s value)', async (t) => {
    const m = await machine(t, { policy: 'layer-wins' });
    memory(m).values.set('/org/app/theme', "'dark'");
    const before = new SettingsMirror({ root: m.root, store: m.store, dirs: ['/org/app/'], stateFile: m.stateFile, device: 'pc', policy: 'layer-wins' });
    await before.sync();
    // Another machine, which had the new dir already, synced its value; this machine has its own.
    memory(m).values.set('/org/desk/font', "'machine'");
    await m.setFile('/org/desk/font', "'user'");
    await m.mirror.sync();
    assert.equal(memory(m).values.get('/org/desk/font'), "'user'");
    assert.deepEqual(await m.files(), { 'org/app/theme': "'dark'\n", 'org/desk/font': "'user'\n" });
  });
});

describe('settings mirror: values in a notation other than dconf\'s own', { skip: needsDconf }, () => {
  // GVariant text has many spellings of one value ("dark" and 'dark'; [ 'a','b' ] and ['a', 'b']);
  // dconf shows one. An org layer's files are written by hand: taking dconf's spelling of their
  // value for a change made here would rewrite the file, copying it up into the user's layer,
  // where it would hide every later change of the org's default.
  const HAND = { '/org/app/theme': '"dark"', '/org/app/count': 'uint32 5', '/org/app/list': "[ 'a','b' ]", '/org/app/empty': '@as []', '/org/desk/on': 'true' };

  for (const policy of ['layer-wins', 'keep-both'] as const) {
    it(`a file the mirror did not write reaches dconf, and the runs after leave it as it is (${policy})`, async (t) => {
      const d = await startDconf(t);
      const m = await machine(t, { store: d.dconf, policy });
      for (const [k, v] of Object.entries(HAND)) await m.setFile(k, v);
      const before = await m.files();
      const first = await m.mirror.sync();
      assert.deepEqual(first.applied.sort(), Object.keys(HAND).sort());
      assert.equal((await d.dconf.read('/org/app/')).values.get('/org/app/theme'), "'dark'");
      for (let run = 0; run < 2; run++) assert.deepEqual(await m.mirror.sync(), { changed: [], applied: [], conflicts: [], problems: [] });
      assert.deepEqual(await m.files(), before);
    });
  }

  it('first contact (keep-both): the machine holding the file\'s value in dconf\'s notation is no conflict', async (t) => {
    const d = await startDconf(t);
    const m = await machine(t, { store: d.dconf, policy: 'keep-both' });
    await d.dconf.write([{ key: '/org/app/theme', value: "'dark'" }, { key: '/org/app/list', value: "['a', 'b']" }, { key: '/org/app/other', value: "'mine'" }]);
    await m.setFile('/org/app/theme', '"dark"');
    await m.setFile('/org/app/list', "[ 'a','b' ]");
    await m.setFile('/org/app/other', '"layer"');
    const r = await m.mirror.sync();
    assert.deepEqual(r.conflicts, [`${FOLDER}/org/app/other.sync-conflict-20261206-120000-pc`]);
    assert.deepEqual(await m.files(), { 'org/app/theme': '"dark"\n', 'org/app/list': "[ 'a','b' ]\n", 'org/app/other': '"layer"\n', 'org/app/other.sync-conflict-20261206-120000-pc': "'mine'\n" });
    assert.equal((await d.dconf.read('/org/app/')).values.get('/org/app/other'), "'layer'");
    assert.deepEqual(await m.mirror.sync(), { changed: [], applied: [], conflicts: [], problems: [] });
  });

  it('both sides changed to one value in two notations: no conflict copy, the file stays as it is', async (t) => {
    const d = await startDconf(t);
    const m = await machine(t, { store: d.dconf });
    await d.dconf.write([{ key: '/org/app/theme', value: "'light'" }]);
    await m.mirror.sync();
    await d.dconf.write([{ key: '/org/app/theme', value: "'dark'" }]);
    await m.setFile('/org/app/theme', '"dark"');
    assert.deepEqual(await m.mirror.sync(), { changed: [], applied: [], conflicts: [], problems: [] });
    assert.deepEqual(await m.files(), { 'org/app/theme': '"dark"\n' });
  });

  it('a record of the agreed values from before notations were told apart (version 1) keeps its values: a file agreed on in another notation stays as it is', async (t) => {
    const d = await startDconf(t);
    const m = await machine(t, { store: d.dconf });
    await d.dconf.write([{ key: '/org/app/theme', value: "'dark'" }, { key: '/org/app/font', value: "'Sans'" }]);
    await m.setFile('/org/app/theme', '"dark"');
    await m.setFile('/org/app/font', "'Sans'");
    await mkdir(dirname(m.stateFile), { recursive: true });
    await writeFile(m.stateFile, JSON.stringify({ version: 1, dirs: DIRS, agreed: { '/org/app/theme': '"dark"', '/org/app/font': "'Sans'" } }));
    assert.deepEqual(await m.mirror.sync(), { changed: [], applied: [], conflicts: [], problems: [] });
    assert.deepEqual(await m.files(), { 'org/app/theme': '"dark"\n', 'org/app/font': "'Sans'\n" });
    // Still agreed on (not met as at first contact): a change made here goes to the file.
    await d.dconf.write([{ key: '/org/app/theme', value: "'light'" }]);
    await m.setFile('/org/app/font', "'Serif'");
    await m.mirror.sync();
    assert.deepEqual(await m.files(), { 'org/app/theme': "'light'\n", 'org/app/font': "'Serif'\n" });
    assert.equal((await d.dconf.read('/org/app/')).values.get('/org/app/font'), "'Serif'");
  });
});
