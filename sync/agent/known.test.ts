import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { LAST_SYNC_FILE, readLastSync, writeLastSync } from './known.js';
import { tempRoot } from './testkit.js';

test('the last sync saved in a state dir reads back; a missing or damaged file is an unknown time, not a failure', async (t) => {
  const dir = await tempRoot(t, 'known');
  assert.equal(await readLastSync(dir), undefined);
  await writeLastSync(dir, '2026-12-05T10:00:00.000Z');
  assert.equal(await readLastSync(dir), '2026-12-05T10:00:00.000Z');
  for (const text of ['', '{', 'null', '{"lastSync":"yesterday"}', '{"lastSync":7}']) {
    await writeFile(join(dir, LAST_SYNC_FILE), text);
    assert.equal(await readLastSync(dir), undefined, text);
  }
});
