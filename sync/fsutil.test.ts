import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isStrataError } from './errors.js';
import { canSyncFileSystem, syncFileSystem } from './fsutil.js';

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
