/**
 * Which folders under a root belong to the layer (the org config's `folders`, e.g. `Documents`,
 * `.config/app`), as gitignore rules for the excluder: everything else under the root is left
 * alone — never scanned, never watched, never written.
 *
 * gitignore cannot re-include a file whose parent dir is excluded, so each ancestor of a listed
 * folder is re-included and its other children excluded, one level at a time, shallowest first:
 *   /*  !/.config/  /.config/*  !/.config/app/
 */
import { StrataError } from '../errors.js';

function checkFolder(f: string): string[] {
  const parts = f.split('/').filter((p) => p !== '');
  if (parts.length === 0 || parts.some((p) => p === '.' || p === '..' || /[*?[\]!\\#]/.test(p))) {
    throw new StrataError('E_BAD_FOLDER', `${JSON.stringify(f)} is not a plain folder path under the root`);
  }
  return parts;
}

/** Rules that exclude everything but `folders` (relative to the root); [] when none is given (all of the root). */
export function includeRules(folders: readonly string[]): string[] {
  if (folders.length === 0) return [];
  const included = new Set<string>();
  const ancestors = new Set<string>();
  for (const f of folders) {
    const parts = checkFolder(f);
    included.add(parts.join('/'));
    for (let k = 1; k < parts.length; k++) ancestors.add(parts.slice(0, k).join('/'));
  }
  // A listed folder inside another listed folder adds nothing.
  const covered = (p: string) => [...included].some((i) => i !== p && p.startsWith(`${i}/`));
  const levels = [...new Set([...included, ...ancestors])].filter((p) => !covered(p));
  levels.sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : 1));
  const rules = ['/*'];
  for (const p of levels) {
    rules.push(`!/${p}/`);
    if (!included.has(p)) rules.push(`/${p}/*`);
  }
  return rules;
}
