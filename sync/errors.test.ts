// The one-line description of errors (describeError), as the CLI, the UI and the logs show them:
// what failed and where, each said once.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { asReported, StrataError, describeError, whatFailed } from './errors.js';

describe('describeError', () => {
  it('names a file system error by its code, then the path, then what and which call, the code said once', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-errors-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'file'), 'x');
    const notDir = await mkdir(join(dir, 'file', 'repo')).catch((e: unknown) => e);
    assert.equal(describeError(notDir), `ENOTDIR ${join(dir, 'file', 'repo')}: not a directory (mkdir)`);
    const missing = await open(join(dir, 'missing.txt')).catch((e: unknown) => e);
    assert.equal(describeError(missing), `ENOENT ${join(dir, 'missing.txt')}: no such file or directory (open)`);
    // A call on a descriptor: Node names no path ("EBADF: bad file descriptor, write").
    const fh = await open(join(dir, 'file'), 'r');
    t.after(() => fh.close());
    const onFd = await fh.write('y').catch((e: unknown) => e);
    assert.equal(describeError(onFd), 'EBADF bad file descriptor (write)');
  });

  it('whatFailed: what a failed call says without its code and path, for a message that says where itself', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-errors-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    assert.equal(whatFailed(await open(join(dir, 'missing.txt')).catch((e: unknown) => e)), 'no such file or directory (open)');
    assert.equal(whatFailed(new StrataError('E_BAD_TREE', 'folders nest too deep', { key: 'data/ab/abcd' })), 'folders nest too deep');
    assert.equal(whatFailed(new Error('something broke')), 'something broke');
  });

  it('keeps a StrataError, and an error without a code, as they are', () => {
    assert.equal(describeError(new StrataError('E_BAD_TREE', 'folders nest too deep', { key: 'data/ab/abcd' })), 'E_BAD_TREE data/ab/abcd: folders nest too deep');
    assert.equal(describeError(new Error('something broke')), 'something broke');
    const coded = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    assert.equal(describeError(coded), 'ECONNREFUSED connect ECONNREFUSED 127.0.0.1:9');
  });
});

describe('asReported', () => {
  it('a failed system call by what the user can do about it, its path apart; a StrataError as it is', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-errors-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'file'), 'x');
    const reported = (err: unknown) => {
      const e = asReported(err);
      return e && { code: e.code, message: e.message, path: e.path };
    };
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    assert.deepEqual(reported(full), { code: 'E_DISK_FULL', message: 'no space left on device (write)', path: undefined });
    const denied = Object.assign(new Error("EACCES: permission denied, open '/a/b'"), { code: 'EACCES', errno: -13, syscall: 'open', path: '/a/b' });
    assert.deepEqual(reported(denied), { code: 'E_ACCESS_DENIED', message: 'permission denied (open)', path: '/a/b' });
    const notDir = await mkdir(join(dir, 'file', 'repo')).catch((e: unknown) => e);
    assert.deepEqual(reported(notDir), { code: 'E_PATH_NOT_FOUND', message: 'not a directory (mkdir)', path: join(dir, 'file', 'repo') });
    // A rename names both its paths in its words: said once, there.
    const moved = Object.assign(new Error("ENOENT: no such file or directory, rename '/a' -> '/b'"), { code: 'ENOENT', syscall: 'rename', path: '/a', dest: '/b' });
    assert.deepEqual(reported(moved), { code: 'E_PATH_NOT_FOUND', message: "no such file or directory, rename '/a' -> '/b'", path: undefined });
    const strata = new StrataError('E_BAD_TREE', 'folders nest too deep', { key: 'data/ab/abcd' });
    assert.equal(asReported(strata), strata);
  });

  it('each errno by the code of what to do about it; one with nothing better to do is E_IO', () => {
    const codeOf = (errno: string) => asReported(Object.assign(new Error(`${errno}: some words, open '/a/b'`), { code: errno, syscall: 'open', path: '/a/b' }))?.code;
    const expected: Record<string, string> = {
      ENOSPC: 'E_DISK_FULL', EDQUOT: 'E_DISK_FULL',
      EACCES: 'E_ACCESS_DENIED', EPERM: 'E_ACCESS_DENIED', EROFS: 'E_ACCESS_DENIED',
      ENOENT: 'E_PATH_NOT_FOUND', ENOTDIR: 'E_PATH_NOT_FOUND', EISDIR: 'E_PATH_NOT_FOUND', ELOOP: 'E_PATH_NOT_FOUND',
      EEXIST: 'E_PATH_EXISTS', ENOTEMPTY: 'E_PATH_EXISTS',
      ENAMETOOLONG: 'E_PATH_TOO_LONG',
      EMFILE: 'E_TOO_MANY_OPEN_FILES', ENFILE: 'E_TOO_MANY_OPEN_FILES',
      EIO: 'E_IO', EXDEV: 'E_IO', EBUSY: 'E_IO',
    };
    assert.deepEqual(Object.fromEntries(Object.keys(expected).map((errno) => [errno, codeOf(errno)])), expected);
  });

  it('anything else but a StrataError or a failed system call is a bug (undefined)', () => {
    assert.equal(asReported(new Error('something broke')), undefined);
    assert.equal(asReported(Object.assign(new TypeError('The "path" argument must be of type string'), { code: 'ERR_INVALID_ARG_TYPE' })), undefined);
  });
});
