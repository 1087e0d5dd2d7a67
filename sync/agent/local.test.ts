import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { contentKey } from '../plan/index.js';
import { openFileIndex, type IndexEntry } from '../state/index.js';
import { makeExcluder } from '../watch/index.js';
import { LocalTree } from './local.js';

const file = (...chunks: string[]): IndexEntry => ({ type: 'file', size: chunks.length, mtimeMs: 1000, mode: 0o644, chunks });

/** What chunksByContent must give: every file entry's content key and chunk list. */
function expected(tree: LocalTree): Map<string, readonly string[]> {
  const out = new Map<string, readonly string[]>();
  for (const p of tree.paths()) {
    const chunks = tree.get(p)?.chunks;
    if (chunks !== undefined) out.set(contentKey(chunks), chunks);
  }
  return out;
}

function chunksOf(tree: LocalTree): Map<string, readonly string[]> {
  const out = new Map<string, readonly string[]>();
  tree.chunksByContent(out);
  return out;
}

test('the chunk list of each content the local tree holds follows its files as they are set, replaced and removed, and a reload', async (t) => {
  const state = await mkdtemp(join(tmpdir(), 'strata-local-'));
  const index = await openFileIndex(state, 'statcache');
  t.after(async () => {
    await index.close();
    await rm(state, { recursive: true, force: true });
  });
  const tree = new LocalTree(state, index, makeExcluder());
  tree.set('d', { type: 'dir', size: 0, mtimeMs: 0, mode: 0o755 });
  tree.set('d/a', file('a1', 'a2'));
  tree.set('d/copy', file('a1', 'a2'));
  tree.set('b', file('b1'));
  await tree.commit();
  assert.deepEqual(chunksOf(tree), expected(tree));
  assert.equal(chunksOf(tree).size, 2, 'a content two files hold, once');

  tree.remove('d/copy');
  assert.deepEqual(chunksOf(tree), expected(tree), 'the other file still holds it');
  tree.set('b', file('b2'));
  assert.deepEqual(chunksOf(tree), expected(tree), 'an edit drops the old content');
  tree.set('b', { type: 'symlink', size: 0, mtimeMs: 0, mode: 0o777, target: 'd/a' });
  tree.remove('d');
  assert.deepEqual(chunksOf(tree), new Map(), 'a file replaced by a link, and a dir removed with what it held');

  await tree.reload();
  assert.deepEqual(chunksOf(tree), expected(tree), 'a reload goes back to what was committed');
  assert.equal(chunksOf(tree).size, 2);
});
