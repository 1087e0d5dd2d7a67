import assert from 'node:assert/strict';
import { copyFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isStrataError } from '../errors.js';
import { openFileIndex, type IndexEntry } from './file-index.js';
import { commitOps, contents, fileEntry, tempDir } from './testkit.js';

const NO_AUTO = { autoCompact: false } as const;

describe('file index journal: basics', () => {
  it('set, delete and commit survive a reopen', async (t) => {
    const dir = await tempDir(t, 'j');
    const index = await openFileIndex(dir, 'synced');
    await index.transaction().set('a.txt', fileEntry(1)).set('d', { type: 'dir', size: 0, mtimeMs: 5, mode: 0o755 }).commit();
    await index.transaction().set('l', { type: 'symlink', size: 0, mtimeMs: 1.5, mode: 0o777, target: 'a.txt' }).delete('d').set('a.txt', fileEntry(2, { ino: 42, chunks: ['x', 'y'] })).commit();
    const expected = new Map<string, IndexEntry>([['a.txt', fileEntry(2, { ino: 42, chunks: ['x', 'y'] })], ['l', { type: 'symlink', size: 0, mtimeMs: 1.5, mode: 0o777, target: 'a.txt' }]]);
    assert.deepEqual(contents(index), expected);
    assert.equal(index.sequence, 2);
    await index.close();
    const again = await openFileIndex(dir, 'synced');
    assert.deepEqual(contents(again), expected);
    assert.equal(again.sequence, 2);
    assert.equal(again.discardedBytes, 0);
    await again.close();
  });

  it('a batch is invisible before commit, and after a reopen when never committed', async (t) => {
    const dir = await tempDir(t, 'j');
    const index = await openFileIndex(dir, 'synced');
    await index.transaction().set('kept', fileEntry(1)).commit();
    const tx = index.transaction().set('pending', fileEntry(2)).delete('kept');
    assert.equal(index.get('pending'), undefined);
    assert.ok(index.has('kept'));
    await index.close();
    const again = await openFileIndex(dir, 'synced');
    assert.deepEqual([...again.entries()].map(([k]) => k), ['kept']);
    await assert.rejects(tx.commit(), (e) => isStrataError(e, 'E_STATE_CLOSED'));
    await again.close();
  });

  it('entries are validated and frozen; a transaction commits once', async (t) => {
    const dir = await tempDir(t, 'j');
    const index = await openFileIndex(dir, 'statcache');
    assert.throws(() => index.transaction().set('x', { type: 'fifo' } as unknown as IndexEntry));
    assert.throws(() => index.transaction().set('', fileEntry(1)), (e) => isStrataError(e, 'E_STATE_TX'));
    assert.throws(() => index.transaction().set('r', { ...fileEntry(1), racy: 1 } as unknown as IndexEntry));
    const original = fileEntry(1, { chunks: ['a'] });
    const tx = index.transaction().set('x', original).set('r', { ...fileEntry(2), racy: true });
    await tx.commit();
    original.size = 999;
    assert.equal(index.get('x')?.size, 1);
    assert.equal(index.get('x')?.racy, undefined);
    assert.throws(() => { (index.get('x') as IndexEntry).size = 3; });
    await assert.rejects(tx.commit(), (e) => isStrataError(e, 'E_STATE_TX'));
    await index.close();
    const again = await openFileIndex(dir, 'statcache');
    assert.equal(again.get('r')?.racy, true, 'the flag is kept across a restart');
    await again.close();
  });

  it('compaction keeps the content, shrinks the journal and continues the sequence', async (t) => {
    const dir = await tempDir(t, 'j');
    const index = await openFileIndex(dir, 'synced', NO_AUTO);
    for (let round = 0; round < 20; round++) {
      await commitOps(index, Array.from({ length: 50 }, (_, i) => ({ key: `f${i}`, entry: round === 19 && i % 2 ? undefined : fileEntry(round * 100 + i) })));
    }
    const before = contents(index);
    const journalBefore = (await stat(index.journalFile)).size;
    await index.compact();
    const journalAfter = (await stat(index.journalFile)).size;
    const snapshot = (await stat(index.snapshotFile)).size;
    console.log(`compaction: journal ${journalBefore} B → ${journalAfter} B + snapshot ${snapshot} B (live ${index.liveBytes} B)`);
    assert.ok(journalAfter + snapshot < journalBefore / 5);
    assert.deepEqual(contents(index), before);
    await commitOps(index, [{ key: 'new', entry: fileEntry(7) }]);
    await index.close();
    const again = await openFileIndex(dir, 'synced', NO_AUTO);
    assert.deepEqual(contents(again), new Map([...before, ['new', fileEntry(7)]]));
    assert.equal(again.sequence, 21);
    await again.close();
  });

  it('auto-compaction keeps the journal within ratio × live size', async (t) => {
    const dir = await tempDir(t, 'j');
    const index = await openFileIndex(dir, 'statcache', { autoCompact: { minBytes: 4096, ratio: 2 } });
    let maxJournal = 0;
    for (let i = 0; i < 500; i++) {
      await commitOps(index, [{ key: `f${i % 10}`, entry: fileEntry(i) }]);
      maxJournal = Math.max(maxJournal, index.journalBytes);
    }
    assert.ok(maxJournal <= Math.max(4096, 2 * index.liveBytes) + 200, `journal reached ${maxJournal} B`);
    assert.ok((await stat(index.snapshotFile)).size > 0);
    await index.close();
    const again = await openFileIndex(dir, 'statcache');
    assert.equal(again.get('f9')?.size, 499);
    assert.equal(again.sequence, 500);
    await again.close();
  });

  it('a crash between writing the snapshot and replacing the journal loses nothing', async (t) => {
    const dir = await tempDir(t, 'j');
    const index = await openFileIndex(dir, 'synced', NO_AUTO);
    for (let i = 0; i < 5; i++) await commitOps(index, [{ key: `f${i}`, entry: fileEntry(i) }, { key: 'f0', entry: undefined }]);
    const expected = contents(index);
    await copyFile(index.journalFile, join(dir, 'old.journal'));
    await index.compact();
    await index.close();
    await copyFile(join(dir, 'old.journal'), index.journalFile); // the rename of the new journal never happened
    const again = await openFileIndex(dir, 'synced', NO_AUTO);
    assert.deepEqual(contents(again), expected);
    assert.equal(again.sequence, 5);
    await commitOps(again, [{ key: 'after', entry: fileEntry(9) }]);
    await again.close();
    const third = await openFileIndex(dir, 'synced');
    assert.equal(third.get('after')?.size, 9);
    await third.close();
  });

  it('a damaged snapshot or journal header is E_BAD_STATE naming the file', async (t) => {
    const dir = await tempDir(t, 'j');
    const index = await openFileIndex(dir, 'synced', NO_AUTO);
    await commitOps(index, [{ key: 'a', entry: fileEntry(1) }, { key: 'b', entry: fileEntry(2) }]);
    await index.compact();
    await index.close();
    const snap = await readFile(index.snapshotFile);
    const flipped = Buffer.from(snap);
    const mid = Math.floor(snap.length / 2);
    flipped[mid] = (flipped[mid] as number) ^ 0x04;
    await writeFile(index.snapshotFile, flipped);
    await assert.rejects(openFileIndex(dir, 'synced'), (e) => isStrataError(e, 'E_BAD_STATE') && e.path === index.snapshotFile);
    await writeFile(index.snapshotFile, snap.subarray(0, snap.length - 3));
    await assert.rejects(openFileIndex(dir, 'synced'), (e) => isStrataError(e, 'E_BAD_STATE') && e.path === index.snapshotFile);
    await writeFile(index.snapshotFile, snap);
    await writeFile(index.journalFile, 'garbage\n');
    await assert.rejects(openFileIndex(dir, 'synced'), (e) => isStrataError(e, 'E_BAD_STATE') && e.path === index.journalFile);
  });
});
