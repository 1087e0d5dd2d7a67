/**
 * A layer holding paths too long to be laid under this target (past PATH_MAX: another machine's
 * root was higher up): the restore lays everything else and names those it left out.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { LONG } from '../testing/deep-tree.js';
import { restoreTree } from './index.js';
import { dir, file, link, newRepo, saveLayer, tempDir, type Spec } from './testkit.js';

const PATH_MAX = 4096;
const linuxOnly = { skip: process.platform !== 'linux' && 'PATH_MAX of 4,096 bytes is Linux' };

/** `depth` dirs named LONG in a chain, the last holding `inner`. */
function chain(depth: number, inner: Spec): Spec {
  let spec = inner;
  for (let i = 0; i < depth; i++) spec = { [LONG]: dir(spec) };
  return spec;
}

it('lays what fits under the target and leaves out, naming them, the paths past PATH_MAX there', linuxOnly, async (t) => {
  const { repo } = await newRepo();
  const spec: Spec = {
    'top.txt': file('top'),
    deep: dir({ 'near.txt': file('near'), ...chain(17, { 'end.txt': file('end'), 'end-link': link('end.txt') }) }),
    z: dir({ 'after.txt': file('after') }),
  };
  const root = await saveLayer(repo, spec);
  const target = join(await tempDir(t), 'home');
  const stats = await restoreTree(repo, { target, root });

  // The first folder of the chain that cannot be laid here, with its temp, stands for all under it.
  let fits = 0;
  const at = (n: number): string => ['deep', ...Array<string>(n).fill(LONG)].join('/');
  while (Buffer.byteLength(join(target, at(fits + 1), '.strata-tmp-0123456789abcdef')) < PATH_MAX) fits++;
  assert.ok(fits >= 1 && fits < 17);
  assert.deepEqual(stats.tooLong, [at(fits + 1)]);
  assert.equal(await readFile(join(target, 'top.txt'), 'utf8'), 'top');
  assert.equal(await readFile(join(target, 'deep/near.txt'), 'utf8'), 'near');
  assert.equal(await readFile(join(target, 'z/after.txt'), 'utf8'), 'after');
  assert.ok(existsSync(join(target, at(fits))), 'the folders that fit are laid');
  assert.equal(stats.files, 3);
  assert.equal(stats.symlinks, 0);
  assert.equal(stats.bytes, 'topnearafter'.length);

  // Again: nothing more to lay, the same left out.
  const again = await restoreTree(repo, { target, root });
  assert.deepEqual(again.tooLong, [at(fits + 1)]);
  assert.equal(again.filesSkippedComplete, 3);
});
