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
  const ig = ignore({ ignorecase: false });
  if (opts.defaults ?? true) ig.add([...DEFAULT_EXCLUDES]);
  ig.add([...rules]);
  return (relPath, isDir) => {
    const rel = trimSlashes(relPath);
    if (rel === '' || rel === '.') return false;
    return ig.ignores(isDir ? `${rel}/` : rel);
  };
}

function trimSlashes(p: string): string {
  let s = p;
  while (s.startsWith('./')) s = s.slice(2);
  while (s.startsWith('/')) s = s.slice(1);
  while (s.endsWith('/')) s = s.slice(0, -1);
  return s;
}
