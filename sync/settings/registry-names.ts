/**
 * Where a registry value lies in the layer: its key path, `/HKCU/<key name>/…/<value name>`, each
 * name turned into a file name by registryLayerName (shared/org-config.ts: reversible, safe on
 * every OS; the default value is "+"). So `HKCU\Control Panel\Desktop` value `WallPaper` is the key
 * path `/HKCU/Control+20Panel/Desktop/WallPaper`, kept in `.strata/settings/registry/HKCU/…`.
 *
 * What must hold: registryPlace reads back only the key paths valueKeyPath makes (one file per
 * value, never two), and never a key name the registry cannot hold ("\" is its separator; an
 * empty or over-long name). The registry folds case (registryFold): foldKeyPath gives the one key path of every
 * spelling of a value's place (`/HKCU/software/x` and `/HKCU/Software/X` are one value).
 */
import { registryFold, registryLayerName, registryNameOfLayer } from '../../shared/org-config.js';

export const HIVE = 'HKCU';
/** The registry's own limits on names: a key's, a value's (in UTF-16 code units). */
const MAX_KEY_NAME = 255;
const MAX_VALUE_NAME = 16_383;

/** A value's place: the key's names under HKCU, and the value's name ('' for the default value). */
export interface RegistryPlace {
  key: string[];
  value: string;
}

/** The mirror's dir of an org config key (`HKCU\Control Panel\Desktop`, as parseOrgConfig leaves it): `/HKCU/Control+20Panel/Desktop/`. */
export function registryDir(configKey: string): string {
  const names = configKey.split('\\').slice(1);
  const layer = names.map(registryLayerName);
  if (layer.some((n) => n === undefined)) throw new Error(`${configKey}: parseOrgConfig lets through only keys whose names have a layer name`);
  return `/${HIVE}/${layer.join('/')}/`;
}

/** The mirror's dir of the key at `key` (its names under HKCU), or undefined where a name has no layer name. */
export function keyDirPath(key: readonly string[]): string | undefined {
  const names = key.map(registryLayerName);
  return names.every((n) => n !== undefined) ? `/${[HIVE, ...names].join('/')}/` : undefined;
}

/** The key names under HKCU of a dir registryDir made, or undefined. */
export function dirKey(dir: string): string[] | undefined {
  if (!dir.startsWith(`/${HIVE}/`) || !dir.endsWith('/')) return undefined;
  const names = dir.slice(HIVE.length + 2, -1).split('/').map(registryNameOfLayer);
  return names.every((n): n is string => n !== undefined && isKeyName(n)) && names.length > 0 ? names : undefined;
}

/** The key path of a value at `place`, or undefined where a name has no layer name. */
export function valueKeyPath(place: RegistryPlace): string | undefined {
  const names = [HIVE, ...place.key.map(registryLayerName), registryLayerName(place.value)];
  return names.every((n) => n !== undefined) ? `/${names.join('/')}` : undefined;
}

/** The place of a key path valueKeyPath makes, or undefined for any other. */
export function registryPlace(keyPath: string): RegistryPlace | undefined {
  if (!keyPath.startsWith(`/${HIVE}/`)) return undefined;
  const names = keyPath.slice(HIVE.length + 2).split('/').map(registryNameOfLayer);
  if (names.length < 2 || names.some((n) => n === undefined)) return undefined;
  const key = names.slice(0, -1) as string[];
  const value = names[names.length - 1] as string;
  if (!key.every(isKeyName) || value.length > MAX_VALUE_NAME) return undefined;
  return { key, value };
}

/** One key path for every spelling of a place (the registry folds case); other text as it is. */
export function foldKeyPath(keyPath: string): string {
  const names = keyPath.split('/').map((n) => (n === '' ? n : registryNameOfLayer(n)));
  if (names.some((n) => n === undefined)) return keyPath;
  const folded = names.map((n) => (n === '' ? n : registryLayerName(registryFold(n!))));
  return folded.some((n) => n === undefined) ? keyPath : folded.join('/');
}

/** The registry path of `place`'s key, for messages: `HKCU\Control Panel\Desktop`. */
export function keyText(key: readonly string[]): string {
  return [HIVE, ...key].join('\\');
}

function isKeyName(n: string): boolean {
  return n !== '' && !n.includes('\\') && n.length <= MAX_KEY_NAME;
}
