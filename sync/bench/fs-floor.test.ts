import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileSystemFloor } from './fs-floor.js';

describe('fileSystemFloor', () => {
  it('writes the listed files, and only those, byte for byte under the target, and counts them', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-floor-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const root = join(dir, 'corpus');
    await mkdir(join(root, 'a/b'), { recursive: true });
    await writeFile(join(root, 'a/b/one.txt'), 'one');
    await writeFile(join(root, 'a/two.txt'), 'second file');
    await writeFile(join(root, 'big.bin'), Buffer.alloc(5000, 7));
    const files = [
      { path: 'a/b/one.txt', size: 3 },
      { path: 'a/two.txt', size: 11 },
    ];
    const target = join(dir, 'target');
    const r = await fileSystemFloor(root, files, target);
    assert.equal(r.files, 2);
    assert.equal(r.bytes, 14);
    assert.ok(r.seconds !== undefined && r.seconds >= 0);
    assert.equal(await readFile(join(target, 'a/b/one.txt'), 'utf8'), 'one');
    assert.equal(await readFile(join(target, 'a/two.txt'), 'utf8'), 'second file');
    await assert.rejects(readFile(join(target, 'big.bin')), { code: 'ENOENT' });
  });
});
