import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import ignore from 'ignore';
import { makeRng, testSeed, type Rng } from '../testing/random.js';
import { DEFAULT_EXCLUDES, literalFilter, makeExcluder } from './exclude.js';

type Row = [path: string, isDir: boolean, excluded: boolean];

const defaults: Row[] = [
  ['Documents/report.docx', false, false],
  ['Documents/~$report.docx', false, true],
  ['.DS_Store', false, true],
  ['Pictures/Thumbs.db', false, true],
  ['Music/desktop.ini', false, true],
  ['AppData/Local/Temp', true, true],
  ['AppData/Local/Temp/x/y.bin', false, true],
  ['setup.tmp', false, true],
  ['notes/.notes.md.swp', false, true],
  ['chrome/Default/Cache', true, true],
  ['chrome/Default/Cache/Cache_Data/f_000001', false, true],
  ['chrome/Default/Code Cache/js/abc', false, true],
  ['chrome/Default/GPUCache', true, true],
  ['.cache/fontconfig/x', false, true],
  ['firefox/profile/cache2/entries/AB', false, true],
  ['firefox/profile/parent.lock', false, true],
  ['firefox/profile/lock', false, true],
  ['Documents/.~lock.budget.ods#', false, true],
  // Emacs's lock: a link to user@host.pid, which would tell Emacs elsewhere the file is being edited
  ['Documents/.#notes.org', false, true],
  ['chrome/SingletonLock', false, true],
  ['.strata-tmp-1234-report.docx', false, true],
  ['sub/.strata-stash-99', false, true],
  // conflict copies are how concurrent edits survive: they must sync
  ['Documents/report.sync-conflict-20240102-030405-ABCDEFG.docx', false, false],
  // project lock files are content
  ['code/app/yarn.lock', false, false],
  ['code/crate/Cargo.lock', false, false],
  // settings exported by adapters sync like files
  ['.strata/settings/hkcu/Software.json', false, false],
  // a file named like a directory rule is not a directory
  ['notes/Cache', false, false],
  ['Temp', false, false],
  ['Templates/letter.odt', false, false],
];

describe('makeExcluder', () => {
  it('applies the built-in defaults', () => {
    const ex = makeExcluder();
    for (const [p, isDir, want] of defaults) assert.equal(ex(p, isDir), want, `${p} (dir=${isDir})`);
  });

  it('adds user rules with comments and negation, later rules winning', () => {
    const ex = makeExcluder(['# build output', 'build/', '*.log', '!keep.log', '!important.tmp', '\\#hash']);
    const rows: Row[] = [
      ['build', true, true],
      ['app/build/out.bin', false, true],
      ['build', false, false],
      ['x/debug.log', false, true],
      ['x/keep.log', false, false],
      ['important.tmp', false, false],
      ['other.tmp', false, true],
      ['#hash', false, true],
      ['# build output', false, false],
    ];
    for (const [p, isDir, want] of rows) assert.equal(ex(p, isDir), want, `${p} (dir=${isDir})`);
  });

  it('keeps a file excluded when its directory is, as git does', () => {
    const ex = makeExcluder(['!chrome/Default/Cache/keep.txt']);
    assert.equal(ex('chrome/Default/Cache/keep.txt', false), true);
  });

  it('can start without the defaults', () => {
    const ex = makeExcluder(['*.bak'], { defaults: false });
    assert.equal(ex('setup.tmp', false), false);
    assert.equal(ex('.DS_Store', false), false);
    assert.equal(ex('old.bak', false), true);
  });

  it('never excludes the root and tolerates leading ./ and trailing /', () => {
    const ex = makeExcluder();
    assert.equal(ex('', true), false);
    assert.equal(ex('.', true), false);
    assert.equal(ex('./a/b.tmp', false), true);
    assert.equal(ex('AppData/Local/Temp/', true), true);
  });

  it('is case-sensitive, like git on Linux', () => {
    const ex = makeExcluder(['Build/'], { defaults: false });
    assert.equal(ex('Build', true), true);
    assert.equal(ex('build', true), false);
  });

  it('decides every path as the rules alone do (the literal pre-test changes no answer)', () => {
    const rng = makeRng(testSeed('exclude-literal-filter'));
    for (let round = 0; round < 300; round++) {
      const rules = Array.from({ length: rng.range(1, 8) }, () => randomRule(rng));
      const defaults = rng.chance(0.5);
      const ex = makeExcluder(rules, { defaults });
      const ig = ignore({ ignorecase: false }).add([...(defaults ? DEFAULT_EXCLUDES : []), ...rules]);
      for (let i = 0; i < 200; i++) {
        const path = Array.from({ length: rng.range(1, 4) }, () => randomName(rng)).join('/');
        const isDir = rng.chance(0.3);
        assert.equal(ex(path, isDir), ig.ignores(isDir ? `${path}/` : path), `${JSON.stringify(rules)} defaults=${defaults}: ${path} (dir=${isDir})`);
      }
    }
  });

  it('pre-tests with each excluding rule\'s literal text, and not at all when a rule has none', () => {
    const filter = literalFilter(['*.log', '**/Cache/', '!keep.log', '# a comment', '/build/out*', 'tmp/[xy]']);
    assert.ok(filter);
    for (const path of ['a/debug.log', 'x/Cache/y', 'build/out.bin', 'tmp/x']) assert.equal(filter.test(path), true, path);
    for (const path of ['a/notes.txt', 'keep.txt', 'Cach/e']) assert.equal(filter.test(path), false, path);
    assert.equal(literalFilter(['*']), undefined);
    assert.equal(literalFilter(['*.log', '?/']), undefined);
    assert.equal(literalFilter(['\\#hash']), undefined);
    assert.equal(literalFilter(['[ab]c']), undefined);
  });
});

const PARTS = ['a', 'b', 'ab', 'Cache', 'cache', 'lock', '.tmp', 'x.log', 'Temp', '#', '!', ' ', 'yarn.lock'];

function randomName(rng: Rng): string {
  return Array.from({ length: rng.range(1, 3) }, () => rng.pick(PARTS)).join('');
}

function randomRule(rng: Rng): string {
  const pieces = ['a', 'b', 'ab', 'Cache', 'lock', '.tmp', 'log', 'Temp', '*', '**', '?', '[ab]', '[!a]', '#', ' '];
  let rule = Array.from({ length: rng.range(1, 3) }, () => Array.from({ length: rng.range(1, 3) }, () => rng.pick(pieces)).join('')).join('/');
  if (rng.chance(0.2)) rule = `/${rule}`;
  if (rng.chance(0.2)) rule = `**/${rule}`;
  if (rng.chance(0.3)) rule = `${rule}/`;
  if (rng.chance(0.2)) rule = `!${rule}`;
  if (rng.chance(0.1)) rule = `${rule}  `;
  if (rng.chance(0.05)) rule = `# ${rule}`;
  if (rng.chance(0.05)) rule = ` ${rule}`;
  return rule;
}
