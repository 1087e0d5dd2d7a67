import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isStrataError } from '../errors.js';
import { makeFifo, notWaitingOn } from '../testing/fifo.js';
import { DEFAULT_CHUNKER } from './params.js';
import { ChunkPool } from './pool.js';
import { rereadChunks } from './reread.js';
import { chunkBytes } from './stream.js';

// A path listed as a regular file can be swapped before the pool reads it: a small file is read
// on the calling thread, a chunked one re-read for its bytes; neither may wait on a FIFO for a
// writer, nor follow a link out of the folder.
describe('chunk pool: what stands at the path now', { skip: process.platform === 'win32' && 'no FIFOs on Windows' }, () => {
  let dir: string;
  let pool: ChunkPool;
  const bytes = Buffer.from('the bytes of a file outside the folder');
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strata-pool-special-'));
    makeFifo(join(dir, 'fifo'));
    await writeFile(join(dir, 'outside'), bytes);
    await symlink(join(dir, 'outside'), join(dir, 'link'));
    pool = new ChunkPool({ size: 1 });
  });
  after(async () => {
    await pool.close();
    await rm(dir, { recursive: true, force: true });
  });

  const refused = (path: string) => (err: unknown) => isStrataError(err, 'E_FILE_READ') && err.path === path;

  it('chunkFile and chunkFileWithData refuse a FIFO and a link at once', { timeout: 60_000 }, async () => {
    for (const name of ['fifo', 'link']) {
      const path = join(dir, name);
      await assert.rejects(notWaitingOn(join(dir, 'fifo'), pool.chunkFile(path, DEFAULT_CHUNKER)), refused(path), name);
      await assert.rejects(notWaitingOn(join(dir, 'fifo'), pool.chunkFileWithData(path, DEFAULT_CHUNKER, async () => undefined)), refused(path), name);
    }
  });

  it('rereadChunks refuses a FIFO and a link at once', { timeout: 60_000 }, async () => {
    const { file } = chunkBytes(bytes, DEFAULT_CHUNKER);
    for (const name of ['fifo', 'link']) {
      const path = join(dir, name);
      await assert.rejects(notWaitingOn(join(dir, 'fifo'), rereadChunks(path, file, 'blake3', () => true, async () => undefined)), refused(path), name);
    }
  });
});
