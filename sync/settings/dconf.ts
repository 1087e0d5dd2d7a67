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
 *
 * This file is the store (Dconf): what it reads, writes and resets. Beside it: dconf-keyfile.ts,
 * the key files' text (no process); dconf-process.ts, the dconf processes it runs and watches;
 * dconf-profile.ts, the profile and where the user's database lives.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { StrataError, whatFailed } from '../errors.js';
import { fsyncDir, isErrno, openRegular, writeFileNamed } from '../fsutil.js';
import { commonDir, keyFile, oneLine, parseDump } from './dconf-keyfile.js';
import { runDconf, watchDconf, type Run } from './dconf-process.js';
import { userDatabase, userOnlyLine } from './dconf-profile.js';
import type { SettingsChange, SettingsProblem, SettingsStore } from './settings.js';

export interface DconfOptions {
  /** The dconf binary (default `dconf` on PATH). */
  command?: string;
  /** Its environment (default this process's): XDG_CONFIG_HOME and DBUS_SESSION_BUS_ADDRESS pick the database. */
  env?: NodeJS.ProcessEnv;
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

  /** `dconf watch <dir>` (watchDconf). */
  watch(dir: string, changed: () => void): () => Promise<void> {
    return watchDconf(this.command, this.env, dir, changed);
  }

  private failed(what: string, r: Run): StrataError {
    return new StrataError('E_SETTINGS', `dconf ${what} failed: ${oneLine(r.stderr) || `exit code ${r.code}`}`);
  }

  private run(args: string[], input?: string, extraEnv?: NodeJS.ProcessEnv): Promise<Run> {
    return runDconf(this.command, this.env, args, input, extraEnv);
  }
}
