// pathInside: the second guard that every path a restore writes is inside its target; listDirs.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { test } from 'node:test';
import { listDirs, pathInside } from './fsutil.js';

test('pathInside joins plain relative paths and refuses any that could leave the target', () => {
  const target = join(sep, 'home', 'alice');
  assert.equal(pathInside(target, ''), target);
  assert.equal(pathInside(target, 'Documents/a.txt'), join(target, 'Documents', 'a.txt'));
  assert.equal(pathInside(target, '.config/..app/x..y'), join(target, '.config', '..app', 'x..y'));
  assert.equal(pathInside(sep, 'etc'), join(sep, 'etc'));
  for (const rel of ['..', '../x', 'a/..', 'a/../../b', '.', './a', 'a/./b', '/etc/passwd', 'a//b', 'a/', 'a\0b']) {
    assert.throws(() => pathInside(target, rel), (err: Error & { code?: string }) => err.code === 'E_BAD_PATH', rel);
  }
});

test('listDirs lists each folder with its entries\' own types; a folder gone or a file lists nothing', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'strata-listdirs-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'a', 'sub'), { recursive: true });
  await writeFile(join(root, 'a', 'f'), 'x');
  await symlink(join(root, 'a'), join(root, 'a', 'link'));
  await mkdir(join(root, 'b'));
  const listed = await listDirs([join(root, 'a'), join(root, 'b'), join(root, 'gone'), join(root, 'a', 'f')], 2);
  const kinds = (listed.get(join(root, 'a')) ?? []).map((e) => `${e.name}:${e.isDirectory() ? 'dir' : e.isSymbolicLink() ? 'link' : 'file'}`).sort();
  assert.deepEqual(kinds, ['f:file', 'link:link', 'sub:dir']);
  assert.deepEqual(listed.get(join(root, 'b')), []);
  assert.deepEqual(listed.get(join(root, 'gone')), []);
  assert.deepEqual(listed.get(join(root, 'a', 'f')), []);
});
