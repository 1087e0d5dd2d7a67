// readLayerStack's reads: the user layer's heads are listed once, for its latest snapshot and for
// this device's own head (the trees it may still show).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openRepository } from '../repo/index.js';
import { newRepo, saveBombLayer } from '../repo/testkit.js';
import { keys } from '../repo/types.js';
import { ForwardingStore } from '../store/forwarding.js';
import type { ListOptions, ObjectInfo } from '../store/index.js';
import { readLayerStack } from './layers.js';

class ListCounting extends ForwardingStore {
  readonly lists: string[] = [];

  override list(prefix: string, opts?: ListOptions): AsyncIterable<ObjectInfo> {
    this.lists.push(prefix);
    return super.list(prefix, opts);
  }
}

test('the user layer\'s heads are listed once, for its latest snapshot and this device\'s own head', async () => {
  const { store, repo } = await newRepo();
  await saveBombLayer(repo, 'user/alice', 2);
  const counting = new ListCounting(store);
  const stack = await readLayerStack(await openRepository(counting), 'alice', { device: 'hostile' });
  assert.equal(stack.user?.layer, 'user/alice');
  assert.deepEqual(counting.lists.filter((p) => p === keys.heads('user/alice')), [keys.heads('user/alice')]);
});
