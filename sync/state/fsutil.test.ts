// The state folder's durable writes on a full disk: the error names the file being written, and
// the file keeps its old content, with no temp left beside it.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { describeError } from '../errors.js';
import { fillUp, NEEDS_MOUNT, withTmpfs } from '../testing/tmpfs.js';
import { writeFileAtomic, writeFileExclusive } from './fsutil.js';

describe('writeFileAtomic, writeFileExclusive on a full disk', { skip: NEEDS_MOUNT }, () => {
  it('fail with ENOSPC naming the file, which keeps its content, and leave no temp', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-state-nospace-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const disk = join(dir, 'disk');
    await withTmpfs(disk, '64k', async () => {
      const file = join(disk, 'session.json');
      await writeFileAtomic(file, 'old');
      await fillUp(disk);
      const big = 'x'.repeat(128 * 1024);
      assert.equal(describeError(await writeFileAtomic(file, big).catch((e: unknown) => e)), `ENOSPC ${file}: no space left on device (write)`);
      const other = join(disk, 'other.json');
      assert.equal(describeError(await writeFileExclusive(other, big).catch((e: unknown) => e)), `ENOSPC ${other}: no space left on device (write)`);
      assert.equal(await readFile(file, 'utf8'), 'old');
      assert.deepEqual((await readdir(disk)).sort(), ['filler', 'session.json']);
    });
  });
});
