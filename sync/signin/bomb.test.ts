import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStrataError } from '../errors.js';
import { newRepo, saveBombLayer, withoutPathWalk } from '../repo/testkit.js';
import { readLayerStack } from './layers.js';

test('a user layer of shared subtrees naming 2^23 paths is refused before anything walks its paths', async () => {
  const { repo } = await newRepo();
  await saveBombLayer(repo, 'user/alice', 23, 1_700_000_000_000);
  await withoutPathWalk(() => assert.rejects(readLayerStack(repo, 'alice'), (e) => isStrataError(e, 'E_BAD_TREE')));
});
