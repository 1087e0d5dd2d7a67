// The executor on a disk that fills up or fails: its errors say what failed in the OS's words and
// name the file (Node names none for a call on a descriptor), the journal's as well as the op's.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { describeError } from '../errors.js';
import { fillUp, NEEDS_MOUNT, withTmpfs } from '../testing/tmpfs.js';
import { executePlan } from './index.js';
import { planOver } from './testkit.js';

describe('executePlan onto a full disk', { skip: NEEDS_MOUNT }, () => {
  it("fails with E_EXEC_IO naming the file it writes, in the OS's words, the call said once", async (t) => {
    const p = await planOver(t, 'nospace', { 'docs/': '755' }, { 'docs/': '755', 'docs/b.bin': 'big:1:65536' });
    const disk = join(p.root, 'docs');
    await withTmpfs(disk, '64k', async () => {
      await fillUp(disk);
      const err = await executePlan(p.root, p.ops, { fetch: p.blobs.fetch(), journalPath: p.journalPath }).catch((e: unknown) => e);
      assert.equal(describeError(err), 'E_EXEC_IO docs/b.bin: no space left on device (write)');
    });
  });
});
