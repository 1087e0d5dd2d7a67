import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OrgConfigError, firstContactFor, parseOrgConfig, parseOrgConfigText, type OrgConfig } from './org-config.js';

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
      settings: { dconf: [] },
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
      settings: { dconf: ['/org/gnome/desktop/interface/', '/org/gnome/gedit/'] },
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
    ['an unknown settings adapter', withField('settings.registry', []), 'settings.registry', /unknown field/],
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

describe('parseOrgConfigText', () => {
  it('parses the file text', () => {
    assert.equal(parseOrgConfigText(JSON.stringify(minimal()), 'acme.json').org, 'acme');
  });

  it('refuses text that is not JSON, naming the source', () => {
    assert.throws(() => parseOrgConfigText('{"version": 1,', 'acme.json'), (err: unknown) => err instanceof OrgConfigError && err.field === '' && /^acme\.json: not valid JSON/.test(err.message));
  });
});
