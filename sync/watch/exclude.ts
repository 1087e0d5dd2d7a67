/**
 * Exclusions in gitignore syntax (DESIGN §3): built-in defaults for caches, temp files and lock
 * files, then the layer's own rules, which may override the defaults with `!pattern`.
 *
 * Matching is case-sensitive, as git does on Linux: a rule that should also catch another
 * spelling lists it. Conflict copies (`*.sync-conflict-*`) must never be excluded: they are how
 * a concurrent edit survives, so they sync like any other file.
 */
import ignore from 'ignore';

/** Paths relative to a layer root, POSIX separators; `isDir` tells a directory apart. */
export type Excluder = (relPath: string, isDir: boolean) => boolean;

export interface ExcluderOptions {
  /** Start from DEFAULT_EXCLUDES (true) or from nothing. */
  defaults?: boolean;
}

export const DEFAULT_EXCLUDES: readonly string[] = [
  '# OS metadata',
  '.DS_Store',
  '.AppleDouble/',
  '.Spotlight-V100/',
  '.Trashes/',
  '.fseventsd/',
  'Thumbs.db',
  'thumbs.db',
  'ehthumbs.db',
  'desktop.ini',
  '$RECYCLE.BIN/',
  '# caches (browsers, Electron apps, toolkits)',
  '**/Cache/',
  '**/cache2/',
  '**/Code Cache/',
  '**/GPUCache/',
  '**/ShaderCache/',
  '**/GrShaderCache/',
  '**/DawnCache/',
  '**/CacheStorage/',
  '**/.cache/',
  '# temp files',
  'Temp/',
  '*.tmp',
  '*.temp',
  '~$*',
  '*.swp',
  '*.swo',
  '*.crdownload',
  '# lock files',
  '*.lock',
  'lockfile',
  'lock',
  '.~lock.*#',
  '.#*',
  'SingletonLock',
  'SingletonCookie',
  'SingletonSocket',
  '# project lock files are content, not locks: they must sync',
  '!yarn.lock',
  '!Cargo.lock',
  '!Gemfile.lock',
  '!Pipfile.lock',
  '!poetry.lock',
  '!composer.lock',
  '!flake.lock',
  '!bun.lock',
  '# the engine\'s own temp and stash files',
  '.strata-tmp-*',
  '.strata-stash-*',
];

/**
 * Builds the matcher for one layer. Later rules win, as in a .gitignore; a file inside an
 * excluded directory stays excluded even if a later rule negates the file (git behaves the same).
 */
export function makeExcluder(rules: readonly string[] = [], opts: ExcluderOptions = {}): Excluder {
  const all = [...(opts.defaults ?? true ? DEFAULT_EXCLUDES : []), ...rules];
  const ig = ignore({ ignorecase: false });
  ig.add(all);
  const mayMatch = literalFilter(all);
  return (relPath, isDir) => {
    const rel = trimSlashes(relPath);
    if (rel === '' || rel === '.') return false;
    if (mayMatch && !mayMatch.test(rel)) return false;
    return ig.ignores(isDir ? `${rel}/` : rel);
  };
}

/**
 * A quick test that most paths fail: one regular expression of the literal text each excluding
 * rule cannot match without (its longest run of characters without wildcards or slashes, before any
 * bracket). A rule matches a path only if the path, or one of its folders, holds that text, and
 * a folder's path is part of the path's own: so a path holding none of them is not excluded,
 * and the rules (about 50, each a regular expression) need not be tried on it. Negations are
 * left out: they only ever re-include. Undefined, so every path takes the full test, when some
 * excluding rule has no such text (`*`) or uses an escape.
 */
export function literalFilter(rules: readonly string[]): RegExp | undefined {
  const literals: string[] = [];
  for (const raw of rules.flatMap((r) => r.split(/\r?\n/))) {
    const rule = raw.trimEnd();
    if (rule.trim() === '' || rule.startsWith('#') || rule.startsWith('!')) continue;
    if (rule.includes('\\')) return undefined;
    const literal = longestLiteral(rule.trim());
    if (literal === '') return undefined;
    literals.push(literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  }
  return new RegExp([...new Set(literals)].join('|') || '(?!)');
}

/** The longest run of plain characters; after a bracket expression nothing counts (its end is subtle). */
function longestLiteral(rule: string): string {
  let best = '';
  for (const run of (rule.split('[')[0] as string).split(/[*?/]/)) if (run.length > best.length) best = run;
  return best;
}

function trimSlashes(p: string): string {
  let s = p;
  while (s.startsWith('./')) s = s.slice(2);
  while (s.startsWith('/')) s = s.slice(1);
  while (s.endsWith('/')) s = s.slice(0, -1);
  return s;
}
