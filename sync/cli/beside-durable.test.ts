// What `strata restore --beside` makes durable, seen through strace (sync/testing/strace.ts): the
// move of the restored version out of its temp folder to its `.restored-` name must reach the disk
// before the command says where it put it, or a power loss could leave it back in the temp folder,
// which the next restore removes as a leftover.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NEEDS_STRACE, traceSyncs } from '../testing/strace.js';
import { cleanEnv, describeRun, strata, writeTree } from './testkit.js';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

describe('strata restore --beside: durability', { skip: NEEDS_STRACE }, () => {
  let tmp: string;
  let work: string;
  let store: string;
  let first: string;
  const args = (...rest: string[]) => ['--store', store, '--device', 'laptop', ...rest];

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'strata-beside-durable-'));
    work = join(tmp, 'work');
    store = pathToFileURL(join(tmp, 'store')).href;
    await writeTree(work, { docs: { 'report.txt': 'version 1', 'old.txt': 'old' }, gone: { sub: { 'g.txt': 'deleted since' } } });
    assert.equal((await strata(args('init'))).code, 0);
    const r = await strata(args('snapshot', work, '--layer', 'user/alice', '--json'));
    assert.equal(r.code, 0, describeRun(r));
    first = JSON.parse(r.stdout).snapshot;
    await writeFile(join(work, 'docs', 'report.txt'), 'version 2');
    await rm(join(work, 'gone'), { recursive: true });
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  for (const path of ['docs/report.txt', 'docs']) {
    it(`makes the folder it moved the restored ${path === 'docs' ? 'folder' : 'file'} into durable after the move`, async () => {
      const { calls, stdout } = await traceSyncs(tmp, MAIN, args('restore', work, '--layer', 'user/alice', '--snapshot', first, '--path', path, '--beside', '--json'), cleanEnv());
      const placed = join(work, JSON.parse(stdout).restoredAs);
      // Moved by a rename, or a file by a hard link (fsutil.ts renameNoReplace).
      const moved = calls.findIndex((c) => (c[0] === 'rename' || c[0] === 'link') && c[2] === placed);
      assert.ok(moved >= 0, `no move to ${placed}: ${JSON.stringify(calls)}`);
      const folder = dirname(placed);
      assert.ok(calls.slice(moved + 1).some((c) => (c[0] === 'fsync' && c[1] === folder) || c[0] === 'syncfs'), `${folder} was not made durable after the move: ${JSON.stringify(calls.slice(moved))}`);
    });
  }

  it('makes each folder it created on the way to the restored version durable in its parent', async () => {
    const { calls, stdout } = await traceSyncs(tmp, MAIN, args('restore', work, '--layer', 'user/alice', '--snapshot', first, '--path', 'gone/sub/g.txt', '--beside', '--json'), cleanEnv());
    assert.equal(JSON.parse(stdout).restoredAs.split('/').slice(0, 2).join('/'), 'gone/sub');
    for (const made of [join(work, 'gone'), join(work, 'gone/sub')]) {
      const at = calls.findIndex((c) => c[0] === 'mkdir' && c[1] === made);
      assert.ok(at >= 0, `${made} was not made: ${JSON.stringify(calls)}`);
      const parent = dirname(made);
      assert.ok(calls.slice(at + 1).some((c) => (c[0] === 'fsync' && c[1] === parent) || c[0] === 'syncfs'), `${parent} was not made durable after ${made} was made in it: ${JSON.stringify(calls.slice(at))}`);
    }
  });
});
