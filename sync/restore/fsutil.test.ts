// pathInside: the second guard that every path a restore writes is inside its target.
import assert from 'node:assert/strict';
import { join, sep } from 'node:path';
import { test } from 'node:test';
import { pathInside } from './fsutil.js';

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
