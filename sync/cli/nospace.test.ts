// A command that fails on the disk says so as the agent does (errors.ts asReported): E_DISK_FULL,
// E_ACCESS_DENIED (a read-only file system too), …, the file it names and the OS's words, never a
// raw errno code; exit 1.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import { makeRng } from '../testing/random.js';
import { fillUp, NEEDS_MOUNT, withTmpfs } from '../testing/tmpfs.js';
import { describeRun, strata, writeTree } from './testkit.js';

/** A store in a temp folder holding one snapshot of user/alice (docs/b.bin, 20,000 bytes), and the arguments that reach it. */
async function snapshotted(t: TestContext): Promise<{ tmp: string; args: (...rest: string[]) => string[] }> {
  const tmp = await mkdtemp(join(tmpdir(), 'strata-cli-nospace-'));
  t.after(() => rm(tmp, { recursive: true, force: true }));
  const args = (...rest: string[]) => ['--store', pathToFileURL(join(tmp, 'store')).href, '--device', 'laptop', ...rest];
  await writeTree(join(tmp, 'src'), { docs: { 'b.bin': makeRng(7).bytes(20_000) } });
  for (const r of [await strata(args('init')), await strata(args('snapshot', join(tmp, 'src'), '--layer', 'user/alice'))]) assert.equal(r.code, 0, describeRun(r));
  return { tmp, args };
}

describe('strata on a full disk', { skip: NEEDS_MOUNT }, () => {
  it('restore fails with E_DISK_FULL naming the file it was writing, and exit 1', async (t) => {
    const { tmp, args } = await snapshotted(t);
    const disk = join(tmp, 'disk');
    await withTmpfs(disk, '64k', async () => {
      await mkdir(join(disk, 'target'));
      await fillUp(disk);
      const r = await strata(args('restore', join(disk, 'target'), '--layer', 'user/alice'));
      assert.equal(r.code, 1, describeRun(r));
      assert.equal(r.stderr, `strata: E_DISK_FULL ${join(disk, 'target', 'docs', 'b.bin')}: no space left on device (write)\n`);
    });
  });

  it('restore --beside names the place asked for, not the temp folder it lays into', async (t) => {
    const { tmp, args } = await snapshotted(t);
    const disk = join(tmp, 'disk');
    await withTmpfs(disk, '64k', async () => {
      const target = join(disk, 'target');
      await writeTree(target, { docs: { 'b.bin': 'the current version' } });
      await fillUp(disk);
      const r = await strata(args('restore', target, '--layer', 'user/alice', '--path', 'docs/b.bin', '--beside'));
      assert.equal(r.code, 1, describeRun(r));
      assert.equal(r.stderr, `strata: E_DISK_FULL ${join(target, 'docs', 'b.bin')}: not restored beside it: no space left on device (write)\n`);
    });
  });
});

describe('strata on a read-only file system', { skip: NEEDS_MOUNT }, () => {
  it('restore fails with E_ACCESS_DENIED naming the target, and exit 1', async (t) => {
    const { tmp, args } = await snapshotted(t);
    const disk = join(tmp, 'disk');
    await withTmpfs(disk, '64k', async () => {
      await mkdir(join(disk, 'target'));
      const ro = spawnSync('mount', ['-o', 'remount,ro', disk], { encoding: 'utf8' });
      assert.equal(ro.status, 0, ro.stderr);
      const r = await strata(args('restore', join(disk, 'target'), '--layer', 'user/alice'));
      assert.equal(r.code, 1, describeRun(r));
      assert.match(r.stderr, new RegExp(`^strata: E_ACCESS_DENIED ${join(disk, 'target')}\\S*: read-only file system \\(\\w+\\)\\n$`));
    });
  });
});
