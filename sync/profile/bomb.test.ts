import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { newRepo } from '../repo/testkit.js';
import { FORMAT_VERSION, type BlobId, type TreeEntry } from '../repo/types.js';
import { preloadUserLayer } from './index.js';

test('preloading over a user layer of shared subtrees (2^23 paths) counts each distinct subtree once', async (t) => {
  const { repo } = await newRepo();
  const dir = (name: string, subtree: BlobId): TreeEntry => ({ name, type: 'dir', mode: 0o755, mtimeMs: 0, subtree });
  let root = await repo.saveTree({ entries: [{ name: 'f', type: 'symlink', mtimeMs: 0, target: 'x' }] });
  for (let i = 0; i < 23; i++) root = await repo.saveTree({ entries: [dir('a', root), dir('b', root)] });
  await repo.flush();
  const id = await repo.saveSnapshot({ version: FORMAT_VERSION, layer: 'user/alice', device: 'hostile', time: '2024-05-01T10:00:00.000Z', root, parents: [] });
  await repo.writeHead('user/alice', 'hostile', id, '2024-05-01T10:00:00.000Z');
  const template = await mkdtemp(join(tmpdir(), 'strata-preload-bomb-'));
  t.after(() => rm(template, { recursive: true, force: true }));
  await writeFile(join(template, 'welcome.txt'), 'welcome');
  // Each path walked is one look-up in the tree map: stop a walk of millions early, as a failure.
  const get = Map.prototype.get;
  let calls = 0;
  Map.prototype.get = function (this: Map<unknown, unknown>, key: unknown) {
    if (++calls > 1_000_000) throw new Error('the tree was expanded path by path');
    return get.call(this, key);
  };
  let r;
  try {
    r = await preloadUserLayer(repo, 'alice', { from: template });
  } finally {
    Map.prototype.get = get;
  }
  assert.equal(r.snapshot.summary?.files, 1);
  assert.equal(r.snapshot.summary?.dirs, 2 ** 24 - 1, 'the root and every folder the layer names');
});
