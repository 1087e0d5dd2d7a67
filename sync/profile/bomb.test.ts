import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { keysUnder, newRepo, rejectsWith, saveBombLayer, withoutPathWalk } from '../repo/testkit.js';
import { preloadUserLayer } from './index.js';

test('preloading over a user layer of shared subtrees (2^23 paths) refuses it as the sync engine does, without expanding it path by path', async (t) => {
  const { repo, store } = await newRepo();
  await saveBombLayer(repo, 'user/alice', 23);
  const template = await mkdtemp(join(tmpdir(), 'strata-preload-bomb-'));
  t.after(() => rm(template, { recursive: true, force: true }));
  await writeFile(join(template, 'welcome.txt'), 'welcome');
  // The preload merges on flat trees, as a device does; no device can sync such a layer either.
  await withoutPathWalk(() => rejectsWith(preloadUserLayer(repo, 'alice', { from: template }), 'E_BAD_TREE'));
  assert.deepEqual(await keysUnder(store, 'layers/user/alice/heads/'), ['layers/user/alice/heads/hostile']);
});
