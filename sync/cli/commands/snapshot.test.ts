// `strata snapshot` builds on this device's last snapshot: what it records must be the folder as
// it is, also where a same-size edit kept the file's mtime (touch -r, rsync -t, cp -p, tar x).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { describeRun, strata } from '../testkit.js';

it('a second snapshot records a same-size edit whose mtime was set back since the first', async () => {
  const tmp = await mkdtemp(join(tmpdir(), 'strata-snapshot-'));
  try {
    const src = join(tmp, 'src');
    const cli = (...args: string[]) => strata(['--store', pathToFileURL(join(tmp, 'repo')).href, '--device', 'desk', ...args]);
    assert.equal((await cli('init')).code, 0);
    await mkdir(src);
    const f = join(src, 'notes.txt');
    const then = new Date('2024-05-01T09:00:00.000Z');
    await writeFile(f, 'version 1\n');
    await utimes(f, then, then);
    const first = await cli('snapshot', src, '--layer', 'user/alice');
    assert.equal(first.code, 0, describeRun(first));
    await writeFile(f, 'version 2\n');
    await utimes(f, then, then);
    const second = await cli('snapshot', src, '--layer', 'user/alice', '--json');
    assert.equal(second.code, 0, describeRun(second));
    assert.equal(JSON.parse(second.stdout).filesUnchanged, 0);
    const target = join(tmp, 'restored');
    const restored = await cli('restore', target, '--layer', 'user/alice');
    assert.equal(restored.code, 0, describeRun(restored));
    assert.equal(await readFile(join(target, 'notes.txt'), 'utf8'), 'version 2\n');
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});
