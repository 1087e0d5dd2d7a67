import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { entryNameProblem, isDeviceId, isLayerId } from './names.js';

describe('entry names', () => {
  it('accepts ordinary names from every platform', () => {
    for (const name of ['a', '.bashrc', 'Ünïcødé 文件.txt', 'ab:c', 'console', 'CON1', 'what?.txt', '...x', 'x'.repeat(255), '😀']) {
      assert.equal(entryNameProblem(name), undefined, name);
    }
  });

  it('refuses names that are unsafe somewhere', () => {
    for (const name of ['', '.', '..', 'a/b', 'a\\b', 'a\u0000', '\u007f', 'c:', 'NUL', 'nul.tar.gz', 'Com9', 'x.', 'x ', 'x'.repeat(256), '\ud800']) {
      assert.notEqual(entryNameProblem(name), undefined, JSON.stringify(name));
    }
  });
});

describe('layer and device ids', () => {
  it('accepts user/<id> and org/<name> with a safe charset', () => {
    for (const id of ['user/alice', 'user/alice@example.com', 'org/finance', 'org/a-b_c.d']) assert.ok(isLayerId(id), id);
    for (const id of ['alice', 'user/', 'user/a/b', 'org/..', 'org/.x', 'group/x', 'user/a b', `user/${'x'.repeat(129)}`]) assert.ok(!isLayerId(id), id);
  });
  it('accepts simple device ids', () => {
    for (const id of ['pc1', 'LAPTOP-42', 'vdi.pool_3']) assert.ok(isDeviceId(id), id);
    for (const id of ['', '.', '..', 'a/b', '-x', 'a\u0000']) assert.ok(!isDeviceId(id), id);
  });
});
