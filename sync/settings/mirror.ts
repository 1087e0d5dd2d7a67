/**
 * The settings mirror: a settings store's keys (dconf's or the registry's, under the org's dirs)
 * kept as one file per key in a folder of the layer, `.strata/settings/<store>/<key path>`, each
 * holding the key's value and a newline (DESIGN §1). Once they are files, the sync engine does the rest as for any file:
 * uploads, three-way merges — per key, since a key is a file —, whiteouts for keys the user reset
 * over an org layer's default, conflict copies, history. The mirror only carries values between the
 * store and those files.
 *
 * It does so three-way, like the engine: against the values both sides last agreed on (a state
 * file in the state dir), for each key
 *   - the store's value and the file's agree: nothing to do (they are the agreed value now). They
 *     agree where the store shows the file's value in its own notation (SettingsStore.canonical):
 *     a file is never rewritten, nor a conflict copy made, for its notation alone;
 *   - only the store changed (the user changed a setting here): the file is written or removed;
 *   - only the file changed (another machine's change synced down, a sign-in laid it, an org
 *     default arrived): the store is written or the key reset;
 *   - both changed: an edit beats a removal on either side; between two values the store's wins
 *     (the user set it here since the file last changed) and the file's goes to a conflict copy
 *     beside it, which the UI lists like any conflict. With no agreed values yet (first contact
 *     with this machine, or with a dir the org config has listed since the last run: the state
 *     file names the dirs), the policy says: `layer-wins` takes the file's, `keep-both` takes the
 *     file's too and keeps the machine's in a conflict copy — as first contact does for files.
 *
 * What must hold: a run never loses a value (each one it replaces is in the layer's history or in a
 * conflict copy); it writes files atomically (temp name, fsync, rename) through real folders only,
 * never a symlink, all of a run's at once (files.ts); nothing from the files reaches the store unchecked (the key under the org's
 * dirs, names and value as settings.ts allows); a value the store refuses is reported once and
 * then replaced in the file by the machine's own (the refused one stays in the history); the agreed
 * values are saved after the changes, so a run cut off half-way is finished by the next one, which
 * finds both sides agreeing or one changed; and only once each file whose value they newly name is
 * durable, the run's writes and those it found (files.ts makeDurable).
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { FirstContactPolicy } from '../../shared/org-config.js';
import { describeError, StrataError } from '../errors.js';
import { isErrno, makeDirsDurably, openRegular, TEMP_PREFIX } from '../fsutil.js';
import { freeConflictPath, isConflictName } from '../plan/conflict-name.js';
import { writeFileAtomic } from '../state/fsutil.js';
import { makeDurable, realDirs, writeKeyFiles, type KeyFileWrite } from './files.js';
import { badValue, isSettingsPath, MAX_VALUE_BYTES, underDirs, type SettingsChange, type SettingsProblem, type SettingsStore } from './settings.js';

export const SETTINGS_FOLDER = '.strata/settings';
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** 2: the store's text of an agreed value is kept where it is not the file's (`inStore`); 1 is read as if each were the file's. */
const STATE_VERSION = 2;

/**
 * A value both sides agree on, as each holds it: the file's text, and the store's, which may
 * differ (a store holds a value, not its text: dconf shows `"dark"` as `'dark'`). Each side is
 * compared with its own: a file written by hand, as an org layer's are, is not rewritten in the
 * store's notation, which would copy it up into the user's layer over the org's later defaults.
 */
interface Agreed {
  file: string;
  store: string;
}

export interface MirrorOptions {
  /** The synced folder (home). */
  root: string;
  store: SettingsStore;
  /** The store's dirs that are part of the layer (absolute, ending in "/"). */
  dirs: readonly string[];
  /** The agreed values: a file in the state dir. */
  stateFile: string;
  /** Names conflict copies. */
  device: string;
  /** With no agreed values yet (first contact, with the machine or with a dir). */
  policy: FirstContactPolicy;
  now?: () => Date;
}

export interface MirrorResult {
  /** Files written or removed, relative to `root`. */
  changed: string[];
  /** Keys set or reset in the store. */
  applied: string[];
  /** Conflict copies made, relative to `root`. */
  conflicts: string[];
  /** Keys skipped or refused, with why. */
  problems: SettingsProblem[];
}

/** The folder of `store`'s files, relative to the synced folder. */
export function mirrorFolder(store: SettingsStore): string {
  return `${SETTINGS_FOLDER}/${store.name}`;
}

export class SettingsMirror {
  private readonly folder: string;
  private running: Promise<MirrorResult> | undefined;

  constructor(private readonly opts: MirrorOptions) {
    this.folder = mirrorFolder(opts.store);
  }

  /** One run (see the header); runs asked for while one runs wait for it and run after it. */
  async sync(): Promise<MirrorResult> {
    const before = this.running;
    const run = (async () => {
      await before?.catch(() => undefined);
      return this.syncOnce();
    })();
    this.running = run;
    return run;
  }

  /**
   * Watches the store's keys under the org's dirs (SettingsStore.watch): `changed` soon after the
   * machine changes one, so that a run is not left to the next poll. The function returned stops it.
   */
  watch(changed: () => void): () => Promise<void> {
    const { store } = this.opts;
    const stops = store.watch === undefined ? [] : this.opts.dirs.map((dir) => store.watch!(dir, changed));
    return async () => {
      await Promise.all(stops.map((stop) => stop()));
    };
  }

  private async syncOnce(): Promise<MirrorResult> {
    const { dirs, store } = this.opts;
    const result: MirrorResult = { changed: [], applied: [], conflicts: [], problems: [] };
    const saved = await this.loadAgreed();
    const agreed = new Map([...(saved?.agreed ?? new Map<string, Agreed>())].filter(([k]) => underDirs(k, dirs)));
    // Dirs this machine has agreed on before; a dir the org config lists since is met as at first contact.
    const known = saved?.dirs ?? [];
    let live = new Map<string, string>();
    // Dirs the store could not read (a problem's key ending in "/"): what is under them is unknown.
    const unread: string[] = [];
    for (const dir of dirs) {
      const { values, skipped, problems } = await store.read(dir);
      for (const [k, v] of values) {
        const bad = badValue(v);
        if (bad === undefined) live.set(k, v);
        else result.problems.push({ key: k, message: `not synced: ${bad}` });
      }
      for (const k of skipped) result.problems.push({ key: k, message: `not synced: a name in it is not one the layer can hold (letters, digits, ".", "_", "+", "-")` });
      result.problems.push(...(problems ?? []));
      for (const p of problems ?? []) if (p.key.endsWith('/')) unread.push(this.id(p.key));
    }
    const files = await this.readFiles(result.problems);
    const twins: SettingsProblem[] = [];
    if (store.fold !== undefined) live = this.oneSpelling(live, files.values, agreed, twins);
    const refusedHere = new Set(result.problems.map((p) => this.id(p.key)));
    const leftAlone = (key: string): boolean => refusedHere.has(this.id(key)) || unread.some((d) => this.id(key).startsWith(d));
    result.problems.push(...twins);
    const canonical = await this.canonical(live, files.values, agreed, saved?.version === 1, leftAlone);
    /** A file's value as the store would show it, as far as it says (else as written). */
    const inStore = (f: string): Agreed => ({ file: f, store: canonical.get(f) ?? f });
    const both = (l: string): Agreed => ({ file: l, store: l });

    const toStore: SettingsChange[] = [];
    const toFile: SettingsChange[] = [];
    const copies: { key: string; value: string }[] = [];
    const agreedBefore = new Map(agreed);
    /** Records `value` as what both sides agree on for `key` (undefined: neither has it). */
    const agree = (key: string, value: Agreed | undefined): void => {
      if (value === undefined) agreed.delete(key);
      else agreed.set(key, value);
    };
    const keys = new Set([...live.keys(), ...files.values.keys(), ...agreed.keys()]);
    for (const key of [...keys].sort()) {
      if (leftAlone(key)) continue;
      const l = live.get(key);
      const f = files.values.get(key);
      const a = agreed.get(key);
      if (l === a?.store && f === a?.file) continue;
      // Both sides hold one value (in the store's notation and maybe another): nothing to carry.
      if (l === f || (l !== undefined && f !== undefined && canonical.get(f) === l)) agree(key, f === undefined ? undefined : { file: f, store: l! });
      else if (f === a?.file) toFile.push({ key, value: l });
      else if (l === a?.store || l === undefined) toStore.push({ key, value: f });
      else if (f === undefined) toFile.push({ key, value: l });
      else if (!underDirs(key, known)) {
        toStore.push({ key, value: f });
        if (this.opts.policy === 'keep-both') copies.push({ key, value: l });
      } else {
        toFile.push({ key, value: l });
        copies.push({ key, value: f });
      }
    }
    for (const { key, value } of toFile) agree(key, value === undefined ? undefined : both(value));
    for (const { key, value } of toStore) agree(key, value === undefined ? undefined : inStore(value));

    // A key whose file cannot be written where it belongs (a folder of that name: dconf holds a key
    // and a dir of one name at once; a file or symlink on the way) is reported and left as it was,
    // its agreed value too, so the next run tries again; the other keys go on. Its store change is
    // dropped with it: it would replace the value its conflict copy was to keep. The files are
    // durable before the store changes and before the agreed values are saved (files.ts).
    const agreeAsBefore = (key: string): void => {
      agree(key, agreedBefore.get(key));
    };
    const now = (this.opts.now ?? (() => new Date()))().getTime();
    const writes: KeyFileWrite[] = [];
    const copied = new Set<KeyFileWrite>();
    for (const { key, value } of copies) {
      const copy = freeConflictPath(this.fileOf(key), now, this.opts.device, (p) => files.present.has(p));
      files.present.add(copy);
      const w = { key, rel: copy, value };
      copied.add(w);
      writes.push(w);
    }
    for (const { key, value } of toFile) writes.push({ key, rel: this.fileOf(key), value });
    const { done, failed } = await writeKeyFiles(this.opts.root, this.folder, writes);
    for (const w of done) (copied.has(w) ? result.conflicts : result.changed).push(w.rel);
    for (const [key, err] of failed) {
      result.problems.push({ key, message: `not synced: its file cannot be written (${describeError(err)})` });
      agreeAsBefore(key);
    }
    const sets = await this.unchangedSince(live, toStore.filter((c) => !failed.has(c.key)), agreeAsBefore);
    if (sets.length > 0) {
      const refused = await store.write(sets);
      for (const p of refused) {
        if (p.locked !== true) {
          result.problems.push({ key: p.key, message: `${store.name} refused the layer's value (${p.message}); the file gets this machine's value back` });
          continue;
        }
        // A lock is the machine's, not the user's: the file keeps the layer's value for the user's
        // other machines, and this machine's value counts as agreed so that it is not taken for a
        // change made here (the next run tries the layer's value again: a lock may be lifted).
        result.problems.push({ key: p.key, message: `not applied: ${p.message}; the layer keeps its value for the user's other machines` });
        const l = live.get(p.key);
        agree(p.key, l === undefined ? undefined : both(l));
      }
      result.applied.push(...sets.map((c) => c.key).filter((k) => !refused.some((p) => p.key === k)));
    }
    // A value agreed on whose file this run did not write (another writer's, or a run's cut off
    // before its sync) must be durable before the record names it: after a power loss the old file
    // would be back, taken for a change of the file's, and written into the store over the user's.
    const written = new Set(done.filter((w) => !copied.has(w)).map((w) => w.key));
    const unwritten = [...new Set([...agreedBefore.keys(), ...agreed.keys()])].filter((k) => agreed.get(k)?.file !== agreedBefore.get(k)?.file && !written.has(k));
    await makeDurable(this.opts.root, unwritten.map((k) => this.fileOf(k)));
    const sameDirs = saved !== undefined && saved.dirs.length === dirs.length && dirs.every((d) => saved.dirs.includes(d));
    if (!sameDirs || saved.version !== STATE_VERSION || result.changed.length > 0 || result.applied.length > 0 || !sameMap(saved.agreed, agreed)) await this.saveAgreed(agreed);
    return result;
  }

  /** The one key path of every spelling of `key` (SettingsStore.fold), or `key` itself. */
  private id(key: string): string {
    return this.opts.store.fold?.(key) ?? key;
  }

  /**
   * For a store that folds case: the live values, and the agreed ones in place, spelled as the
   * key's file is (else as the store or the record spells it), so that the merge meets each key
   * under one spelling; and writes to the store in that spelling reach the one key that folds to
   * it. A file whose key folds like another's (two machines that each wrote a new key in their
   * own case) is a problem (`twins`) and is left as it is: the first in order is the key's.
   */
  private oneSpelling(live: ReadonlyMap<string, string>, files: Map<string, string>, agreed: Map<string, Agreed>, twins: SettingsProblem[]): Map<string, string> {
    const spelling = new Map<string, string>();
    for (const k of [...files.keys()].sort()) {
      const first = spelling.get(this.id(k));
      if (first === undefined) {
        spelling.set(this.id(k), k);
        continue;
      }
      files.delete(k);
      twins.push({ key: k, message: `not synced: its file differs from ${first}'s only in case, and ${this.opts.store.name} takes both for one key (remove one)` });
    }
    for (const k of [...live.keys(), ...agreed.keys()]) if (!spelling.has(this.id(k))) spelling.set(this.id(k), k);
    const respelled = <V>(m: ReadonlyMap<string, V>): Map<string, V> => new Map([...m].map(([k, v]) => [spelling.get(this.id(k)) ?? k, v]));
    const agreedNow = respelled(agreed);
    agreed.clear();
    for (const [k, v] of agreedNow) agreed.set(k, v);
    return respelled(live);
  }

  /**
   * The changes of `changes` whose keys still hold in the store what the run read (`live`). The user
   * may set a key between the read and the write (the files' reads and writes come between): that
   * value must not be overwritten unseen. Each key dropped goes to `drop` (the next run sees it
   * changed on both sides). dconf has no compare-and-set: this leaves only the moment between this
   * read and the write.
   */
  private async unchangedSince(live: ReadonlyMap<string, string>, changes: SettingsChange[], drop: (key: string) => void): Promise<SettingsChange[]> {
    if (changes.length === 0) return changes;
    const now = new Map<string, string>();
    for (const dir of this.opts.dirs) {
      if (!changes.some((c) => c.key.startsWith(dir))) continue;
      for (const [k, v] of (await this.opts.store.read(dir)).values) now.set(this.id(k), v);
    }
    return changes.filter((c) => {
      if (now.get(this.id(c.key)) === live.get(c.key)) return true;
      drop(c.key);
      return false;
    });
  }

  /**
   * The store's notation (SettingsStore.canonical) of the file values the run must compare with the
   * store's or record as agreed: those new since the agreed values (or with none) that differ from
   * the store's text. From a record of version 1, which kept one text for both sides, also those
   * whose store side changed: the store may show the file's value in its own notation only.
   */
  private async canonical(live: ReadonlyMap<string, string>, files: ReadonlyMap<string, string>, agreed: ReadonlyMap<string, Agreed>, oldRecord: boolean, skip: (key: string) => boolean): Promise<Map<string, string>> {
    const { store } = this.opts;
    const values = new Set<string>();
    for (const [key, f] of files) {
      const l = live.get(key);
      const a = agreed.get(key);
      if (!skip(key) && f !== l && (f !== a?.file || (oldRecord && l !== undefined && l !== a.store))) values.add(f);
    }
    const out = new Map<string, string>();
    if (values.size === 0 || store.canonical === undefined) return out;
    const asked = [...values];
    const shown = await store.canonical(asked);
    asked.forEach((v, i) => {
      const c = shown[i];
      if (c !== undefined) out.set(v, c);
    });
    return out;
  }

  private fileOf(key: string): string {
    return `${this.folder}${key}`;
  }

  /** The values of the mirror's files under the org's dirs, and every name present (for conflict copy names). */
  private async readFiles(problems: SettingsProblem[]): Promise<{ values: Map<string, string>; present: Set<string> }> {
    const values = new Map<string, string>();
    const present = new Set<string>();
    const walk = async (rel: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(join(this.opts.root, rel), { withFileTypes: true });
      } catch (err) {
        if (isErrno(err, 'ENOENT', 'ENOTDIR')) return;
        throw err;
      }
      for (const e of entries) {
        const path = `${rel}/${e.name}`;
        present.add(path);
        if (e.name.startsWith(TEMP_PREFIX) || isConflictName(e.name)) continue;
        const key = path.slice(this.folder.length);
        if (e.isDirectory()) {
          // Only on the way to or under a listed dir: a layer's other folders here are not read at every run.
          const dir = `${key}/`;
          if (isSettingsPath(key) && this.opts.dirs.some((d) => d.startsWith(dir) || dir.startsWith(d))) await walk(path);
          continue;
        }
        if (!e.isFile() || !isSettingsPath(key) || !underDirs(key, this.opts.dirs)) continue;
        const value = await this.readValue(path);
        if (typeof value === 'string') values.set(key, value);
        else problems.push({ key, message: `${path}: ${value.problem}` });
      }
    };
    if ((await realDirs(this.opts.root, this.folder)) !== undefined) await walk(this.folder);
    return { values, present };
  }

  private async readValue(rel: string): Promise<string | { problem: string }> {
    let fh;
    try {
      fh = await openRegular(join(this.opts.root, rel));
      // One line and a newline (\r\n where an editor wrote it): more than that is not a value.
      if ((await fh.stat()).size > MAX_VALUE_BYTES + 2) return { problem: `the value is over ${MAX_VALUE_BYTES} bytes` };
      const buf = await fh.readFile();
      // Not read leniently: a byte UTF-8 cannot read would reach the store as U+FFFD, a value the file does not hold.
      let text: string;
      try {
        text = UTF8.decode(buf).replace(/\r?\n$/, '');
      } catch {
        return { problem: 'the value is not UTF-8 text' };
      }
      const bad = badValue(text);
      return bad === undefined ? text : { problem: bad };
    } catch (err) {
      return { problem: `cannot read it (${(err as Error).message})` };
    } finally {
      await fh?.close();
    }
  }

  /**
   * The agreed values, the dirs they were agreed for (a record without dirs is from before they were
   * kept: the org's dirs now), and the record's version (STATE_VERSION).
   */
  private async loadAgreed(): Promise<{ agreed: Map<string, Agreed>; dirs: readonly string[]; version: number } | undefined> {
    let text: string;
    try {
      text = await readFile(this.opts.stateFile, 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    }
    let r: { version?: unknown; agreed?: unknown; inStore?: unknown; dirs?: unknown } | undefined;
    try {
      r = JSON.parse(text) as typeof r;
    } catch {
      r = undefined;
    }
    const version = r?.version;
    const dirs = r?.dirs ?? this.opts.dirs;
    const agreed = textsByKey(r?.agreed);
    // The store's texts, where not the file's: of agreed keys only (version 1 has none).
    const inStore = version === 1 && r?.inStore === undefined ? new Map<string, string>() : textsByKey(r?.inStore);
    const badDirs = !Array.isArray(dirs) || dirs.some((d) => typeof d !== 'string');
    if ((version !== STATE_VERSION && version !== 1) || badDirs || agreed === undefined || inStore === undefined || [...inStore.keys()].some((k) => !agreed.has(k))) {
      throw new StrataError('E_BAD_STATE', 'the record of the settings last synced is damaged; move it aside to continue (the next run then treats this machine as new: policy of first contact)', { path: this.opts.stateFile });
    }
    return { agreed: new Map([...agreed].map(([k, file]) => [k, { file, store: inStore.get(k) ?? file }])), dirs: dirs as string[], version };
  }

  private async saveAgreed(agreed: ReadonlyMap<string, Agreed>): Promise<void> {
    const sorted = [...agreed].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const files = Object.fromEntries(sorted.map(([k, a]) => [k, a.file]));
    const inStore = Object.fromEntries(sorted.filter(([, a]) => a.store !== a.file).map(([k, a]) => [k, a.store]));
    // At a sign-in the folder's state dir may not be there yet (the agent makes it).
    await makeDirsDurably(dirname(this.opts.stateFile), 0o700);
    return writeFileAtomic(this.opts.stateFile, `${JSON.stringify({ version: STATE_VERSION, dirs: this.opts.dirs, agreed: files, inStore })}\n`);
  }
}

/** A record's map of key paths to texts, or undefined where it is not one. */
function textsByKey(o: unknown): Map<string, string> | undefined {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return undefined;
  const entries = Object.entries(o as Record<string, unknown>);
  return entries.every(([k, v]) => isSettingsPath(k) && typeof v === 'string') ? new Map(entries as [string, string][]) : undefined;
}

function sameMap(a: ReadonlyMap<string, Agreed>, b: ReadonlyMap<string, Agreed>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k)?.file === v.file && b.get(k)?.store === v.store);
}
