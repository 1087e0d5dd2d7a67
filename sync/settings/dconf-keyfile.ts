/**
 * dconf's text, with no process: the key file `dconf dump` prints (parseDump) and the one `dconf
 * load` reads (keyFile), the common dir of keys, and the first line of what dconf says on stderr.
 */
import { isSettingsPath } from './settings.js';

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
export function commonDir(dir: string, key: string): string {
  let i = 0;
  while (i < dir.length && dir[i] === key[i]) i++;
  return dir.slice(0, dir.lastIndexOf('/', i - 1) + 1);
}

export function oneLine(s: string): string {
  return s.trim().split('\n').filter((l) => l.trim() !== '')[0]?.replace(/^error:\s*/, '') ?? '';
}
