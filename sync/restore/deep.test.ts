/**
 * A layer holding paths too long to be laid under this target (past PATH_MAX: another machine's
 * root was higher up): the restore lays everything else and names those it left out.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { fitsHere, TEMP_NAME_BYTES, TempNames } from '../fsutil.js';
import { LONG } from '../testing/deep-tree.js';
import { Assembly } from './assembly.js';
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
  while (Buffer.byteLength(join(target, at(fits + 1), 't'.repeat(TEMP_NAME_BYTES))) < PATH_MAX) fits++;
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

it('lays a file whose folder leaves just room for a temp name, however many files the restore made before', linuxOnly, async (t) => {
  // A folder whose path leaves room for one temp name of the length fitsHere counts, and no more.
  let folder = await tempDir(t);
  const room = PATH_MAX - 1 - TEMP_NAME_BYTES - 1;
  while (Buffer.byteLength(folder) < room) folder = join(folder, 'd'.repeat(Math.min(200, room - Buffer.byteLength(folder) - 1)));
  assert.equal(Buffer.byteLength(folder), room);
  await mkdir(folder, { recursive: true });
  const path = join(folder, 'f');
  assert.ok(fitsHere(path));
  // The 46,657th file of a restore, and one far later: the names made before do not lengthen the next.
  for (const made of [46_656, 2 ** 40]) {
    const assembly = new Assembly(undefined, { mode: 'each' }, new TempNames(made));
    const data = new TextEncoder().encode(`file ${made}`);
    const entry = { mode: 0o644, mtimeMs: Date.now(), size: data.byteLength, chunks: [] };
    assert.equal(assembly.writeWhole({ rel: 'f', path, entry, chunks: [] }, data), true);
    assert.equal(await readFile(path, 'utf8'), `file ${made}`);
  }
});
