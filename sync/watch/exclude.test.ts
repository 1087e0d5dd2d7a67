import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeExcluder } from './exclude.js';

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
});
