import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { StrataError } from '../errors.js';
import { chunkFileHere } from './file.js';
import { DEFAULT_CHUNKER } from '../repo/format.js';

// A path checked as a regular file (a seed the restore's walk saw, a file the scanner listed) can be
// swapped before it is read: the read must neither hang on a FIFO nor follow a link out of the folder.
describe('chunkFileHere: what stands at the path now', { skip: process.platform === 'win32' && 'no FIFOs on Windows' }, () => {
  it('refuses a FIFO, and a link to one, at once instead of waiting for a writer; reads a regular file', { timeout: 20_000 }, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-chunk-file-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    await symlink('fifo', join(dir, 'link'));
    await writeFile(join(dir, 'real'), 'some bytes');
    for (const name of ['fifo', 'link']) {
      await assert.rejects(chunkFileHere(join(dir, name), DEFAULT_CHUNKER), (err: unknown) => err instanceof StrataError && err.code === 'E_FILE_READ' && err.path === join(dir, name), name);
    }
    assert.equal((await chunkFileHere(join(dir, 'real'), DEFAULT_CHUNKER)).size, 10);
  });
});
