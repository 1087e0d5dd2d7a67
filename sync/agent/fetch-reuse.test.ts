/**
 * A remote edit of a large file costs the chunks around the edit, not the whole file: the fetcher
 * takes the chunks the file already on the disk holds from it (verified against their ids), and
 * downloads only the rest.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { open, readFile, writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import { twoDevices } from './testkit.js';

const SIZE = 8 << 20;

async function overwrite(path: string, at: number, bytes: Buffer): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.write(bytes, 0, bytes.length, at);
  } finally {
    await fh.close();
  }
}

test('a remote edit in the middle of a large file downloads only the chunks around it', async (t) => {
  const { a, b } = await twoDevices(t, 'fetch-reuse');
  const original = randomBytes(SIZE);
  await writeFile(a.path('big.bin'), original);
  a.folder.markDirty(['big.bin']);
  await a.pass();
  const first = await b.pass();
  assert.equal(first.status, 'synced');
  if (first.status === 'synced') assert.ok(first.downloaded >= SIZE, 'the first copy is downloaded whole');

  await overwrite(a.path('big.bin'), SIZE / 2, randomBytes(4096));
  a.folder.markDirty(['big.bin']);
  await a.pass();
  const edit = await b.pass();
  assert.equal(edit.status, 'synced');
  assert.ok((await readFile(b.path('big.bin'))).equals(await readFile(a.path('big.bin'))), 'b has the edited file');
  if (edit.status === 'synced') assert.ok(edit.downloaded < SIZE / 4, `downloaded ${edit.downloaded} of ${SIZE} bytes for a 4 KiB edit`);
});
