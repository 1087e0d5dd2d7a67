import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs, { closeSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { syncBuiltinESMExports } from 'node:module';
import { describe, it } from 'node:test';
import { describeError, isStrataError } from './errors.js';
import { failFileHandle } from './testing/fd-faults.js';
import { makeFifo, notWaitingOn } from './testing/fifo.js';
import { canSyncFileSystem, fitsHere, fsyncDir, fsyncFile, isErrno, makeDirs, openRegular, openRegularSync, PATH_MAX, renameNoReplace, syncFileSystem, TEMP_NAME_BYTES, tempPathIn, TempNames } from './fsutil.js';

describe('syncFileSystem', { skip: !canSyncFileSystem() && 'syncfs is Linux only' }, () => {
  it('syncs the file system holding a folder, and names the path it could not sync', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-syncfs-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'f'), 'bytes to make durable');
    await syncFileSystem(dir);
    const missing = join(dir, 'no such folder');
    await assert.rejects(syncFileSystem(missing), (err) => isStrataError(err, 'E_SYNC_FS') && err.path === missing && /could not sync/.test(err.message));
  });
});

describe('makeDirs', () => {
  it('makes missing parents, takes an existing folder or a link to one, and refuses a file in the way', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-makedirs-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await makeDirs(join(dir, 'a/b/c'));
    assert.ok((await stat(join(dir, 'a/b/c'))).isDirectory());
    await makeDirs(join(dir, 'a/b'));
    await symlink(join(dir, 'a'), join(dir, 'to-a'));
    await makeDirs(join(dir, 'to-a/b/d'));
    assert.ok((await stat(join(dir, 'a/b/d'))).isDirectory());
    await writeFile(join(dir, 'f'), 'a file');
    await assert.rejects(makeDirs(join(dir, 'f')), (err) => isErrno(err, 'EEXIST'));
    await assert.rejects(makeDirs(join(dir, 'f/g/h')), (err) => isErrno(err, 'ENOTDIR'));
  });
});

describe('renameNoReplace', () => {
  it('moves a folder, a file or a link to a free name, and never over what is there, not even an empty folder', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-noreplace-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await mkdir(join(dir, 'photos'));
    await writeFile(join(dir, 'photos', 'a.jpg'), 'photo');
    await writeFile(join(dir, 'f.txt'), 'mine');
    await symlink('f.txt', join(dir, 'link'));
    await mkdir(join(dir, 'empty'));
    await writeFile(join(dir, 'other.txt'), 'theirs');

    assert.equal(await renameNoReplace(join(dir, 'photos'), join(dir, 'empty')), false, 'a folder made meanwhile, empty, is not replaced');
    assert.equal(await renameNoReplace(join(dir, 'f.txt'), join(dir, 'other.txt')), false);
    assert.equal(await renameNoReplace(join(dir, 'link'), join(dir, 'empty')), false);
    assert.deepEqual((await readdir(join(dir, 'empty'))).length, 0);
    assert.equal(await readFile(join(dir, 'other.txt'), 'utf8'), 'theirs');
    assert.equal(await readFile(join(dir, 'photos', 'a.jpg'), 'utf8'), 'photo');

    assert.equal(await renameNoReplace(join(dir, 'photos'), join(dir, 'photos2')), true);
    assert.equal(await readFile(join(dir, 'photos2', 'a.jpg'), 'utf8'), 'photo');
    assert.equal(await renameNoReplace(join(dir, 'f.txt'), join(dir, 'g.txt')), true);
    assert.equal(await readFile(join(dir, 'g.txt'), 'utf8'), 'mine');
    assert.equal(await renameNoReplace(join(dir, 'link'), join(dir, 'link2')), true);
    assert.equal(await readlink(join(dir, 'link2')), 'f.txt');
    assert.deepEqual((await readdir(dir)).sort(), ['empty', 'g.txt', 'link2', 'other.txt', 'photos2']);
  });

  it('moves a file where the file system takes no hard link, still never over what is there', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-noreplace-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'f.txt'), 'mine');
    await writeFile(join(dir, 'other.txt'), 'theirs');
    const linkBefore = fs.promises.link;
    fs.promises.link = () => Promise.reject(Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM', syscall: 'link' }));
    syncBuiltinESMExports();
    t.after(() => {
      fs.promises.link = linkBefore;
      syncBuiltinESMExports();
    });
    assert.equal(await renameNoReplace(join(dir, 'f.txt'), join(dir, 'other.txt')), false);
    assert.equal(await renameNoReplace(join(dir, 'f.txt'), join(dir, 'g.txt')), true);
    assert.deepEqual((await readdir(dir)).sort(), ['g.txt', 'other.txt']);
    assert.equal(await readFile(join(dir, 'g.txt'), 'utf8'), 'mine');
    assert.equal(await readFile(join(dir, 'other.txt'), 'utf8'), 'theirs');
  });
});

describe('TempNames', () => {
  it('makes distinct names as long as tempPathIn\'s, however many were made before, no longer than fitsHere counts', () => {
    const length = basename(tempPathIn('/')).length;
    assert.ok(length <= TEMP_NAME_BYTES);
    for (const made of [0, 46_655, 46_656, 2 ** 32, Number.MAX_SAFE_INTEGER - 2]) {
      const names = new TempNames(made);
      const [a, b] = [names.in('/d'), names.in('/d')];
      assert.notEqual(a, b);
      for (const n of [a, b]) assert.equal(basename(n).length, length, n);
    }
  });
});

describe('fitsHere', { skip: PATH_MAX === Infinity && 'no PATH_MAX here' }, () => {
  it('says a path fits exactly when it and a temp beside it are shorter than PATH_MAX in bytes, whatever its characters', () => {
    const temp = TEMP_NAME_BYTES;
    const byRule = (abs: string): boolean => Buffer.byteLength(abs) < PATH_MAX && Buffer.byteLength(dirname(abs)) + 1 + temp < PATH_MAX;
    // One to four bytes a character (a surrogate pair is two UTF-16 units), lengths on both sides of every bound.
    for (const ch of ['a', 'é', '€', '😀']) {
      for (let n = Math.floor(PATH_MAX / 3 / ch.length) - 40; n * ch.length < PATH_MAX + 8; n++) {
        for (const abs of [`/h/${ch.repeat(n)}`, `/h/${ch.repeat(n)}/x`]) assert.equal(fitsHere(abs), byRule(abs), `${ch} × ${n}${abs.endsWith('/x') ? ' and /x' : ''}`);
      }
    }
  });
});

// A user's file checked as regular may be swapped before it is read: neither hang nor follow.
describe('openRegular, openRegularSync', { skip: process.platform === 'win32' && 'no FIFOs on Windows' }, () => {
  it('open a regular file, and refuse at once a FIFO, a link and a folder', { timeout: 20_000 }, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-openregular-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    await writeFile(join(dir, 'real'), 'some bytes');
    await symlink('real', join(dir, 'link'));
    await mkdir(join(dir, 'folder'));
    const fh = await openRegular(join(dir, 'real'));
    assert.equal((await fh.readFile('utf8')), 'some bytes');
    await fh.close();
    const { fd, st } = openRegularSync(join(dir, 'real'));
    closeSync(fd);
    assert.equal(st.size, 10);
    for (const [name, code] of [['fifo', 'ENOTREG'], ['folder', 'ENOTREG'], ['link', 'ELOOP']] as const) {
      await assert.rejects(openRegular(join(dir, name)), (err) => isErrno(err, code), name);
      assert.throws(() => openRegularSync(join(dir, name)), (err) => isErrno(err, code), name);
    }
  });
});

// fsyncFile makes durable what a caller left or moved aside at a path: first contact's conflict
// copies, which may be a FIFO the user had where the layer has a file.
describe('fsyncFile', { skip: process.platform === 'win32' && 'no FIFOs on Windows' }, () => {
  it('syncs a file, passes a FIFO at once (nothing of its own to sync), and refuses a link', { timeout: 20_000 }, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-fsyncfile-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'real'), 'bytes');
    makeFifo(join(dir, 'fifo'));
    await symlink('real', join(dir, 'link'));
    await fsyncFile(join(dir, 'real'));
    await notWaitingOn(join(dir, 'fifo'), fsyncFile(join(dir, 'fifo')));
    await assert.rejects(fsyncFile(join(dir, 'link')), (err) => isErrno(err, 'ELOOP'));
  });
});

describe('fsyncFile, fsyncDir', { skip: process.platform === 'win32' && 'no fsync of a folder on Windows' }, () => {
  it('name the file or folder whose fsync failed (Node names none for a call on a descriptor)', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-fsync-fails-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'f'), 'x');
    await failFileHandle(t, 'sync', 'EIO', 'fsync');
    assert.equal(describeError(await fsyncFile(join(dir, 'f')).catch((e: unknown) => e)), `EIO ${join(dir, 'f')}: injected failure (fsync)`);
    const err = await fsyncDir(dir).catch((e: unknown) => e);
    assert.ok(isErrno(err, 'EIO'));
    assert.equal(describeError(err), `EIO ${dir}: injected failure (fsync)`);
  });
});
