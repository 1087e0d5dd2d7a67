import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, open, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { describeError } from './errors.js';
import { isErrno, openRegular } from './fsutil.js';
import { copyRegular, copyThrough, dataRanges, HOLE_BLOCK, MIN_HOLE, writeSparse } from './sparse.js';
import { makeRng, testSeed } from './testing/random.js';
import { NEEDS_MOUNT, withTmpfs } from './testing/tmpfs.js';

const KiB = 1024;

/** `parts` joined: a number is that many 0xff bytes, `{ zeros }` that many zeros. */
function bytesOf(parts: (number | { zeros: number })[]): Uint8Array {
  return Buffer.concat(parts.map((p) => (typeof p === 'number' ? Buffer.alloc(p, 0xff) : new Uint8Array(p.zeros))));
}

describe('sparse: dataRanges', () => {
  it('skips data of zeros whole, however short, and writes data without zeros whole', () => {
    assert.deepEqual(dataRanges(new Uint8Array(10), 3), []);
    assert.deepEqual(dataRanges(new Uint8Array(1 << 20), 0), []);
    assert.deepEqual(dataRanges(bytesOf([100 * KiB]), 123), [[0, 100 * KiB]]);
  });

  it('writes runs of zeros shorter than MIN_HOLE, and skips longer ones in whole blocks of the file', () => {
    assert.deepEqual(dataRanges(bytesOf([10, { zeros: MIN_HOLE - HOLE_BLOCK }, 10]), 0), [[0, MIN_HOLE - HOLE_BLOCK + 20]]);
    // Zeros from 10 to 10 + 64 KiB: the whole blocks among them are from 4 KiB to 64 KiB.
    assert.deepEqual(dataRanges(bytesOf([10, { zeros: 64 * KiB }, 10]), 0), [
      [0, HOLE_BLOCK],
      [64 * KiB, 64 * KiB + 20],
    ]);
    // The same data at offset 100 of the file: its blocks start at 3996 in it.
    assert.deepEqual(dataRanges(bytesOf([10, { zeros: 64 * KiB }, 10]), 100), [
      [0, HOLE_BLOCK - 100],
      [16 * HOLE_BLOCK - 100, 64 * KiB + 20],
    ]);
  });

  it('skips zeros at either end', () => {
    assert.deepEqual(dataRanges(bytesOf([{ zeros: 64 * KiB }, 10]), 0), [[64 * KiB, 64 * KiB + 10]]);
    assert.deepEqual(dataRanges(bytesOf([10, { zeros: 64 * KiB }]), 0), [[0, HOLE_BLOCK]]);
    assert.deepEqual(dataRanges(bytesOf([10, { zeros: MIN_HOLE / 2 }]), 0), [[0, MIN_HOLE / 2 + 10]]);
  });

  it('leaves out zeros only: every other byte is in a range (random layouts)', () => {
    const rng = makeRng(testSeed('sparse dataRanges'));
    for (let round = 0; round < 300; round++) {
      const parts = Array.from({ length: rng.range(1, 8) }, () => (rng.chance(0.5) ? { zeros: rng.range(0, 200 * KiB) } : rng.range(1, 20 * KiB)));
      const data = bytesOf(parts);
      const position = rng.chance(0.5) ? 0 : rng.range(0, 1 << 20);
      const copy = new Uint8Array(data.byteLength);
      let last = 0;
      for (const [s, e] of dataRanges(data, position)) {
        assert.ok(s >= last && e > s && e <= data.byteLength, `ranges in order and inside the data: ${s}-${e}`);
        copy.set(data.subarray(s, e), s);
        last = e;
      }
      assert.ok(Buffer.from(copy).equals(data), `round ${round}: the ranges hold every byte that is not zero`);
    }
  });
});

describe('sparse: writeSparse', () => {
  it('writes the bytes, leaving the size for ftruncate when the end is zeros', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-sparse-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const data = bytesOf([5, { zeros: 100 * KiB }, 5, { zeros: 40 * KiB }]);
    const path = join(dir, 'f');
    const fh = await open(path, 'wx+');
    try {
      assert.equal(await writeSparse(fh, data, 0), true);
      // The last data ends in the file's 26th block: the zeros after that block are not written.
      assert.equal((await fh.stat()).size, 26 * HOLE_BLOCK, 'the zeros at the end are not written');
      await fh.truncate(data.byteLength);
    } finally {
      await fh.close();
    }
    assert.ok((await readFile(path)).equals(data));
  });
});

describe('sparse: copyRegular', () => {
  it('copies the bytes and size, a file ending in zeros too; fails, touching nothing, where the source is missing or the copy exists', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-sparse-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const data = bytesOf([5, { zeros: 3 << 20 }, 5, { zeros: 2 << 20 }]);
    await writeFile(join(dir, 'from'), data);
    await copyRegular(join(dir, 'from'), join(dir, 'to'));
    assert.ok((await readFile(join(dir, 'to'))).equals(data));
    await assert.rejects(copyRegular(join(dir, 'missing'), join(dir, 'to2')), { code: 'ENOENT' });
    await assert.rejects(stat(join(dir, 'to2')), { code: 'ENOENT' });
    await writeFile(join(dir, 'taken'), 'mine');
    await assert.rejects(copyRegular(join(dir, 'from'), join(dir, 'taken')), { code: 'EEXIST' });
    assert.equal(await readFile(join(dir, 'taken'), 'utf8'), 'mine');
  });
});

describe('copyRegular, copyThrough', { skip: process.platform === 'win32' && 'no FIFOs on Windows' }, () => {
  it('copy a regular file (bytes and mode) to a new name, and refuse at once a FIFO, a link and a taken name', { timeout: 20_000 }, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-copyregular-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const bytes = Buffer.alloc(3 << 20, 'a bigger buffer than one read ');
    await writeFile(join(dir, 'real'), bytes);
    await chmod(join(dir, 'real'), 0o640);
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    await symlink('real', join(dir, 'link'));
    await copyRegular(join(dir, 'real'), join(dir, 'copy'));
    const fh = await openRegular(join(dir, 'real'));
    try {
      await copyThrough(fh, join(dir, 'through'));
      await assert.rejects(copyThrough(fh, join(dir, 'copy')), (err) => isErrno(err, 'EEXIST'));
    } finally {
      await fh.close();
    }
    for (const name of ['copy', 'through']) {
      assert.ok((await readFile(join(dir, name))).equals(bytes), name);
      assert.equal((await stat(join(dir, name))).mode & 0o777, 0o640, name);
    }
    for (const [name, code] of [['fifo', 'ENOTREG'], ['link', 'ELOOP'], ['real', 'EEXIST']] as const) {
      await assert.rejects(copyRegular(join(dir, name), join(dir, name === 'real' ? 'copy' : 'new')), (err) => isErrno(err, code), name);
    }
    assert.ok((await readFile(join(dir, 'copy'))).equals(bytes));
    assert.deepEqual((await readdir(dir)).sort(), ['copy', 'fifo', 'link', 'real', 'through']);
  });
});

describe('copyRegular onto a full disk', { skip: NEEDS_MOUNT }, () => {
  it('fails with ENOSPC naming the copy, and leaves no part of it', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-copy-nospace-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'src'), randomBytes(256 * 1024));
    const disk = join(dir, 'disk');
    await withTmpfs(disk, '64k', async () => {
      const err = await copyRegular(join(dir, 'src'), join(disk, 'copy')).catch((e: unknown) => e);
      assert.ok(isErrno(err, 'ENOSPC'));
      assert.equal(describeError(err), `ENOSPC ${join(disk, 'copy')}: no space left on device (write)`);
      assert.deepEqual(await readdir(disk), []);
    });
  });
});
