/**
 * dconf, the settings store of GNOME and most Linux desktops, through its command-line tool
 * (Debian: dconf-cli). Reads are `dconf dump <dir>` (a key file: `[section]` lines naming dirs
 * under the one dumped, `key=value` lines with the value in GVariant text form — one line, since
 * that form escapes newlines), with `dconf list` for the names a key file cannot hold (read); writes are one `dconf load /` of every value set (one change, so a
 * desktop watching the keys sees them together; where dconf refuses one value, a load per key, on
 * stdin too) and `dconf reset <key>` per key removed, or one
 * `dconf reset -f <dir>` for a dir where every key goes. A value's text as a dump would show it
 * (canonical) comes from a `dconf compile` of a database of its own, dumped. Writes go
 * through the session's dconf service on D-Bus; reads need no bus, and see the user's own database
 * only (userOnlyLine: not the administrator's defaults).
 *
 * What must hold: nothing from the layer reaches dconf unchecked. A key must sit under one of the
 * org's dirs, and its names and value must fit one line of a key file (settings.ts checks both
 * before a write): a value holding a newline would otherwise add keys of its own choosing. A value
 * dconf refuses (not GVariant), or a key an administrator locked, fails that key alone, named; a
 * dconf that cannot be reached (not installed, no session bus) is one E_SETTINGS error. Arguments
 * go to dconf as argv, never a shell.
 *
 * A write returns once its values are durable: the mirror then records them as agreed, and a value
 * the database lost at a power loss would be taken for the machine's own change and pushed over the
 * layer's. dconf's service replies once its database file is renamed in place, fsynced only where
 * one was there before (GLib's g_file_set_contents; on btrfs not at all): so the user's database,
 * where the dconf client reads it ($XDG_CONFIG_HOME/dconf/<the profile's user-db>), and its folders
 * are fsynced after every write. A profile whose user database is a service-db (a key file the
 * service writes later) gets no such guarantee.
 *
 * Changes made on the machine are watched with `dconf watch <dir>`: one long-running child per dir,
 * started again when it ends, stopped with the watch.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { StrataError, whatFailed } from '../errors.js';
import { fsyncDir, isErrno, openRegular, writeFileNamed } from '../fsutil.js';
import { isSettingsPath, type SettingsChange, type SettingsProblem, type SettingsStore } from './settings.js';

/** How long one dconf command may take: it talks to a local service. */
const TIMEOUT_MS = 30_000;
const MAX_OUTPUT = 64 * 1024 * 1024;
/** A `dconf watch` that ended is started again after this, doubled while it keeps ending within WATCH_STEADY_MS, up to the max. */
const WATCH_RESTART_MS = 1_000;
const WATCH_STEADY_MS = 60_000;
const WATCH_RESTART_MAX_MS = 5 * 60_000;
/** What dconf says where it cannot open the profile it is given (and goes on with no database: see noProfile). */
const NULL_PROFILE = 'using the null configuration';

export interface DconfOptions {
  /** The dconf binary (default `dconf` on PATH). */
  command?: string;
  /** Its environment (default this process's): XDG_CONFIG_HOME and DBUS_SESSION_BUS_ADDRESS pick the database. */
  env?: NodeJS.ProcessEnv;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export class Dconf implements SettingsStore {
  readonly name = 'dconf';
  private readonly command: string;
  private readonly env: NodeJS.ProcessEnv | undefined;
  /** The user-db line of a profile for reads (userOnlyLine), read once. */
  private userOnly: Promise<string | undefined> | undefined;
  /** By dir: the last dump read, and the names it could not show (see unseen). */
  private readonly unseenAt = new Map<string, { dump: string; names: string[] }>();

  constructor(opts: DconfOptions = {}) {
    this.command = opts.command ?? 'dconf';
    this.env = opts.env;
  }

  /**
   * A dump, and the names it cannot show (unseen): those are skipped too, as names the layer cannot
   * hold, so that they are reported rather than lost without a word.
   */
  read(dir: string): Promise<{ values: Map<string, string>; skipped: string[] }> {
    return this.reading((env) => this.readIn(dir, env));
  }

  private async readIn(dir: string, env: NodeJS.ProcessEnv | undefined): Promise<{ values: Map<string, string>; skipped: string[] }> {
    const r = await this.run(['dump', dir], undefined, env);
    if (r.code !== 0) throw this.failed(`dump ${dir}`, r);
    const { values, skipped } = parseDump(dir, r.stdout);
    let last = this.unseenAt.get(dir);
    if (last?.dump !== r.stdout) {
      last = { dump: r.stdout, names: await this.unseen(dir, [...values.keys(), ...skipped], env) };
      this.unseenAt.set(dir, last);
    }
    return { values, skipped: [...skipped, ...last.names] };
  }

  /**
   * The keys under `dir` a dump leaves out: a key file cannot hold a key named with "=", "[" or "]"
   * (but for a trailing "[locale]") or with a space at either end, nor a section named with "[" or
   * "]", and GLib drops them from the dump. Only `dconf list` shows them, one process per dir: so
   * they are looked for again only when the dump of `dir` has changed (a name of that kind set
   * while nothing else there changes is found at the next change, or the next session). `shown`
   * are the keys the dump showed.
   */
  private async unseen(dir: string, shown: readonly string[], env: NodeJS.ProcessEnv | undefined): Promise<string[]> {
    // `dconf list` prints a key name holding a newline as several names: its parts were shown.
    const seen = new Set<string>();
    for (const k of shown) {
      const at = k.slice(0, k.lastIndexOf('/') + 1);
      for (const part of k.slice(at.length).split('\n')) seen.add(`${at}${part}`);
    }
    const names: string[] = [];
    const walk = async (d: string): Promise<void> => {
      const r = await this.run(['list', d], undefined, env);
      if (r.code !== 0) throw this.failed(`list ${d}`, r);
      for (const name of r.stdout.split('\n')) {
        if (name === '') continue;
        if (name.endsWith('/')) await walk(`${d}${name}`);
        else if (!seen.has(`${d}${name}`)) names.push(`${d}${name}`);
      }
    };
    await walk(dir);
    return names;
  }

  async write(changes: readonly SettingsChange[]): Promise<SettingsProblem[]> {
    const sets = changes.filter((c): c is SettingsChange & { value: string } => c.value !== undefined);
    const problems: SettingsProblem[] = [];
    if (sets.length > 0) {
      const r = await this.run(['load', '/'], keyFile(sets));
      // One refused value fails the whole load: then each key on its own, to name the bad ones.
      if (r.code !== 0) problems.push(...(await this.eachKey(sets)));
    }
    const resets = changes.filter((c) => c.value === undefined).map((c) => c.key);
    for (const path of resets.length > 1 ? await this.resetPaths(resets) : resets) {
      const r = await this.run(path.endsWith('/') ? ['reset', '-f', path] : ['reset', path]);
      if (r.code !== 0) throw this.failed(`reset ${path}`, r);
    }
    if (changes.length > 0) await this.syncDatabase();
    return problems;
  }

  /**
   * The values as a dump shows them (SettingsStore.canonical): compiled into a database of their
   * own (`dconf compile`, in a temp folder, each under a key named by its index) and dumped through
   * a profile naming that database alone — two processes, however many values; the user's database
   * is not touched. A value dconf cannot parse fails the whole compile, which names its key: that
   * one is left out (undefined) and the others compiled again.
   */
  async canonical(values: readonly string[]): Promise<(string | undefined)[]> {
    const out: (string | undefined)[] = values.map(() => undefined);
    if (values.length === 0) return out;
    const dir = await mkdtemp(join(tmpdir(), 'strata-dconf-canonical-'));
    try {
      const db = join(dir, 'db');
      await mkdir(join(dir, 'keyfiles'));
      const left = new Set(values.keys());
      for (;;) {
        if (left.size === 0) return out;
        await writeFileNamed(join(dir, 'keyfiles', 'values'), keyFile([...left].map((i) => ({ key: `/v/k${i}`, value: values[i]! }))));
        const r = await this.run(['compile', db, join(dir, 'keyfiles')]);
        if (r.code === 0) break;
        const bad = /\[v\]: k(\d+): invalid value/.exec(r.stderr);
        if (bad === null || !left.delete(Number(bad[1]))) throw this.failed('compile', r);
      }
      await writeFileNamed(join(dir, 'profile'), `file-db:${db}\n`);
      const r = await this.run(['dump', '/v/'], undefined, { DCONF_PROFILE: join(dir, 'profile') });
      if (r.code !== 0) throw this.failed('dump of the values compiled', r);
      for (const [key, value] of parseDump('/v/', r.stdout).values) out[Number(key.slice('/v/k'.length))] = value;
      return out;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Makes the user's database durable as it is now (see the header). */
  private async syncDatabase(): Promise<void> {
    const db = await userDatabase(this.env ?? process.env);
    if (db === undefined) return;
    let fh;
    try {
      // A FIFO there must not make the write wait for a writer, nor a link be followed (openRegular).
      fh = await openRegular(db);
      await fh.sync();
    } catch (err) {
      // None (every key reset before one was written): nothing to make durable.
      if (!isErrno(err, 'ENOENT')) throw new StrataError('E_SETTINGS', `the dconf database could not be made durable: ${whatFailed(err)}`, { path: db }, { cause: err });
    } finally {
      await fh?.close();
    }
    // The service makes the database's folder at its first write.
    await fsyncDir(dirname(db));
    await fsyncDir(dirname(dirname(db)));
  }

  /**
   * Runs `fn` with the environment of a read: a profile of the user's database alone (userOnlyLine),
   * where the active one has more. The profile is made in a temp folder for this read and removed
   * after it: there is no moment to remove one kept (a store is never closed), and a clean-up of
   * the temp folder cannot take it away while the agent runs.
   */
  private async reading<T>(fn: (env: NodeJS.ProcessEnv | undefined) => Promise<T>): Promise<T> {
    this.userOnly ??= userOnlyLine(this.env ?? process.env);
    const line = await this.userOnly;
    if (line === undefined) return fn(undefined);
    const dir = await mkdtemp(join(tmpdir(), 'strata-dconf-profile-'));
    try {
      const profile = join(dir, 'user-only');
      await writeFileNamed(profile, `${line}\n`);
      return await fn({ DCONF_PROFILE: profile });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * What to reset for `keys`: a dir (ending in "/", for `reset -f`) where the user's database holds
   * nothing else under it, else the keys one by one — one process per key is minutes for thousands.
   * The database is listed (`dconf list`, which shows every name, even those a dump leaves out),
   * from the keys' common dir down the dirs that hold one of them. dconf has no compare-and-set: a
   * key set under such a dir between its listing and the reset goes with it, as a value set between
   * the mirror's read and its write is overwritten (mirror.ts unchangedSince keeps that short).
   */
  private resetPaths(keys: readonly string[]): Promise<string[]> {
    return this.reading((env) => this.resetPathsIn(keys, env));
  }

  private async resetPathsIn(keys: readonly string[], env: NodeJS.ProcessEnv | undefined): Promise<string[]> {
    const gone = new Set(keys);
    const holding = new Set<string>();
    for (const k of keys) for (let i = k.indexOf('/', 1); i >= 0; i = k.indexOf('/', i + 1)) holding.add(k.slice(0, i + 1));
    const paths: string[] = [];
    // Whether all under `dir` goes; if not, what does is in `paths`.
    const whole = async (dir: string): Promise<boolean> => {
      const r = await this.run(['list', dir], undefined, env);
      if (r.code !== 0) throw this.failed(`list ${dir}`, r);
      const parts: string[] = [];
      let all = true;
      for (const name of r.stdout.split('\n')) {
        if (name === '') continue;
        const path = `${dir}${name}`;
        if (name.endsWith('/') ? holding.has(path) && (await whole(path)) : gone.has(path)) parts.push(path);
        else all = false;
      }
      if (!all) paths.push(...parts);
      return all;
    };
    const top = keys.reduce((common, k) => (k.startsWith(common) ? common : commonDir(common, k)), keys[0]!.slice(0, keys[0]!.lastIndexOf('/') + 1));
    if (await whole(top)) paths.push(top);
    return paths;
  }

  /**
   * Writes the keys one by one: a value dconf refuses is that key's problem; any other failure is
   * dconf's. Each is a `dconf load` of its own, like the batch: a value goes on stdin, never argv,
   * where one over 128 KiB (MAX_VALUE_BYTES allows 1 MiB) would not fit (E2BIG).
   */
  private async eachKey(sets: readonly (SettingsChange & { value: string })[]): Promise<SettingsProblem[]> {
    const problems: SettingsProblem[] = [];
    for (const c of sets) {
      const r = await this.run(['load', '/'], keyFile([c]));
      if (r.code === 0) continue;
      const line = oneLine(r.stderr);
      // A key an administrator locked (a system database's locks/): this machine keeps its value.
      if (line.includes('non-writable keys')) problems.push({ key: c.key, message: 'locked on this machine by its administrator', locked: true });
      // "[dir]: name: invalid value: <the value>: 0-3:unknown keyword": only GLib's reason is kept (the
      // characters at fault, or two places that disagree, "1-2,4-7:"), not the value, which may be long.
      else if (line.includes(': invalid value: ')) problems.push({ key: c.key, message: `not a GVariant value: ${/^.*: (\d+(?:-\d+)?(?:,\d+-\d+)?:.*)$/.exec(line)?.[1] ?? 'dconf cannot parse it'}` });
      else throw this.failed(`load of ${c.key}`, r);
    }
    return problems;
  }

  /**
   * `dconf watch <dir>`, a child that prints each change the dconf service signals. A child that
   * ends is started again, after a wait that grows while it keeps ending at once; a dconf that
   * cannot be started at all (not installed) is not watched: its changes wait for the next poll.
   */
  watch(dir: string, changed: () => void): () => Promise<void> {
    let child: ChildProcess | undefined;
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    let wait = WATCH_RESTART_MS;
    const start = (): void => {
      timer = undefined;
      if (stopped) return;
      const started = Date.now();
      const c = spawn(this.command, ['watch', dir], { env: this.env ?? process.env, stdio: ['ignore', 'pipe', 'ignore'] });
      child = c;
      c.stdout.on('data', () => {
        if (!stopped) changed();
      });
      let missing = false;
      c.on('error', (err: NodeJS.ErrnoException) => {
        missing = err.code === 'ENOENT';
      });
      c.on('close', () => {
        if (child === c) child = undefined;
        if (stopped || missing) return;
        wait = Date.now() - started > WATCH_STEADY_MS ? WATCH_RESTART_MS : Math.min(wait * 2, WATCH_RESTART_MAX_MS);
        timer = setTimeout(start, wait);
        timer.unref();
      });
    };
    start();
    return async () => {
      stopped = true;
      clearTimeout(timer);
      const c = child;
      if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
      const closed = new Promise((resolve) => c.once('close', resolve));
      c.kill();
      await closed;
    };
  }

  private failed(what: string, r: Run): StrataError {
    return new StrataError('E_SETTINGS', `dconf ${what} failed: ${oneLine(r.stderr) || `exit code ${r.code}`}`);
  }

  /**
   * dconf reads through a profile it cannot open as an empty database (a warning, exit code 0):
   * taken at its word, every key would look reset on this machine, and the resets would go to the
   * layer. So it fails.
   */
  private noProfile(args: readonly string[], extraEnv: NodeJS.ProcessEnv | undefined): StrataError {
    const profile = extraEnv?.DCONF_PROFILE ?? (this.env ?? process.env).DCONF_PROFILE ?? 'user';
    return new StrataError('E_SETTINGS', `dconf ${args[0] ?? ''} cannot open its profile ${profile}: it would see no settings at all`);
  }

  private run(args: string[], input?: string, extraEnv?: NodeJS.ProcessEnv): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.command, args, { env: { ...(this.env ?? process.env), ...extraEnv }, stdio: ['pipe', 'pipe', 'pipe'], timeout: TIMEOUT_MS });
      let stdout = '';
      let stderr = '';
      let size = 0;
      child.stdout.setEncoding('utf8');
      child.stderr.setEncoding('utf8');
      child.stdout.on('data', (d: string) => {
        size += d.length;
        if (size > MAX_OUTPUT) child.kill();
        else stdout += d;
      });
      child.stderr.on('data', (d: string) => {
        if (stderr.length < 64 * 1024) stderr += d;
      });
      child.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') reject(new StrataError('E_SETTINGS', `${this.command} is not installed: settings cannot be synced (Debian, Ubuntu: apt install dconf-cli)`));
        else reject(new StrataError('E_SETTINGS', `${this.command} ${args[0] ?? ''} could not run: ${err.message}`));
      });
      // A write to a dconf that exited early (EPIPE) shows in its exit code and stderr.
      child.stdin.on('error', () => undefined);
      child.on('close', (code, signal) => {
        if (size > MAX_OUTPUT) reject(new StrataError('E_SETTINGS', `${this.command} ${args.join(' ')} printed more than ${MAX_OUTPUT} bytes`));
        else if (stderr.includes(NULL_PROFILE)) reject(this.noProfile(args, extraEnv));
        else resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr: signal ? `${stderr}(stopped by ${signal})` : stderr });
      });
      child.stdin.end(input ?? '');
    });
  }
}

/**
 * The one line of a profile for reads that holds only the user's database of the active profile
 * (DCONF_PROFILE, by name or path, else `user`): `dconf dump` shows what the system databases under
 * it hold too — an administrator's defaults, which are not the user's to sync (adopted into the
 * layer, they would override other machines' defaults). Undefined when the active profile is the
 * default one (the user's database alone) or names no user database. Writes keep the active
 * profile, locks and all.
 */
async function userOnlyLine(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const lines = await profileLines(env);
  if (lines === undefined) return undefined;
  const user = lines.find((l) => l.startsWith('user-db:'));
  return user === undefined || lines.length === 1 ? undefined : user;
}

/** The lines of the active profile (DCONF_PROFILE, by name or path, else `user`), or undefined where there is none (dconf's default: the user's database `user`). */
async function profileLines(env: NodeJS.ProcessEnv): Promise<string[] | undefined> {
  const name = env.DCONF_PROFILE ?? 'user';
  const dataDirs = (env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':').filter((d) => d !== '');
  const candidates = isAbsolute(name) ? [name] : name.includes('/') ? [] : ['/etc/dconf/profile', ...dataDirs.map((d) => join(d, 'dconf/profile'))].map((d) => join(d, name));
  for (const file of candidates) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) return text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  }
  return undefined;
}

/** The user's database file of the active profile, where the dconf client reads it; undefined where the profile names none. */
async function userDatabase(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const lines = await profileLines(env);
  const name = lines === undefined ? 'user' : lines.find((l) => l.startsWith('user-db:'))?.slice('user-db:'.length);
  if (name === undefined || name === '' || name.includes('/')) return undefined;
  const config = env.XDG_CONFIG_HOME !== undefined && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(env.HOME ?? homedir(), '.config');
  return join(config, 'dconf', name);
}

/**
 * The values of `dconf dump <dir>`, by full key path. Keys and dirs whose names the layer cannot
 * hold (isSettingsPath) are listed in `skipped` instead.
 *
 * dconf writes no comments, a value never spans lines (GVariant text escapes a newline) and a
 * section's name holds no "[" or "]" (a dir so named is left out of a dump); but a key's name may
 * hold a newline, and is then written over several lines: a line that is neither a section nor
 * holds "=" starts such a name, which runs to the next line that holds one. Read as lines of their
 * own, its parts would be keys it is not (`x\ntheme` read as `theme`).
 */
export function parseDump(dir: string, text: string): { values: Map<string, string>; skipped: string[] } {
  const values = new Map<string, string>();
  const skipped: string[] = [];
  let section: string | undefined;
  let cut: string[] | undefined;
  for (const line of text.split('\n')) {
    if (cut === undefined) {
      if (line === '') continue;
      if (/^\[[^[\]]*\]$/.test(line)) {
        const name = line.slice(1, -1);
        section = name === '/' ? dir : `${dir}${name}/`;
        continue;
      }
    }
    const eq = line.indexOf('=');
    if (eq < 0) {
      (cut ??= []).push(line);
      continue;
    }
    const key = `${section ?? dir}${[...(cut ?? []), line.slice(0, eq)].join('\n')}`;
    cut = undefined;
    if (section === undefined) continue;
    if (isSettingsPath(key)) values.set(key, line.slice(eq + 1));
    else skipped.push(key);
  }
  return { values, skipped };
}

/** A key file for `dconf load /`: a section per dir, relative to the root. */
export function keyFile(sets: readonly { key: string; value: string }[]): string {
  const byDir = new Map<string, string[]>();
  for (const { key, value } of sets) {
    const slash = key.lastIndexOf('/');
    const dir = key.slice(1, slash);
    const lines = byDir.get(dir) ?? [];
    lines.push(`${key.slice(slash + 1)}=${value}`);
    byDir.set(dir, lines);
  }
  return [...byDir].map(([dir, lines]) => `[${dir === '' ? '/' : dir}]\n${lines.join('\n')}\n`).join('\n');
}

/** The longest dir (ending in "/") that holds both `dir` and `key`. */
function commonDir(dir: string, key: string): string {
  let i = 0;
  while (i < dir.length && dir[i] === key[i]) i++;
  return dir.slice(0, dir.lastIndexOf('/', i - 1) + 1);
}

function oneLine(s: string): string {
  return s.trim().split('\n').filter((l) => l.trim() !== '')[0]?.replace(/^error:\s*/, '') ?? '';
}
