import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OrgConfigError, firstContactFor, parseOrgConfig, parseOrgConfigText, registryLayerName, registryNameOfLayer, SETTINGS_NAME, type OrgConfig } from './org-config.js';

const SOURCE = 'https://intranet.example/acme.json';

/** The smallest valid config, for tests that break one field of it. */
function minimal(): Record<string, unknown> {
  return { version: 1, org: 'acme', store: { bucket: 'acme-strata' } };
}

/** `minimal()` with `patch` applied at a dotted path (undefined deletes the field). */
function withField(path: string, value: unknown): Record<string, unknown> {
  const config = structuredClone(minimal()) as Record<string, Record<string, unknown>>;
  const parts = path.split('.');
  let at: Record<string, unknown> = config;
  for (const part of parts.slice(0, -1)) {
    at[part] ??= {};
    at = at[part] as Record<string, unknown>;
  }
  const last = parts[parts.length - 1] as string;
  if (value === undefined) delete at[last];
  else at[last] = value;
  return config;
}

describe('parseOrgConfig', () => {
  it('fills every default into a minimal config', () => {
    const expected: OrgConfig = {
      version: 1,
      org: 'acme',
      mode: 'persistent',
      store: { region: 'us-east-1', bucket: 'acme-strata', prefix: '', pathStyle: false },
      policies: { firstContact: 'keep-both', hotPaths: [], exclude: [], caseInsensitive: false },
      folders: ['.'],
      settings: { dconf: [], registry: [] },
    };
    assert.deepEqual(parseOrgConfig(minimal(), SOURCE), expected);
  });

  it('reads a full config, normalizing the endpoint and prefix slashes', () => {
    const json = {
      version: 1,
      org: 'acme.eu',
      mode: 'vdi',
      store: { endpoint: 'https://s3.acme.example:8443/', region: 'eu-west-1', bucket: 'acme-strata', prefix: '/layers/prod/', pathStyle: false },
      policies: { firstContact: 'keep-both', hotPaths: ['Desktop/', '.config/app/**'], exclude: ['*.iso', '!keep.iso'], caseInsensitive: true },
      folders: ['Documents', 'Desktop', '.config/app', 'AppData/Roaming/App'],
      settings: { dconf: ['/org/gnome/desktop/interface/', '/org/gnome/gedit/'], registry: ['HKCU\\Control Panel\\Desktop', 'HKCU\\Software\\Vendor\\App'] },
    };
    assert.deepEqual(parseOrgConfig(json, SOURCE), {
      ...json,
      store: { endpoint: 'https://s3.acme.example:8443', region: 'eu-west-1', bucket: 'acme-strata', prefix: 'layers/prod', pathStyle: false },
    });
  });

  it('takes the first-contact policy from the machine mode unless it is given', () => {
    assert.equal(firstContactFor('vdi'), 'layer-wins');
    assert.equal(firstContactFor('persistent'), 'keep-both');
    assert.equal(parseOrgConfig(withField('mode', 'vdi'), SOURCE).policies.firstContact, 'layer-wins');
    assert.equal(parseOrgConfig(withField('mode', 'persistent'), SOURCE).policies.firstContact, 'keep-both');
    const explicit = { ...withField('mode', 'vdi'), policies: { firstContact: 'keep-both' } };
    assert.equal(parseOrgConfig(explicit, SOURCE).policies.firstContact, 'keep-both');
  });

  it('defaults to path-style addressing exactly when an endpoint is set', () => {
    assert.equal(parseOrgConfig(minimal(), SOURCE).store.pathStyle, false);
    assert.equal(parseOrgConfig(withField('store.endpoint', 'http://127.0.0.1:8080'), SOURCE).store.pathStyle, true);
    assert.equal(parseOrgConfig(withField('store.endpoint', 'http://[::1]:8080'), SOURCE).store.endpoint, 'http://[::1]:8080');
  });

  // [what is wrong, the config, the field the error must name, what the message must say]
  const refused: [string, unknown, string, RegExp][] = [
    ['not an object', [], '', /must be a JSON object/],
    ['null', null, '', /must be a JSON object/],
    ['an unknown top-level field', { ...minimal(), owner: 'x' }, 'owner', /unknown field/],
    ['a __proto__ field', JSON.parse('{"version":1,"org":"acme","store":{"bucket":"acme-strata"},"__proto__":{}}'), '__proto__', /unknown field/],
    ['an unknown store field', withField('store.secretAccessKey', 'x'), 'store.secretAccessKey', /unknown field/],
    ['an unknown policies field', withField('policies.wipe', true), 'policies.wipe', /unknown field/],
    ['no version', withField('version', undefined), 'version', /must be 1/],
    ['a newer version', withField('version', 2), 'version', /version 2 is not supported.*upgrade Strata/],
    ['a version as a string', withField('version', '1'), 'version', /must be 1/],
    ['no org', withField('org', undefined), 'org', /is missing/],
    ['an empty org', withField('org', ''), 'org', /must not be empty/],
    ['an org with a path in it', withField('org', '../acme'), 'org', /not a valid org name/],
    ['an org with a space', withField('org', 'acme corp'), 'org', /not a valid org name/],
    ['an org of 129 characters', withField('org', 'a'.repeat(129)), 'org', /not a valid org name/],
    ['an unknown mode', withField('mode', 'VDI'), 'mode', /must be one of "vdi", "persistent"/],
    ['no store', withField('store', undefined), 'store', /is missing/],
    ['a store that is an array', withField('store', ['acme-strata']), 'store', /must be a JSON object/],
    ['no bucket', withField('store.bucket', undefined), 'store.bucket', /is missing/],
    ['a bucket with capitals', withField('store.bucket', 'Acme_Strata'), 'store.bucket', /not a valid bucket name/],
    ['a bucket of two characters', withField('store.bucket', 'ab'), 'store.bucket', /not a valid bucket name/],
    ['a region with a space', withField('store.region', 'eu west'), 'store.region', /not a region name/],
    ['an ftp endpoint', withField('store.endpoint', 'ftp://s3.example'), 'store.endpoint', /not a server address/],
    ['an endpoint with a path', withField('store.endpoint', 'https://s3.example/strata'), 'store.endpoint', /store\.prefix/],
    ['an endpoint with a query', withField('store.endpoint', 'https://s3.example?x=1'), 'store.endpoint', /not a server address/],
    ['an endpoint with port 99999', withField('store.endpoint', 'https://s3.example:99999'), 'store.endpoint', /port must be 1–65535/],
    ['an endpoint with port 0', withField('store.endpoint', 'https://s3.example:0'), 'store.endpoint', /port must be 1–65535/],
    ['an endpoint host with an empty label', withField('store.endpoint', 'https://s3..example'), 'store.endpoint', /not a host name/],
    ['an endpoint host of dots', withField('store.endpoint', 'http://...'), 'store.endpoint', /not a host name/],
    ['an endpoint host starting with -', withField('store.endpoint', 'https://-s3.example'), 'store.endpoint', /not a host name/],
    ['a prefix with an empty part', withField('store.prefix', 'a//b'), 'store.prefix', /empty, "\." or "\.\." part/],
    ['a prefix with ..', withField('store.prefix', 'a/../b'), 'store.prefix', /empty, "\." or "\.\." part/],
    ['pathStyle as a string', withField('store.pathStyle', 'true'), 'store.pathStyle', /true or false/],
    ['an unknown first-contact policy', withField('policies.firstContact', 'merge'), 'policies.firstContact', /"layer-wins", "keep-both"/],
    ['caseInsensitive as a string', withField('policies.caseInsensitive', 'true'), 'policies.caseInsensitive', /must be true or false/],
    ['caseInsensitive as a number', withField('policies.caseInsensitive', 1), 'policies.caseInsensitive', /must be true or false/],
    ['hot paths that are not a list', withField('policies.hotPaths', 'Desktop/'), 'policies.hotPaths', /must be a JSON array/],
    ['a blank hot path', withField('policies.hotPaths', ['Desktop/', '  ']), 'policies.hotPaths[1]', /is blank/],
    ['an exclusion that is a comment', withField('policies.exclude', ['#tmp']), 'policies.exclude[0]', /comment/],
    ['an exclusion of two lines', withField('policies.exclude', ['a\nb']), 'policies.exclude[0]', /one line/],
    ['an exclusion that is a number', withField('policies.exclude', [7]), 'policies.exclude[0]', /must be a string/],
    ['1001 exclusions', withField('policies.exclude', Array(1001).fill('*.tmp')), 'policies.exclude', /at most 1000/],
    ['no folders', withField('folders', []), 'folders', /is empty/],
    ['an unknown settings adapter', withField('settings.plist', []), 'settings.plist', /unknown field/],
    ['registry keys that are not a list', withField('settings.registry', 'HKCU\\Software'), 'settings.registry', /must be a JSON array/],
    ['a registry key of another hive', withField('settings.registry', ['HKLM\\Software\\Vendor']), 'settings.registry[0]', /only HKCU is synced/],
    ['a registry key without its hive', withField('settings.registry', ['Software\\Vendor']), 'settings.registry[0]', /only HKCU is synced/],
    ['a registry key written with "/"', withField('settings.registry', ['HKCU/Software/Vendor']), 'settings.registry[0]', /only HKCU is synced/],
    ['all of HKCU', withField('settings.registry', ['HKCU\\']), 'settings.registry[0]', /all of HKCU/],
    ['a registry key with an empty name', withField('settings.registry', ['HKCU\\Software\\\\Vendor']), 'settings.registry[0]', /empty key name/],
    ['a registry key with a control character', withField('settings.registry', ['HKCU\\Software\\a\nb']), 'settings.registry[0]', /control character/],
    ['a registry key name that is not Unicode', withField('settings.registry', ['HKCU\\Software\\\ud800x']), 'settings.registry[0]', /cannot be a file name/],
    ['a registry key name too long for a file', withField('settings.registry', [`HKCU\\Software\\${' '.repeat(100)}`]), 'settings.registry[0]', /cannot be a file name/],
    ['overlapping registry keys', withField('settings.registry', ['HKCU\\Software\\Vendor', 'HKCU\\Software\\Vendor\\App']), 'settings.registry[1]', /overlaps settings.registry\[0\]/],
    ['registry keys that overlap in another case', withField('settings.registry', ['HKCU\\Software\\Vendor\\App', 'hkey_current_user\\SOFTWARE\\vendor']), 'settings.registry[0]', /overlaps settings.registry\[1\]/],
    ['a registry key listed twice in two cases', withField('settings.registry', ['HKCU\\Software\\A', 'HKCU\\software\\a\\']), 'settings.registry[1]', /overlaps/],
    ['dconf dirs that are not a list', withField('settings.dconf', '/org/'), 'settings.dconf', /must be a JSON array/],
    ['a relative dconf dir', withField('settings.dconf', ['org/gnome/']), 'settings.dconf[0]', /absolute, ending in "\/"/],
    ['a dconf key instead of a dir', withField('settings.dconf', ['/org/gnome/theme']), 'settings.dconf[0]', /absolute, ending in "\/"/],
    ['all of dconf', withField('settings.dconf', ['/']), 'settings.dconf[0]', /all of dconf/],
    ['a dconf dir with ..', withField('settings.dconf', ['/org/../etc/']), 'settings.dconf[0]', /each name/],
    ['a dconf dir with an empty name', withField('settings.dconf', ['/org//gnome/']), 'settings.dconf[0]', /each name/],
    ['overlapping dconf dirs', withField('settings.dconf', ['/org/gnome/', '/org/gnome/desktop/']), 'settings.dconf[1]', /overlaps settings.dconf\[0\]/],
    ['a dconf dir listed twice', withField('settings.dconf', ['/org/a/', '/org/a/']), 'settings.dconf[1]', /overlaps/],
    ['an absolute folder', withField('folders', ['/home/alice']), 'folders[0]', /relative to home/],
    ['a Windows drive folder', withField('folders', ['C:/Users/alice']), 'folders[0]', /relative to home/],
    ['a ~ folder', withField('folders', ['~/Documents']), 'folders[0]', /relative to home/],
    ['a folder with backslashes', withField('folders', ['AppData\\Roaming']), 'folders[0]', /separate folder names with "\/"/],
    ['a folder going up', withField('folders', ['Documents', '../bob']), 'folders[1]', /"\.\." part/],
    ['a folder with a . part', withField('folders', ['a/./b']), 'folders[0]', /"\." or/],
    ['a folder with a trailing slash', withField('folders', ['Documents/']), 'folders[0]', /empty/],
    ['a folder with a control character', withField('folders', ['Doc\u0007s']), 'folders[0]', /control character/],
    ['a folder with a bracket', withField('folders', ['Documents', 'Projects [2024]']), 'folders[1]', /one of \* \? \[ \] ! #/],
    ['a folder with a wildcard', withField('folders', ['Doc*']), 'folders[0]', /one of \* \? \[ \] ! #/],
    ['a folder inside another', withField('folders', ['Documents', 'Desktop', 'Documents/Work']), 'folders[2]', /overlaps folders\[0\] "Documents"/],
    ['a folder twice', withField('folders', ['Desktop', 'Desktop']), 'folders[1]', /overlaps/],
    ['folders that differ only in case', withField('folders', ['Documents', 'documents']), 'folders[1]', /overlaps/],
    ['the whole home and a folder', withField('folders', ['.', 'Documents']), 'folders', /already covers/],
    ['the reserved .strata folder', withField('folders', ['.strata/settings']), 'folders[0]', /reserved/],
    ['257 folders', withField('folders', Array.from({ length: 257 }, (_, i) => `f${i}`)), 'folders', /at most 256/],
  ];
  for (const [what, json, field, problem] of refused) {
    it(`refuses ${what}, naming the source and ${field || 'the whole file'}`, () => {
      assert.throws(
        () => parseOrgConfig(json, SOURCE),
        (err: unknown) => {
          assert.ok(err instanceof OrgConfigError, String(err));
          assert.equal(err.source, SOURCE);
          assert.equal(err.field, field);
          assert.ok(err.message.startsWith(field === '' ? `${SOURCE}: ` : `${SOURCE}: ${field}: `), err.message);
          assert.match(err.message, problem);
          return true;
        },
      );
    });
  }

  it('never echoes credentials put in the endpoint', () => {
    assert.throws(
      () => parseOrgConfig(withField('store.endpoint', 'https://AKIAEXAMPLE:s3cr3t@s3.example'), SOURCE),
      (err: unknown) => err instanceof OrgConfigError && err.field === 'store.endpoint' && /credentials/.test(err.message) && !err.message.includes('s3cr3t'),
    );
  });

  it('cuts a long value short in the message', () => {
    assert.throws(
      () => parseOrgConfig(withField('store.bucket', 'x'.repeat(1000)), SOURCE),
      (err: unknown) => err instanceof OrgConfigError && err.message.length < 200,
    );
  });
});

describe('settings.registry', () => {
  it('reads HKEY_CURRENT_USER as HKCU and drops a trailing "\\"; keys that only share a prefix of a name do not overlap', () => {
    const config = parseOrgConfig(withField('settings.registry', ['HKEY_CURRENT_USER\\Control Panel\\Desktop\\', 'hkcu\\Software\\App', 'HKCU\\Software\\AppX', 'HKCU\\Software\\Classes\\MIME\\Database\\Content Type\\text/html']), SOURCE);
    assert.deepEqual(config.settings.registry, ['HKCU\\Control Panel\\Desktop', 'HKCU\\Software\\App', 'HKCU\\Software\\AppX', 'HKCU\\Software\\Classes\\MIME\\Database\\Content Type\\text/html']);
    assert.deepEqual(config.settings.dconf, []);
  });

  it('takes keys for one only where the registry does: each UTF-16 unit upper-cased alone', () => {
    const apart = ['HKCU\\Software\\\u{10400}', 'HKCU\\Software\\\u{10428}', 'HKCU\\Software\\\u212a', 'HKCU\\Software\\k'];
    assert.deepEqual(parseOrgConfig(withField('settings.registry', apart), SOURCE).settings.registry, apart);
    assert.throws(() => parseOrgConfig(withField('settings.registry', ['HKCU\\Software\\\u00c9t\u00e9', 'HKCU\\software\\\u00e9T\u00c9\\x']), SOURCE), (err: unknown) => err instanceof OrgConfigError && err.field === 'settings.registry[1]' && /overlaps/.test(err.message));
  });
});

describe('registry names as layer file names', () => {
  const cases: [string, string][] = [
    ['Desktop', 'Desktop'],
    ['Control Panel', 'Control+20Panel'],
    ['', '+'],
    ['(Default)', '+28Default+29'],
    ['WheelScrollLines', 'WheelScrollLines'],
    ['a+b', 'a+2Bb'],
    ['.hidden', '+2Ehidden'],
    ['trailing.', 'trailing+2E'],
    ['trailing ', 'trailing+20'],
    ['v1.2.3', 'v1.2.3'],
    ['x.sync-conflict-20260101-000000-pc', 'x+2Esync-conflict-20260101-000000-pc'],
    ['CON', '+43ON'],
    ['con', '+63on'],
    ['Nul.txt', '+4Eul.txt'],
    ['COM1', '+43OM1'],
    ['LPT9.a.b', '+4CPT9.a.b'],
    ['CONSOLE', 'CONSOLE'],
    ['text/html', 'text+2Fhtml'],
    ['a\\b', 'a+5Cb'],
    ['<>:"|?*', '+3C+3E+3A+22+7C+3F+2A'],
    ['Öffnen', '+C3+96ffnen'],
    ['🙂', '+F0+9F+99+82'],
    ['%USERPROFILE%', '+25USERPROFILE+25'],
  ];
  for (const [name, layer] of cases) {
    it(`${JSON.stringify(name)} is ${layer} and back`, () => {
      assert.equal(registryLayerName(name), layer);
      assert.ok(SETTINGS_NAME.test(layer), 'a name the layer holds');
      assert.equal(registryNameOfLayer(layer), name);
    });
  }

  it('has no name for a lone surrogate or a name too long for a file', () => {
    assert.equal(registryLayerName('a\ud800'), undefined);
    assert.equal(registryLayerName('\udc00a'), undefined);
    assert.equal(registryLayerName('x'.repeat(255)), 'x'.repeat(255));
    assert.equal(registryLayerName('x'.repeat(256)), undefined);
    assert.equal(registryLayerName(' '.repeat(86)), undefined);
  });

  it('reads back only the names it makes: one file name per registry name', () => {
    for (const other of ['+41', '+2e', 'a b', 'CON', 'a+', 'a+4', '+G0', '.x', 'x.', '+FF', '+C3', 'trailing.', '++', '+2B+', 'x.sync-conflict-20260101-000000-pc', 'x/y']) {
      assert.equal(registryNameOfLayer(other), undefined, other);
    }
  });
});

describe('parseOrgConfigText', () => {
  it('parses the file text', () => {
    assert.equal(parseOrgConfigText(JSON.stringify(minimal()), 'acme.json').org, 'acme');
  });

  it('refuses text that is not JSON, naming the source', () => {
    assert.throws(() => parseOrgConfigText('{"version": 1,', 'acme.json'), (err: unknown) => err instanceof OrgConfigError && err.field === '' && /^acme\.json: not valid JSON/.test(err.message));
  });
});
