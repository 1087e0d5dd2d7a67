/**
 * A download of a large file cut off by the process's death resumes: the next pass takes the
 * chunks the killed pass had written into its temp file (verified against their ids), downloads
 * only the rest, and removes that temp.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import { TEMP_PREFIX } from '../fsutil.js';
import { killableDevices } from './testkit.js';

const SIZE = 32 << 20;

test('a large new file whose download a killed pass cut off is not downloaded again from zero', async (t) => {
  const { a, b, killedPass, reopen } = await killableDevices(t, 'fetch-resume');
  const bytes = randomBytes(SIZE);
  await writeFile(b.path('big.bin'), bytes);
  b.folder.markDirty(['big.bin']);
  assert.equal((await b.pass()).status, 'synced');
  await killedPass(`fetched:${SIZE / 2}`);
  assert.ok((await readdir(a.root)).some((n) => n.startsWith(TEMP_PREFIX)), 'the killed pass left its temp');
  await reopen();
  const next = await a.pass();
  assert.equal(next.status, 'synced');
  assert.ok((await readFile(a.path('big.bin'))).equals(bytes), 'a has the file');
  if (next.status === 'synced') assert.ok(next.downloaded < (SIZE * 3) / 4, `downloaded ${next.downloaded} of ${SIZE} bytes after half of them were fetched`);
  assert.deepEqual(await readdir(a.root), ['big.bin'], 'no temp is left');
});

test('the temp of a cut-off download is not forgotten when the agent dies again before the pass that would take it', async (t) => {
  const { a, b, killedPass, reopen } = await killableDevices(t, 'fetch-reseed');
  const bytes = randomBytes(SIZE);
  await mkdir(b.path('sub'));
  await writeFile(b.path('sub/big.bin'), bytes);
  b.folder.markDirty(['sub', 'sub/big.bin']);
  assert.equal((await b.pass()).status, 'synced');
  await killedPass(`fetched:${SIZE / 2}`);
  assert.ok((await readdir(a.path('sub'))).some((n) => n.startsWith(TEMP_PREFIX)), 'the killed pass left its temp');
  // Its recovery keeps the temp as a seed; the agent is stopped before any pass, then starts again.
  await reopen();
  await a.restart({});
  const next = await a.pass();
  assert.equal(next.status, 'synced');
  assert.ok((await readFile(a.path('sub/big.bin'))).equals(bytes), 'a has the file');
  if (next.status === 'synced') assert.ok(next.downloaded < (SIZE * 3) / 4, `downloaded ${next.downloaded} of ${SIZE} bytes after half of them were fetched`);
  assert.deepEqual(await readdir(a.path('sub')), ['big.bin'], 'no temp is left');
});
