// Scenario tests for merge3, as data: base, mine, theirs → expected merged tree and conflict
// copies. Every scenario also runs with the sides swapped and must give the same answer.
// Mtimes in the specs count minutes after 2026-11-22 03:15:00 UTC (see testkit.tree).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { merge3 } from './merge.js';
import { show, tree } from './testkit.js';
import type { ConflictReason } from './types.js';

type Spec = Record<string, string>;
interface Scenario {
  name: string;
  base?: Spec;
  mine: Spec;
  theirs: Spec;
  caseInsensitive?: boolean;
  merged: Spec;
  /** [copy, device that made the losing version, reason] */
  conflicts?: Array<[string, string, ConflictReason]>;
}

const MINE = 'laptop';
const THEIRS = 'desktop';

const scenarios: Scenario[] = [
  { name: 'nothing changed', base: { 'a/b': 'X' }, mine: { 'a/b': 'X' }, theirs: { 'a/b': 'X' }, merged: { 'a/b': 'X' } },
  { name: 'only mine edited', base: { f: 'X' }, mine: { f: 'Y@1' }, theirs: { f: 'X' }, merged: { f: 'Y@1' } },
  { name: 'only theirs deleted', base: { f: 'X', g: 'G' }, mine: { f: 'X', g: 'G' }, theirs: { g: 'G' }, merged: { g: 'G' } },
  { name: 'only theirs added', mine: {}, theirs: { 'n/new': 'N' }, merged: { 'n/new': 'N' } },
  { name: 'both made the same edit', base: { f: 'X' }, mine: { f: 'Y@1' }, theirs: { f: 'Y@1' }, merged: { f: 'Y@1' } },
  { name: 'same content, different mtimes: the newer metadata', base: { f: 'X' }, mine: { f: 'Y@1' }, theirs: { f: 'Y@2#600' }, merged: { f: 'Y@2#600' } },
  {
    name: 'both edited: newer keeps the name, the other is a conflict copy',
    base: { 'docs/report.docx': 'X' },
    mine: { 'docs/report.docx': 'Y@2' },
    theirs: { 'docs/report.docx': 'Z@1' },
    merged: { 'docs/report.docx': 'Y@2', 'docs/report.sync-conflict-20261122-031600-desktop.docx': 'Z@1' },
    conflicts: [['docs/report.sync-conflict-20261122-031600-desktop.docx', THEIRS, 'edit']],
  },
  {
    name: 'both edited at the same mtime: the greater device id wins',
    base: { 'a.txt': 'X' },
    mine: { 'a.txt': 'Y@1' },
    theirs: { 'a.txt': 'Z@1' },
    merged: { 'a.txt': 'Y@1', 'a.sync-conflict-20261122-031600-desktop.txt': 'Z@1' },
    conflicts: [['a.sync-conflict-20261122-031600-desktop.txt', THEIRS, 'edit']],
  },
  {
    name: 'conflict names: no extension, dotfile, double extension',
    base: { Makefile: 'M', '.bashrc': 'B', 'x.tar.gz': 'T' },
    mine: { Makefile: 'M1@1', '.bashrc': 'B1@3', 'x.tar.gz': 'T1@1' },
    theirs: { Makefile: 'M2@2', '.bashrc': 'B2@2', 'x.tar.gz': 'T2@2' },
    merged: {
      Makefile: 'M2@2',
      'Makefile.sync-conflict-20261122-031600-laptop': 'M1@1',
      '.bashrc': 'B1@3',
      '.bashrc.sync-conflict-20261122-031700-desktop': 'B2@2',
      'x.tar.gz': 'T2@2',
      'x.tar.sync-conflict-20261122-031600-laptop.gz': 'T1@1',
    },
    conflicts: [
      ['.bashrc.sync-conflict-20261122-031700-desktop', THEIRS, 'edit'],
      ['Makefile.sync-conflict-20261122-031600-laptop', MINE, 'edit'],
      ['x.tar.sync-conflict-20261122-031600-laptop.gz', MINE, 'edit'],
    ],
  },
  {
    name: 'a taken conflict name gets a counter',
    base: { 'f.txt': 'X', 'f.sync-conflict-20261122-031600-desktop.txt': 'OLD' },
    mine: { 'f.txt': 'Y@2', 'f.sync-conflict-20261122-031600-desktop.txt': 'OLD' },
    theirs: { 'f.txt': 'Z@1', 'f.sync-conflict-20261122-031600-desktop.txt': 'OLD' },
    merged: { 'f.txt': 'Y@2', 'f.sync-conflict-20261122-031600-desktop.txt': 'OLD', 'f.sync-conflict-20261122-031600-desktop-2.txt': 'Z@1' },
    conflicts: [['f.sync-conflict-20261122-031600-desktop-2.txt', THEIRS, 'edit']],
  },
  { name: 'edit vs delete: the edit wins', base: { 'd/f': 'X' }, mine: { 'd/': '' }, theirs: { 'd/f': 'Y@1' }, merged: { 'd/f': 'Y@1' } },
  { name: 'touch vs delete: the touched file is restored', base: { f: 'X' }, mine: {}, theirs: { f: 'X@1' }, merged: { f: 'X@1' } },
  { name: 'delete vs delete', base: { f: 'X', 'd/g': 'G' }, mine: {}, theirs: {}, merged: {} },
  { name: 'metadata change vs content change: the content, no conflict', base: { f: 'X' }, mine: { f: 'X@3#600' }, theirs: { f: 'Z@1' }, merged: { f: 'Z@1' } },
  { name: 'dir vs dir: union', base: { 'd/': '' }, mine: { 'd/a': 'A', 'd/s/x': 'SX' }, theirs: { 'd/b': 'B', 'd/s/y': 'SY' }, merged: { 'd/a': 'A', 'd/b': 'B', 'd/s/x': 'SX', 'd/s/y': 'SY' } },
  { name: 'dir modes both changed: the greater device id', base: { 'd/': '755' }, mine: { 'd/': '700' }, theirs: { 'd/': '750' }, merged: { 'd/': '700' } },
  { name: 'type change on one side only', base: { f: 'X', l: '->t' }, mine: { 'f/x': 'FX', l: 'L' }, theirs: { f: 'X', l: '->t' }, merged: { 'f/x': 'FX', l: 'L' } },
  {
    name: 'file vs dir, both changed: the dir keeps the name',
    base: { f: 'X' },
    mine: { 'f/x': 'FX@9' },
    theirs: { f: 'Y@1' },
    merged: { 'f/x': 'FX@9', 'f.sync-conflict-20261122-031600-desktop': 'Y@1' },
    conflicts: [['f.sync-conflict-20261122-031600-desktop', THEIRS, 'type']],
  },
  {
    name: 'file vs symlink, both changed: the newer keeps the name',
    base: { f: 'X' },
    mine: { f: '->target@2' },
    theirs: { f: 'Y@1' },
    merged: { f: '->target@2', 'f.sync-conflict-20261122-031600-desktop': 'Y@1' },
    conflicts: [['f.sync-conflict-20261122-031600-desktop', THEIRS, 'type']],
  },
  {
    name: 'symlink vs symlink, different targets',
    base: { l: '->t' },
    mine: { l: '->m@1' },
    theirs: { l: '->n@2' },
    merged: { l: '->n@2', 'l.sync-conflict-20261122-031600-laptop': '->m@1' },
    conflicts: [['l.sync-conflict-20261122-031600-laptop', MINE, 'edit']],
  },
  { name: 'both added the same path identically', mine: { 'n/f': 'N@1' }, theirs: { 'n/f': 'N@1' }, merged: { 'n/f': 'N@1' } },
  {
    name: 'both added the same path differently',
    mine: { 'n/f.md': 'M@1' },
    theirs: { 'n/f.md': 'T@1' },
    merged: { 'n/f.md': 'M@1', 'n/f.sync-conflict-20261122-031600-desktop.md': 'T@1' },
    conflicts: [['n/f.sync-conflict-20261122-031600-desktop.md', THEIRS, 'edit']],
  },
  { name: 'file deleted vs changed into a dir: the dir', base: { f: 'X' }, mine: {}, theirs: { 'f/': '' }, merged: { 'f/': '' } },
  {
    name: 'dir deleted vs file added inside: the dir comes back with it only',
    base: { 'd/a': 'A', 'd/b': 'B', 'd/s/c': 'C' },
    mine: {},
    theirs: { 'd/a': 'A', 'd/b': 'B', 'd/s/c': 'C', 'd/s/new': 'N' },
    merged: { 'd/s/new': 'N' },
  },
  { name: 'dir deleted vs child edited', base: { 'd/a': 'A', 'd/b': 'B' }, mine: {}, theirs: { 'd/a': 'A2@1', 'd/b': 'B' }, merged: { 'd/a': 'A2@1' } },
  { name: 'dir deleted vs dir mode changed: deleted', base: { 'd/': '755' }, mine: {}, theirs: { 'd/': '700' }, merged: {} },
  {
    name: 'dir replaced by a file vs child edited: the dir, the file aside',
    base: { 'd/a': 'A', 'd/b': 'B' },
    mine: { d: 'F@4' },
    theirs: { 'd/a': 'A2@1', 'd/b': 'B' },
    merged: { 'd/a': 'A2@1', 'd.sync-conflict-20261122-031900-laptop': 'F@4' },
    conflicts: [['d.sync-conflict-20261122-031900-laptop', MINE, 'parent']],
  },
  { name: 'rename vs edit: both survive', base: { 'a.txt': 'X' }, mine: { 'b.txt': 'X' }, theirs: { 'a.txt': 'Y@1' }, merged: { 'a.txt': 'Y@1', 'b.txt': 'X' } },
  { name: 'rename vs nothing: a clean rename', base: { 'a.txt': 'X' }, mine: { 'b.txt': 'X' }, theirs: { 'a.txt': 'X' }, merged: { 'b.txt': 'X' } },
  {
    name: 'dir renamed vs file added in the old dir',
    base: { 'd/a': 'A' },
    mine: { 'e/a': 'A' },
    theirs: { 'd/a': 'A', 'd/n': 'N' },
    merged: { 'e/a': 'A', 'd/n': 'N' },
  },
  { name: 'both renamed the same file differently: both names', base: { a: 'X' }, mine: { b: 'X' }, theirs: { c: 'X' }, merged: { b: 'X', c: 'X' } },
  {
    name: 'case-only rename, case-insensitive target',
    caseInsensitive: true,
    base: { 'a/File.txt': 'X' },
    mine: { 'a/file.txt': 'X' },
    theirs: { 'a/File.txt': 'X' },
    merged: { 'a/file.txt': 'X' },
  },
  {
    name: 'case-only rename vs edit, case-insensitive: both survive',
    caseInsensitive: true,
    base: { 'a/File.txt': 'X' },
    mine: { 'a/file.txt': 'X' },
    theirs: { 'a/File.txt': 'Y@1' },
    merged: { 'a/File.txt': 'Y@1', 'a/file.sync-conflict-20261122-031500-laptop.txt': 'X' },
    conflicts: [['a/file.sync-conflict-20261122-031500-laptop.txt', MINE, 'case']],
  },
  {
    name: 'case-only rename vs edit, case-sensitive: both names',
    base: { 'a/File.txt': 'X' },
    mine: { 'a/file.txt': 'X' },
    theirs: { 'a/File.txt': 'Y@1' },
    merged: { 'a/File.txt': 'Y@1', 'a/file.txt': 'X' },
  },
  {
    name: 'names that fold alike (case and NFD/NFC), case-insensitive: first keeps the name',
    caseInsensitive: true,
    base: { 'doc.txt': 'D' },
    mine: { 'doc.txt': 'D', 'cafe\u0301': 'C1@1' },
    theirs: { 'doc.txt': 'D', 'Doc.txt': 'E@2', 'caf\u00e9': 'C2@2' },
    merged: {
      'Doc.txt': 'E@2',
      'doc.sync-conflict-20261122-031500-laptop.txt': 'D',
      'cafe\u0301': 'C1@1',
      'caf\u00e9.sync-conflict-20261122-031700-desktop': 'C2@2',
    },
    conflicts: [
      ['caf\u00e9.sync-conflict-20261122-031700-desktop', THEIRS, 'case'],
      ['doc.sync-conflict-20261122-031500-laptop.txt', MINE, 'case'],
    ],
  },
  {
    name: 'dirs that fold alike are united',
    caseInsensitive: true,
    base: { 'docs/a': 'A' },
    mine: { 'docs/a': 'A', 'docs/same': 'S' },
    theirs: { 'docs/a': 'A', 'Docs/b': 'B@1', 'Docs/same': 'S2@1' },
    merged: { 'Docs/a': 'A', 'Docs/b': 'B@1', 'Docs/same': 'S2@1', 'Docs/same.sync-conflict-20261122-031500-laptop': 'S' },
    conflicts: [['Docs/same.sync-conflict-20261122-031500-laptop', MINE, 'case']],
  },
  {
    name: 'a file and a dir that fold alike: the dir keeps the name',
    caseInsensitive: true,
    mine: { notes: 'N@3' },
    theirs: { 'Notes/x': 'X@1' },
    merged: { 'Notes/x': 'X@1', 'notes.sync-conflict-20261122-031800-laptop': 'N@3' },
    conflicts: [['notes.sync-conflict-20261122-031800-laptop', MINE, 'case']],
  },
  // Whiteouts ('~'): a leaf with one fixed content that loses like a delete and is never copied.
  { name: 'whiteout vs whiteout: one whiteout', base: { f: 'X' }, mine: { f: '~' }, theirs: { f: '~' }, merged: { f: '~' } },
  { name: 'whiteout vs unchanged: the whiteout', base: { 'd/f': 'X', g: 'G' }, mine: { 'd/f': '~', g: 'G' }, theirs: { 'd/f': 'X', g: 'G' }, merged: { 'd/f': '~', g: 'G' } },
  { name: 'whiteout vs edit: the edit wins, no conflict copy', base: { f: 'X' }, mine: { f: '~' }, theirs: { f: 'Y@1' }, merged: { f: 'Y@1' } },
  { name: 'whiteout vs touch: the touched file (a whiteout is no content change)', base: { f: 'X' }, mine: { f: '~' }, theirs: { f: 'X@1' }, merged: { f: 'X@1' } },
  { name: 'whiteout vs a file turned into a dir: the dir', base: { f: 'X' }, mine: { f: '~' }, theirs: { 'f/x': 'FX' }, merged: { 'f/x': 'FX' } },
  { name: 'whiteout vs a new file at the same path: the file', mine: { n: '~' }, theirs: { n: 'N@1' }, merged: { n: 'N@1' } },
  { name: 'whiteout vs taken out of the layer: the whiteout', base: { f: 'X' }, mine: { f: '~' }, theirs: {}, merged: { f: '~' } },
  {
    name: 'dir whited out vs child edited: the dir comes back with that child only',
    base: { 'd/a': 'A', 'd/b': 'B' },
    mine: { d: '~' },
    theirs: { 'd/a': 'A2@1', 'd/b': 'B' },
    merged: { 'd/a': 'A2@1' },
  },
  { name: 'dir whited out vs dir mode changed: the whiteout', base: { 'd/': '755', 'd/a': 'A' }, mine: { d: '~' }, theirs: { 'd/': '700', 'd/a': 'A' }, merged: { d: '~' } },
  {
    name: 'a whiteout inside a dir the other side took out of the layer: the dir comes back to hold it',
    base: { 'd/a': 'A', 'd/b': 'B' },
    mine: { 'd/a': '~', 'd/b': 'B' },
    theirs: {},
    merged: { 'd/a': '~' },
  },
  { name: 'a whited-out path recreated on one side: the file', base: { f: '~' }, mine: { f: 'N@1' }, theirs: { f: '~' }, merged: { f: 'N@1' } },
  {
    name: 'a whited-out path recreated differently on both sides: a conflict between the files',
    base: { f: '~' },
    mine: { f: 'M@2' },
    theirs: { f: 'T@1' },
    merged: { f: 'M@2', 'f.sync-conflict-20261122-031600-desktop': 'T@1' },
    conflicts: [['f.sync-conflict-20261122-031600-desktop', THEIRS, 'edit']],
  },
  {
    name: 'a whiteout and a file that fold alike both stay (the whiteout never reaches the disk)',
    caseInsensitive: true,
    mine: { 'Doc.txt': '~' },
    theirs: { 'doc.txt': 'D@1' },
    merged: { 'Doc.txt': '~', 'doc.txt': 'D@1' },
  },
  {
    name: 'a whiteout follows its dir when dirs that fold alike are united',
    caseInsensitive: true,
    mine: { 'docs/a': 'A', 'docs/w': '~' },
    theirs: { 'Docs/b': 'B@1' },
    merged: { 'Docs/a': 'A', 'Docs/b': 'B@1', 'Docs/w': '~' },
  },
  {
    name: 'a whiteout that lands on a surviving file in a united dir goes',
    caseInsensitive: true,
    mine: { 'docs/x': '~' },
    theirs: { 'Docs/x': 'X@1' },
    merged: { 'Docs/x': 'X@1' },
  },
];

describe('merge3 scenarios', () => {
  for (const s of scenarios) {
    it(s.name, () => {
      const base = tree(s.base);
      const ci = s.caseInsensitive ?? false;
      const ab = merge3(base, tree(s.mine), tree(s.theirs), { mine: MINE, theirs: THEIRS, caseInsensitive: ci });
      const ba = merge3(base, tree(s.theirs), tree(s.mine), { mine: THEIRS, theirs: MINE, caseInsensitive: ci });
      assert.deepEqual(show(ab.merged), show(tree(s.merged)));
      assert.deepEqual(
        ab.conflicts.map((c) => [c.copy, c.device, c.reason]),
        s.conflicts ?? [],
      );
      assert.deepEqual(show(ba.merged), show(ab.merged), 'swapping the sides changes the result');
      assert.deepEqual(ba.conflicts, ab.conflicts, 'swapping the sides changes the conflicts');
    });
  }
});
