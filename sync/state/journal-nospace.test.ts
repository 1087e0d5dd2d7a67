// The index's journal where the disk refuses a write: its error names the journal and says what
// failed in the OS's words, and the index holds what it held.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { describeError } from '../errors.js';
import { failFileHandle } from '../testing/fd-faults.js';
import { fillUp, NEEDS_MOUNT, withTmpfs } from '../testing/tmpfs.js';
import { openFileIndex } from './file-index.js';
import { contents, fileEntry, tempDir } from './testkit.js';

describe('file index journal on a full disk', { skip: NEEDS_MOUNT }, () => {
  it("a commit fails with E_STATE_IO naming the journal, in the OS's words, and the index keeps what it had", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-journal-nospace-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const disk = join(dir, 'disk');
    await withTmpfs(disk, '64k', async () => {
      const index = await openFileIndex(disk, 'synced', { autoCompact: false });
      await index.transaction().set('a.txt', fileEntry(1)).commit();
      await fillUp(disk);
      const tx = index.transaction();
      for (let i = 0; i < 200; i++) tx.set(`many/${'x'.repeat(100)}-${i}`, fileEntry(i));
      const err = await tx.commit().catch((e: unknown) => e);
      assert.equal(describeError(err), `E_STATE_IO ${index.journalFile}: could not commit to the index: no space left on device (write)`);
      assert.deepEqual([...contents(index).keys()], ['a.txt']);
      await index.close();
    });
  });
});

describe('file index journal whose torn tail cannot be made durable cut', () => {
  it('the open fails naming the journal', async (t) => {
    const dir = await tempDir(t, 'journal-cut');
    const index = await openFileIndex(dir, 'synced');
    await index.transaction().set('a.txt', fileEntry(1)).commit();
    await index.close();
    await appendFile(index.journalFile, '{"t":"s","p":"torn');
    await failFileHandle(t, 'sync', 'EIO', 'fsync');
    const err = await openFileIndex(dir, 'synced').catch((e: unknown) => e);
    assert.equal(describeError(err), `EIO ${index.journalFile}: injected failure (fsync)`);
  });
});

describe('file index journal made unusable', () => {
  it('by a write whose partial transaction cannot be cut off says why, then and at each call after', async (t) => {
    const index = await openFileIndex(await tempDir(t, 'journal-unusable'), 'synced', { autoCompact: false });
    await index.transaction().set('a.txt', fileEntry(1)).commit();
    await failFileHandle(t, 'write', 'ENOSPC', 'write');
    await failFileHandle(t, 'truncate', 'EIO', 'ftruncate');
    await assert.rejects(index.transaction().set('b.txt', fileEntry(2)).commit());
    const err = await index.transaction().set('c.txt', fileEntry(3)).commit().catch((e: unknown) => e);
    assert.equal(describeError(err), `E_STATE_IO ${index.journalFile}: index is unusable: a write failed (injected failure (write)) and cutting off what it left failed too (injected failure (ftruncate)); reopen it`);
  });

  it('by a compaction that could not open its new journal says why', async (t) => {
    const index = await openFileIndex(await tempDir(t, 'journal-unusable'), 'synced', { autoCompact: false });
    await index.transaction().set('a.txt', fileEntry(1)).commit();
    const openBefore = fs.promises.open;
    fs.promises.open = ((path: string, ...rest: never[]) => {
      if (path !== index.journalFile || rest[0] !== 'r+') return openBefore(path, ...rest);
      return Promise.reject(Object.assign(new Error(`EIO: i/o error, open '${path}'`), { code: 'EIO', syscall: 'open', path }));
    }) as typeof fs.promises.open;
    syncBuiltinESMExports();
    t.after(() => {
      fs.promises.open = openBefore;
      syncBuiltinESMExports();
    });
    const err = await index.compact().catch((e: unknown) => e);
    assert.equal(describeError(err), `E_STATE_IO ${index.journalFile}: index is unusable: its compaction failed once its new snapshot was written (i/o error (open)); reopen it`);
  });
});
