import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseOrgConfig, registryFold, registryLayerName, registryNameOfLayer, SETTINGS_NAME } from '../../shared/org-config.js';
import { StrataError } from '../errors.js';
import { layerFolders } from '../signin/folder.js';
import { makeRng, testSeed } from '../testing/random.js';
import { platformSettingsStore, settingsDirs } from '../signin/settings.js';
import { SettingsMirror } from './mirror.js';
import { dirKey, foldKeyPath, registryDir, registryPlace, valueKeyPath } from './registry-names.js';
import { parseReadAnswer, parseWriteAnswer } from './registry-protocol.js';
import { powershellArgs, SCRIPT } from './registry-script.js';
import { RegistryStore } from './registry.js';
import { FakeRegistryHelper, mirrorFiles, setMirrorFile, toB64 } from './testkit.js';

const DESKTOP = registryDir('HKCU\\Control Panel\\Desktop');
const APP = registryDir('HKCU\\Software\\Vendor\\App');
const FOLDER = '.strata/settings/registry';
const b64 = (...b: number[]) => Buffer.from(b).toString('base64');

describe('registry value places as key paths', () => {
  it('maps an org config key to the mirror\'s dir, and a value to its key path, and back', () => {
    assert.equal(DESKTOP, '/HKCU/Control+20Panel/Desktop/');
    assert.deepEqual(dirKey(DESKTOP), ['Control Panel', 'Desktop']);
    assert.equal(valueKeyPath({ key: ['Control Panel', 'Desktop', 'Sub Key'], value: '' }), '/HKCU/Control+20Panel/Desktop/Sub+20Key/+');
    assert.deepEqual(registryPlace('/HKCU/Control+20Panel/Desktop/Sub+20Key/+'), { key: ['Control Panel', 'Desktop', 'Sub Key'], value: '' });
    assert.deepEqual(registryPlace('/HKCU/Software/a+5Cb'), { key: ['Software'], value: 'a\\b' }, 'a value name may hold "\\"');
  });

  it('reads back no key path it does not make', () => {
    for (const bad of ['/HKLM/Software/x', '/HKCU/x', '/HKCU/Software/a+5Cb/x', '/HKCU/+/x', '/HKCU/Software/+41', '/HKCU/Software/a b', '/HKCU//x', 'HKCU/Software/x', `/HKCU/${'x'.repeat(256)}/v`]) {
      assert.equal(registryPlace(bad), undefined, bad);
    }
  });

  it('folds case as the registry does: every spelling of a place is one key', () => {
    assert.equal(foldKeyPath('/HKCU/Software/VENDOR/WallPaper'), foldKeyPath('/HKCU/software/vendor/wallpaper'));
    assert.equal(foldKeyPath('/HKCU/Software/+43ON'), foldKeyPath('/HKCU/Software/+63on'), 'CON and con');
    assert.notEqual(foldKeyPath('/HKCU/Software/a'), foldKeyPath('/HKCU/Software/b'));
  });

  it('folds no further than the registry: it upper-cases each UTF-16 unit alone, so names it keeps apart stay two values', () => {
    const place = (value: string) => foldKeyPath(valueKeyPath({ key: ['Software'], value })!);
    assert.notEqual(place('\u{10400}'), place('\u{10428}'), 'a letter beyond the BMP is two units, neither of which has a case');
    assert.notEqual(place('\u0130'), place('i\u0307'), 'one unit never folds to two');
    assert.notEqual(place('\u212a'), place('k'), 'the Kelvin sign upper-cases to itself, "k" to "K"');
    assert.equal(place('\u00e9t\u00e9'), place('\u00c9T\u00c9'));
  });

  it('maps random names one-to-one to layer names every OS holds; distinct files are distinct values, also where the file system folds case', () => {
    const rnd = makeRng(testSeed('registry names one-to-one'));
    const pool = ['a', 'A', 'z', 'Z', '0', '_', '-', '.', ' ', '+', '%', '\\', '/', ':', '\0', '\t', '\u00e9', '\u00c9', '\u03c3', '\u03a3', '\u0130', '\u212a', 'k', 'K', '\u{10400}', '\u{10428}', '\ud800', '\udc00', 'CON', 'nul', 'Com1', 'sync-conflict-', '2E', '+2E'];
    /** The registry's equality: each UTF-16 unit upper-cased alone (where it has a one-unit upper case). */
    const same = (a: string, b: string) => a.length === b.length && [...Array(a.length).keys()].every((i) => up(a[i]!) === up(b[i]!));
    const up = (c: string) => (c.toUpperCase().length === 1 ? c.toUpperCase() : c);
    const byFile = new Map<string, string>();
    const byFold = new Map<string, string>();
    for (let i = 0; i < 3000; i++) {
      const name = Array.from({ length: rnd.int(5) }, () => rnd.pick(pool)).join('');
      const layer = registryLayerName(name);
      if (layer === undefined) {
        assert.ok(/[\ud800-\udfff]/.test(name) || Buffer.byteLength(name) > 85, `${JSON.stringify(name)} has a layer name`);
        continue;
      }
      assert.ok(SETTINGS_NAME.test(layer) && !layer.includes('.sync-conflict-') && layer.length <= 255, layer);
      assert.ok(!/^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i.test(layer), `${layer} is a device name`);
      assert.equal(registryNameOfLayer(layer), name, layer);
      const path = valueKeyPath({ key: ['Software'], value: name })!;
      assert.deepEqual(registryPlace(path), { key: ['Software'], value: name });
      const file = byFile.get(layer.toLowerCase());
      if (file !== undefined) assert.ok(same(file, name), `${JSON.stringify(file)} and ${JSON.stringify(name)} are one file on a case-insensitive file system`);
      byFile.set(layer.toLowerCase(), name);
      const fold = byFold.get(foldKeyPath(path));
      if (fold !== undefined) assert.ok(same(fold, name), `${JSON.stringify(fold)} and ${JSON.stringify(name)} fold to one key`);
      byFold.set(foldKeyPath(path), name);
    }
  });
});

describe('the registry helper\'s answers', () => {
  it('reads every type from the protocol\'s base64', () => {
    const keys = parseReadAnswer({
      ok: true,
      keys: [{ key: [toB64('Sub')], values: [
        { name: toB64(''), kind: 'sz', data: toB64('x') },
        { name: toB64('m'), kind: 'multi_sz', data: [toB64('a'), toB64('')] },
        { name: toB64('d'), kind: 'dword', data: b64(0x2a, 0, 0, 0x80) },
        { name: toB64('q'), kind: 'qword', data: b64(1, 0, 0, 0, 0, 0, 0, 0x80) },
        { name: toB64('b'), kind: 'binary', data: '' },
        { name: toB64('l'), kind: 'unknown', data: '' },
      ] }],
    });
    assert.deepEqual(keys, [{ key: ['Sub'], values: [
      { name: '', value: { type: 'sz', data: 'x' } },
      { name: 'm', value: { type: 'multi_sz', data: ['a', ''] } },
      { name: 'd', value: { type: 'dword', data: 0x8000002a } },
      { name: 'q', value: { type: 'qword', data: 0x8000000000000001n } },
      { name: 'b', value: { type: 'binary', data: new Uint8Array(0) } },
      { name: 'l', value: undefined },
    ] }]);
  });

  const hostile: [string, unknown, RegExp][] = [
    ['not an object', 'ok', /the answer is not an object/],
    ['neither ok nor failed', { keys: [] }, /neither ok nor failed/],
    ['no keys', { ok: true }, /no "keys" list/],
    ['a name not base64', { ok: true, keys: [{ key: [], values: [{ name: 'a b', kind: 'sz', data: '' }] }] }, /values\[0\]\.name: not base64/],
    ['a name of an odd length', { ok: true, keys: [{ key: [], values: [{ name: b64(0x41), kind: 'sz', data: '' }] }] }, /odd length/],
    ['a DWORD of 3 bytes', { ok: true, keys: [{ key: [], values: [{ name: '', kind: 'dword', data: b64(1, 2, 3) }] }] }, /a dword of 3 bytes/],
    ['a QWORD of 4 bytes', { ok: true, keys: [{ key: [], values: [{ name: '', kind: 'qword', data: b64(1, 2, 3, 4) }] }] }, /a qword of 4 bytes/],
    ['a kind of its own', { ok: true, keys: [{ key: [], values: [{ name: '', kind: 'link', data: '' }] }] }, /"link" is not a kind/],
    ['a multi_sz that is no list', { ok: true, keys: [{ key: [], values: [{ name: '', kind: 'multi_sz', data: '' }] }] }, /a multi_sz is a list/],
    ['a key that is no list', { ok: true, keys: [{ key: 'x', values: [] }] }, /"key" must be a list/],
    ['a key denied that holds values', { ok: true, keys: [{ key: [], denied: true, values: [] }] }, /a key denied holds no values/],
  ];
  for (const [what, answer, problem] of hostile) {
    it(`refuses a read answer with ${what}: one E_SETTINGS error`, () => {
      assert.throws(() => parseReadAnswer(answer), (err: unknown) => err instanceof StrataError && err.code === 'E_SETTINGS' && problem.test(err.message) && !err.message.includes('\n'));
    });
  }

  it('takes a failure as a whole as E_SETTINGS with the helper\'s first line, and wants one result per change', () => {
    assert.throws(() => parseReadAnswer({ ok: false, error: 'Cannot open key\nat line 3' }), /the registry could not be read or written: Cannot open key$/);
    assert.throws(() => parseWriteAnswer({ ok: true, results: [{ ok: true }] }, 2), /2 results were due/);
    assert.throws(() => parseWriteAnswer({ ok: true, results: [{ ok: 'yes' }] }, 1), /neither done nor failed/);
    assert.deepEqual(parseWriteAnswer({ ok: true, results: [{ ok: true }, { ok: false, denied: true, error: 'denied' }] }, 2), [{ ok: true }, { ok: false, error: 'denied', denied: true }]);
  });

  it('runs its script as an encoded command: no script file, no profile', () => {
    const args = powershellArgs();
    assert.deepEqual(args.slice(0, -1), ['-NoLogo', '-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-EncodedCommand']);
    assert.equal(Buffer.from(args.at(-1)!, 'base64').toString('utf16le'), SCRIPT);
    assert.ok(args.at(-1)!.length < 30_000, 'fits a Windows command line');
    assert.match(SCRIPT, /GetBytes\(\$json \+ "`n"\)/);
  });

  it('answers a subkey the user may not read as denied, and walks on: not a failure of the whole read', () => {
    // OpenSubKey throws SecurityException for a key whose ACL keeps the user out.
    assert.match(SCRIPT, /function OpenKey\(\$k, \[string\]\$name, \$rel\) \{\n {2}try \{ return \$k\.OpenSubKey\(\$name, \$false\) \} catch \{\n {4}if \(-not \(Denied \$_\.Exception\)\) \{ throw \}\n {4}\$script:keys\.Add\('\{"key":\[' \+ \(Names \$rel\) \+ '\],"denied":true\}'\)/);
    assert.match(SCRIPT, /\$sub = OpenKey \$k \$s \(@\(\$rel\) \+ \$s\)/);
    assert.doesNotMatch(SCRIPT, /\$k\.OpenSubKey\(\$s/);
    const sub = toB64('Secret');
    assert.deepEqual(parseReadAnswer({ ok: true, keys: [{ key: [], values: [] }, { key: [sub], denied: true }] }), [{ key: [], values: [] }, { key: ['Secret'], values: [], denied: true }]);
  });

  it('takes a DWORD or QWORD of another size for a type it does not sync, not a failure of the whole read', () => {
    // .NET Framework's GetValue gives an Int64 for a REG_DWORD of 5 to 8 bytes and a byte[] for one
    // (or a REG_QWORD) of more (RegistryKey.InternalGetValue): [int] or [long] of it would throw
    // out of the read, and no value under the key would sync.
    assert.match(SCRIPT, /'DWord' \{ if \(\$v -is \[int\]\) \{ \$t = 'dword'/);
    assert.match(SCRIPT, /'QWord' \{ if \(\$v -is \[long\]\) \{ \$t = 'qword'/);
  });
});

describe('RegistryStore (over a fake helper: no Windows here)', () => {
  it('reads values in .reg notation at their key paths, and reports what it cannot sync without touching it', async () => {
    const helper = new FakeRegistryHelper();
    helper.set('Control Panel\\Desktop', 'WallPaper', 'sz', toB64('C:\\w.jpg'));
    helper.set('Control Panel\\Desktop', '', 'sz', toB64('default'));
    helper.set('Control Panel\\Desktop\\Sub Key', 'Path', 'expand_sz', toB64('%USERPROFILE%'));
    helper.set('Control Panel\\Desktop', 'Link', 'unknown', '');
    helper.set('Control Panel\\Desktop', 'bad\ud800', 'dword', b64(1, 0, 0, 0));
    helper.set('Control Panel\\Other', 'x', 'dword', b64(1, 0, 0, 0));
    const r = await new RegistryStore({ channel: helper.channel }).read(DESKTOP);
    assert.deepEqual(Object.fromEntries(r.values), {
      '/HKCU/Control+20Panel/Desktop/WallPaper': '"C:\\\\w.jpg"',
      '/HKCU/Control+20Panel/Desktop/+': '"default"',
      '/HKCU/Control+20Panel/Desktop/Sub+20Key/Path': 'hex(2):25,00,55,00,53,00,45,00,52,00,50,00,52,00,4f,00,46,00,49,00,4c,00,45,00,25,00,00,00',
    });
    assert.deepEqual(r.problems.map((p) => p.key), ['/HKCU/Control+20Panel/Desktop/Link', 'HKCU\\Control Panel\\Desktop\\bad\ud800']);
    assert.match(r.problems[0]!.message, /a registry type Strata does not sync/);
    assert.match(r.problems[1]!.message, /no file name in the layer/);
  });

  it('writes exact values and deletes; refuses a bad value or place before it reaches the registry; a denied key is locked', async () => {
    const helper = new FakeRegistryHelper();
    helper.denied.add(registryFold('Software\\Policies\\App'));
    const store = new RegistryStore({ channel: helper.channel });
    const problems = await store.write([
      { key: `${APP}Size`, value: 'dword:ffffffff' },
      { key: `${APP}List`, value: 'hex(7):22,00,00,00,5c,00,0a,00,00,00,00,00' },
      { key: `${APP}Big`, value: 'hex(b):ff,ff,ff,ff,ff,ff,ff,ff' },
      { key: `${APP}Bad`, value: 'hex(b):01' },
      { key: `${APP}Worse`, value: 'hex(7):zz' },
      { key: '/HKCU/Software/a+5Cb/x', value: '"x"' },
      { key: '/HKCU/Software/Policies/App/x', value: '"x"' },
    ]);
    assert.deepEqual(helper.dump(), {
      'Software\\Vendor\\App\\Size': { kind: 'dword', data: b64(0xff, 0xff, 0xff, 0xff) },
      'Software\\Vendor\\App\\List': { kind: 'multi_sz', data: [toB64('"'), toB64('\\\n')] },
      'Software\\Vendor\\App\\Big': { kind: 'qword', data: b64(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff) },
    });
    assert.deepEqual(problems.map((p) => [p.key.slice(p.key.lastIndexOf('/') + 1), p.locked === true]), [['Bad', false], ['Worse', false], ['x', false], ['x', true]]);
    assert.match(problems[0]!.message, /not a registry value: a REG_QWORD is 8 bytes, not 1/);
    assert.equal(helper.requests.filter((r) => r.op === 'write').length, 1, 'one batch: the bad ones never sent');
    assert.equal((helper.requests[0] as { changes: unknown[] }).changes.length, 4);
    await store.write([{ key: `${APP}size`, value: undefined }]);
    assert.ok(!('Software\\Vendor\\App\\Size' in helper.dump()), 'deleted through another spelling');
  });

  it('a helper that fails as a whole fails the read or write: E_SETTINGS', async () => {
    const store = new RegistryStore({ channel: async () => ({ ok: false, error: 'Access denied' }) });
    await assert.rejects(store.read(APP), /E_SETTINGS|registry could not be read or written: Access denied/);
    await assert.rejects(store.write([{ key: `${APP}x`, value: '"x"' }]), /registry could not be read or written/);
  });
});

async function machine(t: { after: (fn: () => unknown) => void }, helper = new FakeRegistryHelper()) {
  const dir = await mkdtemp(join(tmpdir(), 'strata-registry-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const root = join(dir, 'home');
  await mkdir(root);
  const mirror = new SettingsMirror({ root, store: new RegistryStore({ channel: helper.channel }), dirs: [DESKTOP, APP], stateFile: join(dir, 'state.json'), device: 'pc', policy: 'keep-both', now: () => new Date(Date.UTC(2026, 11, 6, 12)) });
  const fileOf = (key: string) => join(root, FOLDER, key);
  return {
    helper,
    mirror,
    root,
    fileOf,
    files: async () => Object.fromEntries(Object.entries(await mirrorFiles(root, FOLDER)).map(([k, v]) => [`/${k}`, v])),
    setFile: (key: string, value: string | undefined) => setMirrorFile(fileOf(key), value),
  };
}

describe('the settings mirror over the registry', () => {
  it('keeps each value as a file of .reg notation, merges per value, and carries the layer\'s values back exactly', async (t) => {
    const m = await machine(t);
    m.helper.set('Control Panel\\Desktop', 'WallPaper', 'sz', toB64('C:\\w.jpg'));
    m.helper.set('Control Panel\\Desktop', '', 'sz', toB64(''));
    m.helper.set('Software\\Vendor\\App', 'Recent', 'multi_sz', [toB64('a "b"'), toB64('c\\d')]);
    m.helper.set('Software\\Elsewhere', 'x', 'dword', b64(1, 0, 0, 0));
    await m.mirror.sync();
    assert.deepEqual(await m.files(), {
      '/HKCU/Control+20Panel/Desktop/WallPaper': '"C:\\\\w.jpg"\n',
      '/HKCU/Control+20Panel/Desktop/+': '""\n',
      '/HKCU/Software/Vendor/App/Recent': `${'hex(7):61,00,20,00,22,00,62,00,22,00,00,00,63,00,5c,00,64,00,00,00,00,00'}\n`,
    });
    // Another machine's values arrive in the files: the registry takes them, types and all.
    await m.setFile('/HKCU/Software/Vendor/App/Count', 'dword:00000010');
    await m.setFile('/HKCU/Software/Vendor/App/Sub/Blob', 'hex:de,ad');
    await m.setFile('/HKCU/Control+20Panel/Desktop/WallPaper', undefined);
    const r = await m.mirror.sync();
    assert.deepEqual(r.problems, []);
    assert.deepEqual(m.helper.dump(), {
      'Control Panel\\Desktop\\': { kind: 'sz', data: toB64('') },
      'Software\\Vendor\\App\\Recent': { kind: 'multi_sz', data: [toB64('a "b"'), toB64('c\\d')] },
      'Software\\Vendor\\App\\Count': { kind: 'dword', data: b64(0x10, 0, 0, 0) },
      'Software\\Vendor\\App\\Sub\\Blob': { kind: 'binary', data: b64(0xde, 0xad) },
      'Software\\Elsewhere\\x': { kind: 'dword', data: b64(1, 0, 0, 0) },
    });
    assert.deepEqual((await m.mirror.sync()).applied, [], 'settled');
  });

  it('a hostile value from the layer is reported, never written, and the file gets the machine\'s value back', async (t) => {
    const m = await machine(t);
    m.helper.set('Software\\Vendor\\App', 'Count', 'dword', b64(1, 0, 0, 0));
    await m.mirror.sync();
    await m.setFile('/HKCU/Software/Vendor/App/Count', 'hex(b):01,02,03');
    await m.setFile('/HKCU/Software/Vendor/App/New', 'hex(7):4');
    const r = await m.mirror.sync();
    assert.deepEqual(r.problems.map((p) => p.key).sort(), ['/HKCU/Software/Vendor/App/Count', '/HKCU/Software/Vendor/App/New']);
    assert.ok(r.problems.every((p) => /^registry refused the layer's value \(not a registry value: /.test(p.message)));
    assert.deepEqual(Object.keys(m.helper.dump()), ['Software\\Vendor\\App\\Count']);
    assert.deepEqual(m.helper.dump()['Software\\Vendor\\App\\Count'], { kind: 'dword', data: b64(1, 0, 0, 0) });
    // The next run puts the machine's value back in the file (the refused one stays in the history).
    await m.mirror.sync();
    assert.equal((await m.files())['/HKCU/Software/Vendor/App/Count'], 'dword:00000001\n');
  });

  it('a value of a type it does not sync is left alone on both sides, even where the layer has a file for it', async (t) => {
    const m = await machine(t);
    m.helper.set('Software\\Vendor\\App', 'Link', 'unknown', '');
    await m.setFile('/HKCU/Software/Vendor/App/Link', '"from the layer"');
    const r = await m.mirror.sync();
    assert.match(r.problems[0]?.message ?? '', /a registry type Strata does not sync/);
    assert.deepEqual(m.helper.dump()['Software\\Vendor\\App\\Link'], { kind: 'unknown', data: '' });
    assert.equal((await m.files())['/HKCU/Software/Vendor/App/Link'], '"from the layer"\n');
  });

  it('a subkey the user may not read is reported, and every value under it left alone on both sides: its files neither removed nor written to the registry', async (t) => {
    const m = await machine(t);
    m.helper.set('Software\\Vendor\\App', 'Count', 'dword', b64(1, 0, 0, 0));
    m.helper.set('Software\\Vendor\\App\\Secret', 'Token', 'sz', toB64('t'));
    m.helper.set('Software\\Vendor\\App\\Secret\\Deeper', 'X', 'sz', toB64('x'));
    await m.mirror.sync();
    const before = await m.files();
    assert.equal(before['/HKCU/Software/Vendor/App/Secret/Deeper/X'], '"x"\n');
    // An administrator's ACL now keeps the user out of Secret (OpenSubKey: SecurityException).
    m.helper.unreadable.add(registryFold('Software\\Vendor\\App\\Secret'));
    await m.setFile('/HKCU/Software/Vendor/App/Secret/Token', '"from the layer"');
    await m.setFile('/HKCU/Software/Vendor/App/Secret/New', '"new"');
    m.helper.set('Software\\Vendor\\App', 'Count', 'dword', b64(2, 0, 0, 0));
    const r = await m.mirror.sync();
    assert.deepEqual(r.problems.map((p) => p.key), ['/HKCU/Software/Vendor/App/Secret/']);
    assert.match(r.problems[0]!.message, /HKCU\\Software\\Vendor\\App\\Secret.*access denied/);
    assert.deepEqual(r.applied, []);
    assert.deepEqual(await m.files(), { ...before, '/HKCU/Software/Vendor/App/Count': 'dword:00000002\n', '/HKCU/Software/Vendor/App/Secret/Token': '"from the layer"\n', '/HKCU/Software/Vendor/App/Secret/New': '"new"\n' });
    assert.deepEqual(m.helper.dump()['Software\\Vendor\\App\\Secret\\Token'], { kind: 'sz', data: toB64('t') });
    assert.equal(m.helper.dump()['Software\\Vendor\\App\\Secret\\New'], undefined);
    // Readable again: the layer's changes made meanwhile reach the registry, nothing was taken for removed.
    m.helper.unreadable.clear();
    const again = await m.mirror.sync();
    assert.deepEqual(again.problems, []);
    assert.deepEqual(m.helper.dump()['Software\\Vendor\\App\\Secret\\Token'], { kind: 'sz', data: toB64('from the layer') });
    assert.deepEqual(m.helper.dump()['Software\\Vendor\\App\\Secret\\Deeper\\X'], { kind: 'sz', data: toB64('x') });
    assert.equal((await m.files())['/HKCU/Software/Vendor/App/Secret/Deeper/X'], '"x"\n');
  });

  it('names that differ only in case are one value: a file in another spelling updates the registry\'s value, and no second file appears', async (t) => {
    const m = await machine(t);
    m.helper.set('Software\\Vendor\\App\\Prefs', 'Theme', 'sz', toB64('dark'));
    await m.mirror.sync();
    // Another machine spelled the subkey and the value its own way, and changed the value.
    await m.setFile('/HKCU/Software/Vendor/App/Prefs/Theme', undefined);
    await rm(m.fileOf('/HKCU/Software/Vendor/App/Prefs'), { recursive: true });
    await m.setFile('/HKCU/Software/Vendor/App/PREFS/theme', '"light"');
    const r = await m.mirror.sync();
    assert.deepEqual(r.problems, []);
    assert.deepEqual(m.helper.dump(), { 'Software\\Vendor\\App\\Prefs\\Theme': { kind: 'sz', data: toB64('light') } });
    assert.deepEqual(await m.files(), { '/HKCU/Software/Vendor/App/PREFS/theme': '"light"\n' });
    const again = await m.mirror.sync();
    assert.deepEqual([again.changed, again.applied, again.conflicts, again.problems], [[], [], [], []], 'settled: the registry\'s spelling is not taken for another key');
    // The user changes it here: the file of the layer's spelling follows.
    m.helper.set('Software\\Vendor\\App\\Prefs', 'Theme', 'sz', toB64('contrast'));
    await m.mirror.sync();
    assert.deepEqual(await m.files(), { '/HKCU/Software/Vendor/App/PREFS/theme': '"contrast"\n' });
  });

  it('a value written by hand in another notation of the same value (an org layer\'s file) reaches the registry and its file is left as it is', async (t) => {
    const m = await machine(t);
    await m.setFile('/HKCU/Software/Vendor/App/Count', 'dword:0000002A');
    await m.setFile('/HKCU/Software/Vendor/App/Name', 'hex(1):61,00,00,00');
    assert.deepEqual((await m.mirror.sync()).problems, []);
    assert.deepEqual(m.helper.dump(), {
      'Software\\Vendor\\App\\Count': { kind: 'dword', data: b64(0x2a, 0, 0, 0) },
      'Software\\Vendor\\App\\Name': { kind: 'sz', data: toB64('a') },
    });
    for (let i = 0; i < 2; i++) {
      const r = await m.mirror.sync();
      assert.deepEqual([r.changed, r.applied, r.conflicts, r.problems], [[], [], [], []], `run ${i + 2} takes the registry's notation for no change`);
    }
    assert.deepEqual(await m.files(), { '/HKCU/Software/Vendor/App/Count': 'dword:0000002A\n', '/HKCU/Software/Vendor/App/Name': 'hex(1):61,00,00,00\n' });
  });

  it('two files of one value in two spellings: the first is the value\'s, the other reported and left', async (t) => {
    const m = await machine(t);
    await m.setFile('/HKCU/Software/Vendor/App/Theme', '"a"');
    await m.setFile('/HKCU/Software/Vendor/App/THEME', '"b"');
    const r = await m.mirror.sync();
    assert.deepEqual(m.helper.dump(), { 'Software\\Vendor\\App\\THEME': { kind: 'sz', data: toB64('b') } });
    assert.deepEqual(r.problems.map((p) => p.key), ['/HKCU/Software/Vendor/App/Theme']);
    assert.match(r.problems[0]!.message, /differs from \/HKCU\/Software\/Vendor\/App\/THEME's only in case/);
  });
});

describe('which settings store a machine runs', () => {
  const org = parseOrgConfig({ version: 1, org: 'acme', store: { bucket: 'acme-strata' }, folders: ['Documents'], settings: { registry: ['HKCU\\Control Panel\\Desktop'] } }, 'test');

  it('the registry on Windows, dconf elsewhere; each with its own dirs from the org config', () => {
    const win = platformSettingsStore('win32');
    const linux = platformSettingsStore('linux');
    assert.equal(win.name, 'registry');
    assert.equal(linux.name, 'dconf');
    assert.deepEqual(settingsDirs(org, win), ['/HKCU/Control+20Panel/Desktop/']);
    assert.deepEqual(settingsDirs(org, linux), [], 'a Linux machine has no registry keys to mirror');
  });

  it('the settings folder is part of the layer when the org config lists only registry keys', () => {
    assert.deepEqual(layerFolders(org), ['Documents', '.strata/settings']);
  });
});
