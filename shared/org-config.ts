/**
 * The org config: the small JSON file an admin distributes to every machine of an organisation
 * (DESIGN §4). It says where the organisation's bucket is, which folders under a user's home
 * make up the layer, and the default policies. It never holds credentials: those live only in
 * the OS keychain (DESIGN §6), and an endpoint carrying user info is refused.
 *
 *   {
 *     "version": 1,
 *     "org": "acme",
 *     "mode": "vdi",                               // optional: "persistent" (default) or "vdi"
 *     "store": {
 *       "endpoint": "https://s3.acme.example",      // optional: omit for AWS itself
 *       "region": "eu-west-1",                      // optional: default us-east-1
 *       "bucket": "acme-strata",
 *       "prefix": "layers",                         // optional: default "" (the bucket's root)
 *       "pathStyle": true                           // optional: default true iff an endpoint is set
 *     },
 *     "policies": {                                 // optional, and so is each field
 *       "firstContact": "layer-wins",               // default: layer-wins for vdi, keep-both otherwise
 *       "hotPaths": ["Desktop/", ".config/app/"],   // gitignore syntax, relative to home
 *       "exclude": ["*.iso", "Downloads/"],         // gitignore syntax, relative to home
 *       "caseInsensitive": true                     // default false: each machine as its disk does
 *     },
 *     "folders": ["Documents", "Desktop", ".config/app", "AppData/Roaming/App"],
 *     "settings": {                                 // optional: settings that are part of the layer
 *       "dconf": ["/org/gnome/desktop/interface/"], // dconf dirs (Linux), synced per key
 *       "registry": ["HKCU\\Control Panel\\Desktop"] // HKCU keys (Windows), synced per value
 *     }
 *   }
 *
 * `folders` are relative to home, written with "/" on every OS; omitted, the layer is the whole
 * home (["."]). They must not overlap, nor name the reserved `.strata` folder.
 *
 * `policies.caseInsensitive`: the layer is shared with Windows or macOS machines, so every machine
 * treats names that differ only in case as one, as those disks do (sync/plan/casefold.ts): a
 * case-sensitive one (Linux) then never puts `README.txt` and `Readme.txt` side by side in the
 * layer. `false` leaves it to each machine's disk: Windows and macOS fold case all the same.
 *
 * `settings.dconf` are dconf dirs (absolute, ending in "/"): their keys are part of the layer, as
 * one file per key under `.strata/settings/dconf/` (sync/settings/). They must not overlap either.
 *
 * `settings.registry` are keys of the user's registry hive (Windows), written `HKCU\Software\Vendor`
 * (`HKEY_CURRENT_USER\…` is read as `HKCU\…`; one trailing "\" is dropped): every value under them,
 * subkeys and all, is part of the layer, one file per value under `.strata/settings/registry/HKCU/…`.
 * Each name becomes a file name through registryLayerName. The registry folds case, so two keys
 * that differ only in case are one, and must not overlap either; all of HKCU is refused.
 *
 * What must hold: `parseOrgConfig` accepts exactly this shape and nothing else — an unknown field,
 * a wrong type or a bad value anywhere is one OrgConfigError naming the source and the field
 * (`acme.json: store.bucket: …`) — and returns a config with every default filled in, so no
 * caller re-derives a default. This module is pure (no Node APIs): the engine wraps the error in
 * a StrataError E_BAD_ORG_CONFIG.
 */

export const ORG_CONFIG_VERSION = 1;

export type MachineMode = 'vdi' | 'persistent';
/** What wins on first contact with a machine whose folders already hold files (DESIGN §4). */
export type FirstContactPolicy = 'layer-wins' | 'keep-both';

export interface OrgStoreConfig {
  /** `scheme://host[:port]`, no trailing slash; absent for AWS itself. */
  endpoint?: string;
  region: string;
  bucket: string;
  /** Key prefix inside the bucket without leading or trailing "/"; '' for the bucket's root. */
  prefix: string;
  pathStyle: boolean;
}

export interface OrgPolicies {
  firstContact: FirstContactPolicy;
  /** gitignore-syntax patterns, relative to home: restored first at sign-in. */
  hotPaths: string[];
  /** gitignore-syntax patterns, relative to home: never synced (on top of the built-in ones). */
  exclude: string[];
  /** Every machine folds case, whatever its disk does (false: as its disk does). */
  caseInsensitive: boolean;
}

/** Settings that are part of the layer (DESIGN §1), by adapter. */
export interface OrgSettings {
  /** dconf dirs, e.g. "/org/gnome/desktop/interface/": absolute, ending in "/". */
  dconf: string[];
  /** HKCU registry keys, e.g. "HKCU\\Control Panel\\Desktop": "HKCU\\" and names separated by "\\". */
  registry: string[];
}

export interface OrgConfig {
  version: typeof ORG_CONFIG_VERSION;
  org: string;
  mode: MachineMode;
  store: OrgStoreConfig;
  policies: OrgPolicies;
  /** Folders under home that belong to the layer; ['.'] is the whole home. */
  folders: string[];
  settings: OrgSettings;
}

/** A refused org config: `source` is the file or URL, `field` the JSON path ('' for the whole). */
export class OrgConfigError extends Error {
  readonly source: string;
  readonly field: string;

  constructor(source: string, field: string, problem: string) {
    super(field === '' ? `${source}: ${problem}` : `${source}: ${field}: ${problem}`);
    this.name = 'OrgConfigError';
    this.source = source;
    this.field = field;
  }
}

/** Org names follow the rule of layer and device ids: they appear in keychain entries and logs. */
export function isOrgName(name: unknown): name is string {
  return typeof name === 'string' && ORG_NAME.test(name);
}

export function firstContactFor(mode: MachineMode): FirstContactPolicy {
  return mode === 'vdi' ? 'layer-wins' : 'keep-both';
}

/** Parses the file's text: JSON, then `parseOrgConfig`. */
export function parseOrgConfigText(text: string, source: string): OrgConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new OrgConfigError(source, '', `not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  return parseOrgConfig(json, source);
}

const MODES: readonly MachineMode[] = ['vdi', 'persistent'];
const POLICIES: readonly FirstContactPolicy[] = ['layer-wins', 'keep-both'];
const ORG_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;
/** DNS-style bucket names: what every S3-compatible server accepts. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION = /^[A-Za-z0-9._-]{1,64}$/;
const ENDPOINT = /^https?:\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?\/?$/;
const MAX_FOLDERS = 256;
const MAX_PATTERNS = 1000;
const MAX_TEXT = 1024;

/** Checks a parsed org config (untrusted JSON) and returns it with every default filled in. */
export function parseOrgConfig(json: unknown, source: string): OrgConfig {
  const fail: Fail = (field, problem) => {
    throw new OrgConfigError(source, field, problem);
  };
  const top = object(json, '', ['version', 'org', 'mode', 'store', 'policies', 'folders', 'settings'], fail);
  if (top.version !== ORG_CONFIG_VERSION) {
    if (typeof top.version === 'number') fail('version', `version ${top.version} is not supported: this Strata reads version ${ORG_CONFIG_VERSION} (upgrade Strata)`);
    fail('version', `must be ${ORG_CONFIG_VERSION}`);
  }
  const org = string(top.org, 'org', fail);
  if (!isOrgName(org)) fail('org', `${show(org)} is not a valid org name (1–128 of letters, digits, ".", "_", "@", "-"; starting with a letter or digit)`);
  const mode = top.mode === undefined ? 'persistent' : oneOf(top.mode, 'mode', MODES, fail);
  const store = parseStore(top.store, fail);
  const p = top.policies === undefined ? {} : object(top.policies, 'policies', ['firstContact', 'hotPaths', 'exclude', 'caseInsensitive'], fail);
  if (p.caseInsensitive !== undefined && typeof p.caseInsensitive !== 'boolean') fail('policies.caseInsensitive', 'must be true or false');
  const policies: OrgPolicies = {
    firstContact: p.firstContact === undefined ? firstContactFor(mode) : oneOf(p.firstContact, 'policies.firstContact', POLICIES, fail),
    hotPaths: patterns(p.hotPaths, 'policies.hotPaths', fail),
    exclude: patterns(p.exclude, 'policies.exclude', fail),
    caseInsensitive: p.caseInsensitive === true,
  };
  const folders = top.folders === undefined ? ['.'] : parseFolders(top.folders, fail);
  const settings = top.settings === undefined ? { dconf: [], registry: [] } : parseSettings(top.settings, fail);
  return { version: ORG_CONFIG_VERSION, org, mode, store, policies, folders, settings };
}

/** A dconf dir or key name part the layer can hold as a file name on every OS. */
export const SETTINGS_NAME = /^[A-Za-z0-9_+-][A-Za-z0-9_.+-]*$/;
const MAX_SETTINGS_DIRS = 256;

function parseSettings(value: unknown, fail: Fail): OrgSettings {
  const s = object(value, 'settings', ['dconf', 'registry'], fail);
  return { dconf: s.dconf === undefined ? [] : parseDconf(s.dconf, fail), registry: s.registry === undefined ? [] : parseRegistry(s.registry, fail) };
}

function parseDconf(value: unknown, fail: Fail): string[] {
  const dirs = list(value, 'settings.dconf', MAX_SETTINGS_DIRS, fail).map((item, i) => {
    const field = `settings.dconf[${i}]`;
    const dir = string(item, field, fail);
    if (!dir.startsWith('/') || !dir.endsWith('/')) fail(field, `${show(dir)} is not a dconf dir: write it absolute, ending in "/" (e.g. "/org/gnome/desktop/interface/")`);
    const parts = dir.slice(1, -1).split('/');
    if (dir === '/' || parts.some((p) => !SETTINGS_NAME.test(p))) fail(field, `${show(dir)}: each name must be letters, digits, ".", "_", "+", "-" (not starting with "."), and "/" alone is all of dconf`);
    return dir;
  });
  dirs.forEach((a, i) => {
    dirs.forEach((b, j) => {
      if (i !== j && b.startsWith(a) && (a !== b || i < j)) fail(`settings.dconf[${j}]`, `${show(b)} overlaps settings.dconf[${i}] ${show(a)}`);
    });
  });
  return dirs;
}

function parseRegistry(value: unknown, fail: Fail): string[] {
  const keys = list(value, 'settings.registry', MAX_SETTINGS_DIRS, fail).map((item, i) => {
    const field = `settings.registry[${i}]`;
    const text = string(item, field, fail);
    const m = /^(?:HKCU|HKEY_CURRENT_USER)(?:\\(.*))?$/is.exec(text);
    if (!m) fail(field, `${show(text)} is not a key of the user's hive: write it "HKCU\\Software\\Vendor\\App" (only HKCU is synced)`);
    const path = (m?.[1] ?? '').replace(/\\$/, '');
    if (path === '') fail(field, `${show(text)} is all of HKCU: name the keys to sync under it`);
    const names = path.split('\\');
    for (const name of names) {
      if (name === '') fail(field, `${show(text)} has an empty key name (two "\\" in a row)`);
      if (hasControl(name)) fail(field, `${show(text)} contains a control character`);
      if (registryLayerName(name) === undefined) fail(field, `${show(text)}: the key name ${show(name)} cannot be a file name of the layer (not Unicode text, or too long)`);
    }
    return `HKCU\\${names.join('\\')}`;
  });
  // The registry folds case: "Software\\Vendor" and "SOFTWARE\\vendor" are one key.
  const folded = keys.map((k) => `${registryFold(k)}\\`);
  folded.forEach((a, i) => {
    folded.forEach((b, j) => {
      if (i !== j && b.startsWith(a) && (a !== b || i < j)) fail(`settings.registry[${j}]`, `${show(keys[j] ?? '')} overlaps settings.registry[${i}] ${show(keys[i] ?? '')}`);
    });
  });
  return keys;
}

/** Windows's reserved device names, which no file may take, whatever follows a dot (`NUL.txt`). */
const DEVICE_NAME = /^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i;
/** A layer name's longest: most file systems hold names of at most 255 bytes. */
const MAX_LAYER_NAME = 255;

/**
 * The file name in the layer of a registry key or value name, or undefined where there is none
 * (a name that is not Unicode text: a lone surrogate; one whose file name would be too long).
 * What must hold: the mapping is one-to-one, and its names are ones every OS can hold and
 * SETTINGS_NAME accepts. Letters, digits, "_" and "-" stay; "." stays but first, last or before
 * "sync-conflict-" (a conflict copy's mark); every other UTF-8 byte is "+" and two upper-case hex
 * digits ("Control Panel" is "Control+20Panel"); a reserved device name (CON, NUL.x, …) has its
 * first letter so written; the empty name (a key's default value) is "+" alone.
 */
export function registryLayerName(name: string): string | undefined {
  if (name === '') return '+';
  const bytes = utf8(name);
  if (bytes === undefined) return undefined;
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    const c = String.fromCharCode(b);
    const dotOk = c === '.' && i > 0 && i < bytes.length - 1 && String.fromCharCode(...bytes.slice(i + 1, i + 15)) !== 'sync-conflict-';
    out += /[A-Za-z0-9_-]/.test(c) || dotOk ? c : escapeByte(b);
  }
  if (DEVICE_NAME.test(out)) out = `${escapeByte(out.charCodeAt(0))}${out.slice(1)}`;
  return out.length > MAX_LAYER_NAME ? undefined : out;
}

/**
 * One spelling of every spelling the registry takes for one name: it compares names with each
 * UTF-16 unit upper-cased alone (the kernel's upcase table, one unit to one unit), so "é" is "É"
 * but a letter beyond the BMP (two units) has no case, "İ" is not "i̇", and the Kelvin sign is not
 * "k". A unit whose upper case is not one unit ("ß", "ŉ") stays as it is.
 */
export function registryFold(name: string): string {
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const c = name[i]!;
    const up = c.toUpperCase();
    out += up.length === 1 ? up : c;
  }
  return out;
}

/** The registry name of a layer name registryLayerName made, or undefined for a name it does not make. */
export function registryNameOfLayer(layerName: string): string | undefined {
  if (layerName === '+') return '';
  if (!/^(?:[A-Za-z0-9_.-]|\+[0-9A-F]{2})+$/.test(layerName)) return undefined;
  let name: string;
  try {
    // Strict: a byte sequence that is not UTF-8 (a lone "+C3", a surrogate's) throws.
    name = decodeURIComponent(layerName.replace(/\+/g, '%'));
  } catch {
    return undefined;
  }
  // One spelling per name: any other ("+41" for "A") would be a second file for one value.
  return registryLayerName(name) === layerName ? name : undefined;
}

/** The UTF-8 bytes of `s`, or undefined where it holds a lone surrogate (not Unicode text). */
function utf8(s: string): number[] | undefined {
  const out: number[] = [];
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c >= 0xd800 && c <= 0xdfff) return undefined;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return out;
}

function escapeByte(b: number): string {
  return `+${b.toString(16).toUpperCase().padStart(2, '0')}`;
}

type Fail = (field: string, problem: string) => never;

function parseStore(value: unknown, fail: Fail): OrgStoreConfig {
  if (value === undefined) fail('store', 'is missing (the bucket to sync with: { "bucket": … })');
  const s = object(value, 'store', ['endpoint', 'region', 'bucket', 'prefix', 'pathStyle'], fail);
  let endpoint: string | undefined;
  if (s.endpoint !== undefined) {
    endpoint = string(s.endpoint, 'store.endpoint', fail);
    if (/^[a-z]+:\/\/[^/]*@/i.test(endpoint)) fail('store.endpoint', 'must not contain credentials (they go in the OS keychain, through strata login)');
    const m = ENDPOINT.exec(endpoint);
    if (!m) fail('store.endpoint', `${show(endpoint)} is not a server address: write http(s)://host[:port], and put a key prefix in store.prefix`);
    // The pattern lets through what no client can connect to: found here, not after the credentials are asked.
    const [, host = '', port] = m as RegExpExecArray;
    if (!host.startsWith('[') && host.split('.').some((label) => label === '' || label.startsWith('-') || label.endsWith('-') || label.length > 63)) {
      fail('store.endpoint', `${show(endpoint)}: ${show(host)} is not a host name`);
    }
    if (port !== undefined && (Number(port.slice(1)) < 1 || Number(port.slice(1)) > 65535)) fail('store.endpoint', `${show(endpoint)}: the port must be 1–65535`);
    endpoint = endpoint.replace(/\/$/, '');
  }
  const region = s.region === undefined ? 'us-east-1' : string(s.region, 'store.region', fail);
  if (!REGION.test(region)) fail('store.region', `${show(region)} is not a region name (1–64 of letters, digits, ".", "_", "-")`);
  const bucket = string(s.bucket, 'store.bucket', fail);
  if (!BUCKET.test(bucket)) fail('store.bucket', `${show(bucket)} is not a valid bucket name (3–63 of a-z, 0-9, ".", "-")`);
  const prefix = s.prefix === undefined ? '' : string(s.prefix, 'store.prefix', fail, true).replace(/^\/+|\/+$/g, '');
  if (prefix !== '' && prefix.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    fail('store.prefix', `${show(prefix)} has an empty, "." or ".." part`);
  }
  if (s.pathStyle !== undefined && typeof s.pathStyle !== 'boolean') fail('store.pathStyle', 'must be true or false');
  // Servers other than AWS rarely do virtual-hosted buckets: path style is their safe default.
  const pathStyle = typeof s.pathStyle === 'boolean' ? s.pathStyle : endpoint !== undefined;
  return { ...(endpoint === undefined ? {} : { endpoint }), region, bucket, prefix, pathStyle };
}

function parseFolders(value: unknown, fail: Fail): string[] {
  const folders = list(value, 'folders', MAX_FOLDERS, fail).map((item, i) => folder(item, `folders[${i}]`, fail));
  if (folders.length === 0) fail('folders', 'is empty: list the folders under home that belong to the layer, or omit it for the whole home');
  if (folders.includes('.') && folders.length > 1) fail('folders', '"." (the whole home) already covers every other folder listed');
  // Case-insensitively: on Windows and macOS "Documents" and "documents" are one folder.
  const keys = folders.map((f) => f.toLowerCase());
  keys.forEach((a, i) => {
    keys.forEach((b, j) => {
      if (i !== j && (a === b || b.startsWith(`${a}/`))) fail(`folders[${j}]`, `${show(folders[j] ?? '')} overlaps folders[${i}] ${show(folders[i] ?? '')}`);
    });
  });
  return folders;
}

function folder(value: unknown, field: string, fail: Fail): string {
  const f = string(value, field, fail);
  if (f === '.') return f;
  if (f.includes('\\')) fail(field, `${show(f)}: separate folder names with "/", also on Windows`);
  if (f.startsWith('/') || /^[A-Za-z]:/.test(f) || f.startsWith('~')) fail(field, `${show(f)} must be relative to home, not absolute`);
  const parts = f.split('/');
  if (parts.some((part) => part === '' || part === '.' || part === '..')) fail(field, `${show(f)} has an empty, "." or ".." part`);
  if (hasControl(f)) fail(field, `${show(f)} contains a control character`);
  // The engine makes the folders gitignore rules (sync/agent/include.ts) and refuses these there:
  // accepted here, the config would pass sign-in, credentials and all, and fail the first lay.
  if (/[*?[\]!#]/.test(f)) fail(field, `${show(f)} contains one of * ? [ ] ! #, which a folder name of the layer must not hold`);
  if (parts[0]?.toLowerCase() === '.strata') fail(field, '.strata is reserved for Strata itself');
  return f;
}

function patterns(value: unknown, field: string, fail: Fail): string[] {
  if (value === undefined) return [];
  return list(value, field, MAX_PATTERNS, fail).map((item, i) => {
    const pattern = string(item, `${field}[${i}]`, fail);
    if (hasControl(pattern)) fail(`${field}[${i}]`, 'a pattern must be one line without control characters');
    if (pattern.trim() === '') fail(`${field}[${i}]`, 'is blank');
    if (pattern.startsWith('#')) fail(`${field}[${i}]`, `${show(pattern)} would be a comment in gitignore syntax (write \\# for a literal #)`);
    return pattern;
  });
}

function object(value: unknown, field: string, known: readonly string[], fail: Fail): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(field, 'must be a JSON object');
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!known.includes(key)) fail(field === '' ? key : `${field}.${key}`, `unknown field (known here: ${known.join(', ')})`);
  }
  return record;
}

function list(value: unknown, field: string, max: number, fail: Fail): unknown[] {
  if (!Array.isArray(value)) fail(field, 'must be a JSON array');
  const items = value as unknown[];
  if (items.length > max) fail(field, `has ${items.length} entries; at most ${max} are allowed`);
  return items;
}

function string(value: unknown, field: string, fail: Fail, emptyAllowed = false): string {
  if (value === undefined) fail(field, 'is missing');
  if (typeof value !== 'string') fail(field, 'must be a string');
  const s = value as string;
  if (s === '' && !emptyAllowed) fail(field, 'must not be empty');
  if (s.length > MAX_TEXT) fail(field, `is ${s.length} characters long; at most ${MAX_TEXT} are allowed`);
  return s;
}

function oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[], fail: Fail): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) fail(field, `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}`);
  return value as T;
}

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 0x20 || s.charCodeAt(i) === 0x7f) return true;
  return false;
}

/** A value quoted for a message, cut short so that a pasted blob does not flood the line. */
function show(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}…` : value);
}
