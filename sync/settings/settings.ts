/**
 * Settings as part of the layer (DESIGN §1): a settings store (dconf; the Windows registry's HKCU)
 * seen as a map from key paths to values, each value one line of text in the store's own notation
 * (GVariant text for dconf, .reg notation for the registry).
 *
 * Key paths are absolute and "/"-separated (`/org/gnome/desktop/interface/gtk-theme`). Each name
 * in one becomes a file or folder name in the layer, so only names every OS can hold are synced
 * (letters, digits, ".", "_", "+", "-", not starting with "."); a store's other keys are skipped
 * and reported, never mangled into another key.
 */
import { SETTINGS_NAME } from '../../shared/org-config.js';

/** One key to set (`value`) or remove (`value` undefined). */
export interface SettingsChange {
  key: string;
  value: string | undefined;
}

export interface SettingsProblem {
  key: string;
  message: string;
  /** From a write: the key is locked on this machine (an administrator's), whatever the value. */
  locked?: true;
}

export interface SettingsStore {
  /** For messages, and the mirror's folder (`.strata/settings/<name>`): "dconf", "registry". */
  readonly name: string;
  /**
   * The values under `dir` (absolute, ending in "/"), by full key path; keys isSettingsPath refuses
   * are `skipped`; keys the store has but cannot sync for another reason are `problems` (the mirror
   * reports them and leaves those keys alone). A problem whose key ends in "/" is a dir the store
   * could not read: every key under it is unknown, and the mirror leaves them alone too — a file
   * there is neither taken for a value the machine removed nor written to the store.
   */
  read(dir: string): Promise<{ values: Map<string, string>; skipped: string[]; problems?: SettingsProblem[] }>;
  /** Applies `changes` (keys and values already checked); a value the store refuses, or a key locked here, is a problem, the rest still apply. */
  write(changes: readonly SettingsChange[]): Promise<SettingsProblem[]>;
  /**
   * Each of `values` as a read shows it once written: a store holds a value, not its text, and
   * shows it in a notation of its own (dconf: `'dark'` for `"dark"`). Undefined for a value the
   * store would refuse. Changes nothing the store holds. Absent: a read shows a value as written.
   */
  canonical?(values: readonly string[]): Promise<(string | undefined)[]>;
  /**
   * Calls `changed` soon after a key under `dir` changes, until the function it returns is called
   * (which resolves once the watch has stopped). Best effort: a store that cannot watch says nothing,
   * and its changes are found at the next poll. Absent: the store cannot watch at all.
   */
  watch?(dir: string, changed: () => void): () => Promise<void>;
  /**
   * For a store that folds case (the registry): one key path for every spelling of one key. The
   * mirror then takes keys with one fold for one key. Absent: key paths are compared as they are.
   */
  fold?(key: string): string;
}

/** Values longer than this are not synced (dconf's own are rarely over a few KiB). */
export const MAX_VALUE_BYTES = 1024 * 1024;

/** Whether `key` is an absolute key path whose every name the layer can hold. */
export function isSettingsPath(key: string): boolean {
  if (!key.startsWith('/') || key.endsWith('/')) return false;
  const names = key.slice(1).split('/');
  return names.length >= 1 && names.every((n) => SETTINGS_NAME.test(n) && !n.includes('.sync-conflict-'));
}

/** Why `value` cannot be a setting's value (one line, no control characters, not too long), or undefined. */
export function badValue(value: string): string | undefined {
  if (value.trim() === '') return 'the value is empty';
  if (Buffer.byteLength(value) > MAX_VALUE_BYTES) return `the value is over ${MAX_VALUE_BYTES} bytes`;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return 'the value is not one line of text (it holds a control character)';
  }
  return undefined;
}

/** Whether `key` lies under one of `dirs` (each absolute, ending in "/"). */
export function underDirs(key: string, dirs: readonly string[]): boolean {
  return dirs.some((d) => key.startsWith(d));
}
