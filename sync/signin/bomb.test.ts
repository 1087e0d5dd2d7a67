import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStrataError } from '../errors.js';
import { newRepo } from '../repo/testkit.js';
import { FORMAT_VERSION, type BlobId, type TreeEntry } from '../repo/types.js';
import { readLayerStack } from './layers.js';

test('a user layer of shared subtrees naming 2^23 paths is refused before anything walks its paths', async () => {
  const { repo } = await newRepo();
  const dir = (name: string, subtree: BlobId): TreeEntry => ({ name, type: 'dir', mode: 0o755, mtimeMs: 1_700_000_000_000, subtree });
  let root = await repo.saveTree({ entries: [{ name: 'f', type: 'symlink', mtimeMs: 0, target: 'x' }] });
  for (let i = 0; i < 23; i++) root = await repo.saveTree({ entries: [dir('a', root), dir('b', root)] });
  await repo.flush();
  const id = await repo.saveSnapshot({ version: FORMAT_VERSION, layer: 'user/alice', device: 'hostile', time: '2024-05-01T10:00:00.000Z', root, parents: [] });
  await repo.writeHead('user/alice', 'hostile', id, '2024-05-01T10:00:00.000Z');
  // Each path walked is one look-up in the tree map: stop a walk of millions early, as a failure.
  const get = Map.prototype.get;
  let calls = 0;
  Map.prototype.get = function (this: Map<unknown, unknown>, key: unknown) {
    if (++calls > 1_000_000) throw new Error('the tree was expanded path by path');
    return get.call(this, key);
  };
  try {
    await assert.rejects(readLayerStack(repo, 'alice'), (e) => isStrataError(e, 'E_BAD_TREE'));
  } finally {
    Map.prototype.get = get;
  }
});
