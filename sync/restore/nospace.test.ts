// A restore onto a disk that fills up or fails: its error names the file it was writing (Node's
// errors of calls on a descriptor name none), and it leaves no temp file, and a file it replaced
// is one version or the other, whole.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { describeError } from '../errors.js';
import { isErrno } from '../fsutil.js';
import { failFileHandle } from '../testing/fd-faults.js';
import { fillUp, NEEDS_MOUNT, withTmpfs } from '../testing/tmpfs.js';
import { restoreTree } from './index.js';
import { dir, file, MTIME, newRepo, saveLayer, tempDir } from './testkit.js';

describe('restore onto a full disk', { skip: NEEDS_MOUNT }, () => {
  for (const { what, size, full } of [
    { what: 'a file of one chunk (written whole)', size: 600, full: true },
    { what: 'a file of many chunks', size: 256 * 1024, full: false },
  ]) {
    it(`fails with ENOSPC naming ${what}, leaving no temp and a replaced file whole`, async (t) => {
      const { repo } = await newRepo();
      const root = await saveLayer(repo, { 'mine.txt': file('from the snapshot'), 'new.bin': file(randomBytes(size)) });
      const disk = join(await tempDir(t, 'nospace'), 'disk');
      await withTmpfs(disk, '64k', async () => {
        const target = join(disk, 'target');
        await mkdir(target);
        await writeFile(join(target, 'mine.txt'), 'mine');
        if (full) await fillUp(disk);
        const err = await restoreTree(repo, { target, root }).then(() => undefined, (e: unknown) => e);
        assert.ok(isErrno(err, 'ENOSPC'), describeError(err));
        assert.match(describeError(err), new RegExp(`^ENOSPC ${join(target, '(mine.txt|new.bin)')}: no space left on device \\(write\\)$`));
        assert.deepEqual((await readdir(target)).filter((n) => n !== 'new.bin').sort(), ['mine.txt']);
        assert.ok(['mine', 'from the snapshot'].includes(await readFile(join(target, 'mine.txt'), 'utf8')), 'the file is one version whole');
      });
    });
  }
});

describe('restore where setting a time fails', () => {
  it("names the file whose time it was setting on one it leaves in place, and the folder's", async (t) => {
    const { repo } = await newRepo();
    const root = await saveLayer(repo, { docs: dir({ 'a.txt': file('same bytes') }) });
    const target = await tempDir(t, 'meta-fails');
    await mkdir(join(target, 'docs'));
    await writeFile(join(target, 'docs', 'a.txt'), 'same bytes');
    await utimes(join(target, 'docs', 'a.txt'), (MTIME + 60_000) / 1000, (MTIME + 60_000) / 1000);
    await failFileHandle(t, 'utimes', 'EIO', 'futime');
    const err = await restoreTree(repo, { target, root }).catch((e: unknown) => e);
    assert.equal(describeError(err), `EIO ${join(target, 'docs', 'a.txt')}: injected failure (futime)`);
    await utimes(join(target, 'docs', 'a.txt'), MTIME / 1000, MTIME / 1000);
    const again = await restoreTree(repo, { target, root }).catch((e: unknown) => e);
    assert.equal(describeError(again), `EIO ${join(target, 'docs')}: injected failure (futime)`);
  });
});
