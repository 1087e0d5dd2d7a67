import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { newRepo, saveBombLayer, withoutPathWalk } from '../repo/testkit.js';
import { preloadUserLayer } from './index.js';

test('preloading over a user layer of shared subtrees (2^23 paths) counts each distinct subtree once', async (t) => {
  const { repo } = await newRepo();
  await saveBombLayer(repo, 'user/alice', 23);
  const template = await mkdtemp(join(tmpdir(), 'strata-preload-bomb-'));
  t.after(() => rm(template, { recursive: true, force: true }));
  await writeFile(join(template, 'welcome.txt'), 'welcome');
  const r = await withoutPathWalk(() => preloadUserLayer(repo, 'alice', { from: template }));
  assert.equal(r.snapshot.summary?.files, 1);
  assert.equal(r.snapshot.summary?.dirs, 2 ** 24 - 1, 'the root and every folder the layer names');
});
