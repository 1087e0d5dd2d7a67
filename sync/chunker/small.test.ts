import assert from 'node:assert/strict';
import { lstat, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { readSmall } from './small.js';

test('readSmall does not take a file rewritten since it was listed, same size and its mtime set back (touch -r, rsync -t), for the listed one', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-small-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'doc.txt');
  const then = new Date('2024-05-01T09:00:00.000Z');
  await writeFile(path, 'version one');
  await utimes(path, then, then);
  const listed = await lstat(path);
  assert.equal(readSmall(path, listed)?.toString(), 'version one');
  await writeFile(path, 'version two');
  // Setting the mtime back leaves only the ctime to show the write: wait for it to have moved.
  while ((await lstat(path)).ctimeMs === listed.ctimeMs) await sleep(1).then(() => utimes(path, then, then));
  await utimes(path, then, then);
  const now = await lstat(path);
  assert.deepEqual([now.ino, now.size, now.mtimeMs], [listed.ino, listed.size, listed.mtimeMs], 'the same inode, size and mtime');
  assert.equal(readSmall(path, listed), undefined);
  assert.equal(readSmall(path, now)?.toString(), 'version two');
});
