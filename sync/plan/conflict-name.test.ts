import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { conflictName, conflictStamp, freeConflictPath, isConflictName, splitExtension } from './conflict-name.js';

const T = Date.UTC(2026, 10, 22, 3, 15, 0);

describe('conflict names', () => {
  const cases: Array<[string, string]> = [
    ['report.docx', 'report.sync-conflict-20261122-031500-laptop.docx'],
    ['Makefile', 'Makefile.sync-conflict-20261122-031500-laptop'],
    ['.bashrc', '.bashrc.sync-conflict-20261122-031500-laptop'],
    ['archive.tar.gz', 'archive.tar.sync-conflict-20261122-031500-laptop.gz'],
    ['trailing.', 'trailing..sync-conflict-20261122-031500-laptop'],
    ['.config.json', '.config.sync-conflict-20261122-031500-laptop.json'],
  ];
  for (const [name, expected] of cases) {
    it(`${name} → ${expected}`, () => {
      assert.equal(conflictName(name, T, 'laptop'), expected);
      assert.ok(isConflictName(expected));
    });
  }

  it('stamps the mtime in UTC, and the epoch for times Date cannot hold', () => {
    assert.equal(conflictStamp(Date.UTC(1999, 0, 2, 23, 4, 5, 999)), '19990102-230405');
    assert.equal(conflictStamp(Number.NaN), '19700101-000000');
    assert.equal(conflictStamp(1e20), '19700101-000000');
  });

  it('keeps device ids to safe file-name characters', () => {
    assert.equal(conflictName('a.txt', T, 'my/laptop:1'), 'a.sync-conflict-20261122-031500-my_laptop_1.txt');
    assert.equal(conflictName('a', T, ''), 'a.sync-conflict-20261122-031500-_');
  });

  it('counts up from 2 while a name is taken, keeping the dir and extension', () => {
    const taken = new Set(['d/a.sync-conflict-20261122-031500-pc.txt', 'd/a.sync-conflict-20261122-031500-pc-2.txt']);
    assert.equal(freeConflictPath('d/a.txt', T, 'pc', (p) => taken.has(p)), 'd/a.sync-conflict-20261122-031500-pc-3.txt');
    assert.equal(freeConflictPath('a.txt', T, 'pc', () => false), 'a.sync-conflict-20261122-031500-pc.txt');
  });

  it('splits extensions like Syncthing', () => {
    assert.deepEqual(splitExtension('a.b.c'), ['a.b', '.c']);
    assert.deepEqual(splitExtension('.rc'), ['.rc', '']);
    assert.deepEqual(splitExtension('plain'), ['plain', '']);
    assert.ok(!isConflictName('report.docx'));
  });
});
