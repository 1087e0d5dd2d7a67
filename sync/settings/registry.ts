/**
 * The Windows registry as a settings store: the values under the org's HKCU keys, each at its key
 * path (registry-names.ts: `/HKCU/Control+20Panel/Desktop/WallPaper`) and noted as one line of
 * .reg notation (registry-notation.ts: `"C:\\wall.jpg"`, `dword:00000001`). A read or a write is
 * one request to a helper process (registry-script.ts, PowerShell over .NET) through `channel`;
 * everything on this side of it — names, notation, requests, answers — is plain code tested on any
 * OS. The registry is not watched: the mirror finds its changes at each poll.
 *
 * What must hold: nothing from the layer reaches the registry unchecked — a key path that is not
 * one valueKeyPath makes, or a value that is not exact notation (a hex(b) of 7 bytes), is that
 * key's problem and is never written. A value the registry has but the layer cannot hold (a name
 * with no file name, a type .NET does not name) is reported with its reason, and the mirror leaves
 * that key alone on both sides; a key the user may not read (an administrator's ACL) is reported as
 * its dir (a problem whose key ends in "/"), and the mirror leaves every value under it alone. A key the user may not write (an administrator's ACL, as on
 * HKCU\Software\Policies) is `locked`. The registry folds case: `fold` makes the mirror take every
 * spelling of a value's place for one key.
 */
import { dirKey, foldKeyPath, keyDirPath, keyText, registryPlace, valueKeyPath, type RegistryPlace } from './registry-names.js';
import { formatValue, parseValue, type RegValue } from './registry-notation.js';
import { parseReadAnswer, parseWriteAnswer, readRequest, writeRequest, type RegistryRequest } from './registry-protocol.js';
import { runPowerShell } from './registry-script.js';
import type { SettingsChange, SettingsProblem, SettingsStore } from './settings.js';

export interface RegistryOptions {
  /** Sends one request to the helper and gives its answer (default: PowerShell, registry-script.ts). */
  channel?: (request: RegistryRequest) => Promise<unknown>;
}

export class RegistryStore implements SettingsStore {
  readonly name = 'registry';
  private readonly channel: (request: RegistryRequest) => Promise<unknown>;

  constructor(opts: RegistryOptions = {}) {
    this.channel = opts.channel ?? ((r) => runPowerShell(r));
  }

  fold(key: string): string {
    return foldKeyPath(key);
  }

  /** A value as a read shows it once written: the notation is parsed and written out again, with no helper. */
  canonical(values: readonly string[]): Promise<(string | undefined)[]> {
    return Promise.resolve(values.map((v) => {
      const parsed = parseValue(v);
      return 'problem' in parsed ? undefined : formatValue(parsed);
    }));
  }

  async read(dir: string): Promise<{ values: Map<string, string>; skipped: string[]; problems: SettingsProblem[] }> {
    const top = dirKey(dir);
    if (top === undefined) throw new Error(`${dir} is not a registry dir (registryDir makes them)`);
    const values = new Map<string, string>();
    const problems: SettingsProblem[] = [];
    for (const k of parseReadAnswer(await this.channel(readRequest(top)))) {
      if (k.denied === true) {
        const key = [...top, ...k.key];
        problems.push({ key: keyDirPath(key) ?? keyText(key), message: `not read: ${keyText(key)} may not be read by this user (access denied); its values are left as they are, in the registry and in the layer` });
        continue;
      }
      for (const { name, value } of k.values) {
        const place = { key: [...top, ...k.key], value: name };
        const key = valueKeyPath(place);
        if (key === undefined) problems.push({ key: valueText(place), message: 'not synced: a name in it has no file name in the layer (not Unicode text, or too long)' });
        else if (value === undefined) problems.push({ key, message: 'not synced: a registry type Strata does not sync (only REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ, REG_DWORD, REG_QWORD, REG_BINARY and REG_NONE)' });
        else values.set(key, formatValue(value));
      }
    }
    return { values, skipped: [], problems };
  }

  async write(changes: readonly SettingsChange[]): Promise<SettingsProblem[]> {
    const problems: SettingsProblem[] = [];
    const batch: { change: SettingsChange; key: string[]; name: string; value: RegValue | undefined }[] = [];
    for (const c of changes) {
      const place = registryPlace(c.key);
      if (place === undefined) {
        problems.push({ key: c.key, message: 'not a registry value\'s place (its names are not ones the layer makes of registry names)' });
        continue;
      }
      let value: RegValue | undefined;
      if (c.value !== undefined) {
        const parsed = parseValue(c.value);
        if ('problem' in parsed) {
          problems.push({ key: c.key, message: `not a registry value: ${parsed.problem}` });
          continue;
        }
        value = parsed;
      }
      batch.push({ change: c, key: place.key, name: place.value, value });
    }
    if (batch.length === 0) return problems;
    const results = parseWriteAnswer(await this.channel(writeRequest(batch)), batch.length);
    results.forEach((r, i) => {
      const { change } = batch[i]!;
      if (r.ok) return;
      if (r.denied === true) problems.push({ key: change.key, message: `locked on this machine by its administrator (${r.error ?? 'access denied'})`, locked: true });
      else problems.push({ key: change.key, message: r.error ?? 'the registry refused it' });
    });
    return problems;
  }
}

function valueText(place: RegistryPlace): string {
  return `${keyText(place.key)}\\${place.value === '' ? '(Default)' : place.value}`;
}
