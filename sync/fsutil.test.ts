import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isStrataError } from './errors.js';
import { canSyncFileSystem, isErrno, makeDirs, syncFileSystem } from './fsutil.js';

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
