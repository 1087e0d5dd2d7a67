/**
 * Settings stores for tests: an in-memory one (fast, for the randomized tests), and a real dconf
 * with a database and a D-Bus session bus of its own (dbus-daemon, the dconf service activated on
 * it), so that a test never touches the dconf of the person running it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dconf } from './dconf.js';
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
