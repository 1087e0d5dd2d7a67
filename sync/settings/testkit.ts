/**
 * Settings stores for tests: an in-memory one (fast, for the randomized tests), a real dconf
 * with a database and a D-Bus session bus of its own (dbus-daemon, the dconf service activated on
 * it), so that a test never touches the dconf of the person running it, and a fake registry
 * helper (no Windows here) behind the real RegistryStore.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { registryFold } from '../../shared/org-config.js';
import { Dconf } from './dconf.js';
import type { RegistryRequest } from './registry-protocol.js';
import { isSettingsPath, type SettingsChange, type SettingsProblem, type SettingsStore } from './settings.js';

export class MemorySettings implements SettingsStore {
  readonly name = 'dconf';
  readonly values = new Map<string, string>();
  /** Values this store refuses to take, as dconf refuses what is not GVariant. */
  refuse: (value: string) => boolean = () => false;

  async read(dir: string): Promise<{ values: Map<string, string>; skipped: string[] }> {
    const values = new Map<string, string>();
    const skipped: string[] = [];
    for (const [k, v] of this.values) {
      if (!k.startsWith(dir)) continue;
      if (isSettingsPath(k)) values.set(k, v);
      else skipped.push(k);
    }
    return { values, skipped };
  }

  async write(changes: readonly SettingsChange[]): Promise<SettingsProblem[]> {
    const problems: SettingsProblem[] = [];
    for (const c of changes) {
      if (c.value === undefined) this.values.delete(c.key);
      else if (this.refuse(c.value)) problems.push({ key: c.key, message: 'refused' });
      else this.values.set(c.key, c.value);
    }
    return problems;
  }
}

export const hasDconf = spawnSync('dconf', ['help'], { stdio: 'ignore' }).error === undefined && spawnSync('dbus-daemon', ['--version'], { stdio: 'ignore' }).error === undefined;
/** Skips a test that needs dconf where it is not installed, except in CI (which installs it: .ci/run). */
export const needsDconf = !hasDconf && process.env.CI === undefined ? 'needs dconf (apt install dconf-cli dconf-service dbus)' : false;

export interface TestDconf {
  dconf: Dconf;
  env: NodeJS.ProcessEnv;
  /** The database's folder (XDG_CONFIG_HOME). */
  config: string;
}

export interface SystemDb {
  /** The administrator's values: a key file, as in /etc/dconf/db/local.d/. */
  values: string;
  /** Keys locked to those values, as in /etc/dconf/db/local.d/locks/. */
  locks?: string[];
}

/**
 * A dconf of its own for the test: stopped (bus and folders gone) when the test ends. With
 * `system`, its profile has a system database under the user's, as a managed desktop's has.
 */
export async function startDconf(t: { after: (fn: () => unknown) => void }, opts: { system?: SystemDb } = {}): Promise<TestDconf> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-dconf-'));
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), XDG_RUNTIME_DIR: dir, XDG_CACHE_HOME: join(dir, 'cache') };
  if (opts.system) {
    await mkdir(join(dir, 'db', 'local.d', 'locks'), { recursive: true });
    await writeFile(join(dir, 'db', 'local.d', '00-test'), opts.system.values);
    await writeFile(join(dir, 'db', 'local.d', 'locks', '00-test'), (opts.system.locks ?? []).map((k) => `${k}\n`).join(''));
    const compiled = spawnSync('dconf', ['compile', join(dir, 'db', 'local'), join(dir, 'db', 'local.d')], { encoding: 'utf8' });
    if (compiled.status !== 0) throw new Error(`dconf compile failed: ${compiled.stderr}`);
    await writeFile(join(dir, 'profile'), `user-db:user\nfile-db:${join(dir, 'db', 'local')}\n`);
    env.DCONF_PROFILE = join(dir, 'profile');
  }
  const bus = spawn('dbus-daemon', ['--session', '--nofork', '--nopidfile', '--print-address=1'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(async () => {
    bus.kill();
    await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }); // dconf may still write as it goes
  });
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    bus.stdout.setEncoding('utf8');
    bus.stdout.on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0] ?? '');
    });
    bus.on('error', reject);
    bus.on('exit', (code) => reject(new Error(`dbus-daemon exited (${code}) before it printed its address`)));
  });
  const busEnv = { ...env, DBUS_SESSION_BUS_ADDRESS: address };
  return { dconf: new Dconf({ env: busEnv }), env: busEnv, config: env.XDG_CONFIG_HOME as string };
}

/**
 * A registry helper for tests (registry-script.ts stands for one on Windows): it answers the
 * requests of registry-protocol.ts over an in-memory HKCU that folds case as the registry does —
 * a key or value keeps the spelling it was made with, and any spelling finds it.
 */
export class FakeRegistryHelper {
  /** Keys by their names under HKCU joined with "\": the spelling made, and the values by name. */
  readonly keys = new Map<string, { names: string[]; values: Map<string, { name: string; kind: string; data: string | string[] }> }>();
  /** Keys (folded, "\"-joined) the user may not write. */
  readonly denied = new Set<string>();
  /** Keys (folded, "\"-joined) the user may not read: a read answers them denied, and nothing under them. */
  readonly unreadable = new Set<string>();
  readonly requests: RegistryRequest[] = [];

  readonly channel = async (request: RegistryRequest): Promise<unknown> => {
    // As the helper does, through JSON and nothing else.
    const req = JSON.parse(JSON.stringify(request)) as RegistryRequest;
    this.requests.push(req);
    if (req.op === 'read') {
      const top = registryFold(req.key.map(fromB64).join('\\'));
      const under = (k: string, parent: string) => k.startsWith(`${parent}\\`);
      const keys = [...this.keys.entries()]
        .filter(([k]) => (k === top || under(k, top)) && ![...this.unreadable].some((u) => under(k, u)))
        .sort(([a], [b]) => a.length - b.length)
        .map(([id, k]) => {
          const key = k.names.slice(req.key.length).map(toB64);
          return this.unreadable.has(id) ? { key, denied: true } : { key, values: [...k.values.values()].map((v) => ({ name: toB64(v.name), kind: v.kind, data: v.data })) };
        });
      return { ok: true, keys };
    }
    return {
      ok: true,
      results: req.changes.map((c) => {
        const names = c.key.map(fromB64);
        const id = registryFold(names.join('\\'));
        if (this.denied.has(id)) return { ok: false, denied: true, error: 'Requested registry access is not allowed.' };
        if (c.kind === undefined) {
          this.keys.get(id)?.values.delete(registryFold(fromB64(c.name)));
          return { ok: true };
        }
        const name = fromB64(c.name);
        const key = this.makeKey(names);
        const had = key.values.get(registryFold(name));
        key.values.set(registryFold(name), { name: had?.name ?? name, kind: c.kind, data: c.data! });
        return { ok: true };
      }),
    };
  };

  /** Sets a value as the registry would hold it (`kind`, `data` as the protocol carries them). */
  set(key: string, name: string, kind: string, data: string | string[]): void {
    const k = this.makeKey(key.split('\\'));
    const had = k.values.get(registryFold(name));
    k.values.set(registryFold(name), { name: had?.name ?? name, kind, data });
  }

  /** The values as the mirror's notation would not show them: `key\name` → kind and data. */
  dump(): Record<string, { kind: string; data: string | string[] }> {
    const out: Record<string, { kind: string; data: string | string[] }> = {};
    for (const k of this.keys.values()) for (const v of k.values.values()) out[`${k.names.join('\\')}\\${v.name}`] = { kind: v.kind, data: v.data };
    return out;
  }

  private makeKey(names: string[]): { names: string[]; values: Map<string, { name: string; kind: string; data: string | string[] }> } {
    let made;
    for (let i = 1; i <= names.length; i++) {
      const id = registryFold(names.slice(0, i).join('\\'));
      made = this.keys.get(id);
      if (made === undefined) {
        const parent = i > 1 ? this.keys.get(registryFold(names.slice(0, i - 1).join('\\')))!.names : [];
        made = { names: [...parent, names[i - 1]!], values: new Map() };
        this.keys.set(id, made);
      }
    }
    return made!;
  }
}

export function toB64(s: string): string {
  return Buffer.from(s, 'utf16le').toString('base64');
}

function fromB64(s: string): string {
  return Buffer.from(s, 'base64').toString('utf16le');
}

/** The mirror's files under `folder` of `root`: path relative to `folder` (no leading "/") → content. */
export async function mirrorFiles(root: string, folder: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(root, rel), { withFileTypes: true }).catch(() => [])) {
      const p = `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(p);
      else out[p.slice(folder.length + 1)] = await readFile(join(root, p), 'utf8');
    }
  };
  await walk(folder);
  return out;
}

/** Writes a key's file as another machine's sync would (its value and a newline), or removes it (undefined). */
export async function setMirrorFile(path: string, value: string | undefined): Promise<void> {
  if (value === undefined) return rm(path, { force: true });
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${value}\n`);
}
