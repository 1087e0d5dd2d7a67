// Entries that cannot go into a tree as they are: special files, refused names, unreadable
// folders. Each must be reported in `skipped`, never dropped silently, and never break the tree.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { newRepo, rejectsWith, T0 } from '../repo/testkit.js';
import { rerunAsOrdinaryUser } from '../testing/userns.js';
import { takeSnapshot } from './snapshot.js';
import { listTree, withTmp, writeFiles } from './testkit.js';

const base = { layer: 'user/alice', device: 'laptop', now: () => T0 };
const posix = process.platform !== 'win32';

function byPath(skipped: { path: string; reason: string }[]): Record<string, string> {
  return Object.fromEntries(skipped.map((s) => [s.path, s.reason]));
}

describe('takeSnapshot: special entries', () => {
  it('skips and reports a FIFO and a socket', { skip: !posix && 'needs mkfifo and unix sockets' }, async () => {
    await withTmp(async (root) => {
      await writeFiles(root, { 'ok.txt': 'ok' });
      await mkdir(join(root, 'run'));
      execFileSync('mkfifo', [join(root, 'run/pipe')]);
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(join(root, 'run/agent.sock'), resolve));
      try {
        const { repo } = await newRepo();
        const { snapshot, stats } = await takeSnapshot(repo, { ...base, root });
        const skipped = byPath(stats.skipped);
        assert.deepEqual(Object.keys(skipped).sort(), ['run/agent.sock', 'run/pipe']);
        assert.match(skipped['run/pipe'] ?? '', /FIFO/);
        assert.match(skipped['run/agent.sock'] ?? '', /socket/);
        assert.deepEqual(Object.keys(await listTree(repo, snapshot.root)), ['ok.txt', 'run']);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });

  it('skips and reports names the tree validator would refuse, keeping the tree readable', { skip: !posix && 'such names cannot be created here' }, async () => {
    await withTmp(async (root) => {
      const bad = ['con.txt', 'NUL', 'tab\there', 'bell\u0007', 'dot.', 'space ', 'back\\slash', 'c:drive'];
      for (const name of bad) await writeFile(join(root, name), 'x');
      await mkdir(join(root, 'aux'));
      await writeFile(join(root, 'aux/inside.txt'), 'hidden with its folder');
      await symlink('ok.txt', join(root, 'lpt1'));
      await writeFiles(root, { 'ok.txt': 'ok', 'sub/fine.txt': 'fine' });
      const { repo } = await newRepo();
      const { snapshot, stats } = await takeSnapshot(repo, { ...base, root });
      const skipped = byPath(stats.skipped);
      assert.deepEqual(Object.keys(skipped).sort(), [...bad, 'aux', 'lpt1'].sort());
      assert.match(skipped['con.txt'] ?? '', /reserved device name on Windows/);
      assert.match(skipped['tab\there'] ?? '', /control character/);
      assert.deepEqual(Object.keys(await listTree(repo, snapshot.root)), ['ok.txt', 'sub', 'sub/fine.txt']);
    });
  });

  it('skips and reports names and symlink targets that are not UTF-8', { skip: process.platform !== 'linux' && 'only Linux allows such names' }, async () => {
    await withTmp(async (root) => {
      await writeFiles(root, { 'ok.txt': 'ok' });
      await writeFile(Buffer.concat([Buffer.from(`${root}/latin1-`), Buffer.from([0xe9]), Buffer.from('.txt')]), 'x');
      await symlink(Buffer.from([0x66, 0xff]), join(root, 'odd-link'));
      const { repo } = await newRepo();
      const { snapshot, stats } = await takeSnapshot(repo, { ...base, root });
      assert.deepEqual(stats.skipped.map((s) => s.reason).sort(), ['name is not valid UTF-8', 'symlink target is not valid UTF-8']);
      assert.ok(stats.skipped.some((s) => s.path.startsWith('latin1-')));
      assert.deepEqual(Object.keys(await listTree(repo, snapshot.root)), ['ok.txt']);
    });
  });

  it('reports an unreadable folder and keeps its parent version; an unreadable root is E_NO_ROOT', { skip: !posix && 'permissions do not apply on Windows' }, async (t) => {
    if (await rerunAsOrdinaryUser(t, import.meta.url)) return;
    await withTmp(async (dir) => {
      await writeFiles(dir, { 'private/secret.txt': 's', 'public.txt': 'p' });
      const { repo } = await newRepo();
      const first = await takeSnapshot(repo, { ...base, root: dir });
      await chmod(join(dir, 'private'), 0o000);
      try {
        const second = await takeSnapshot(repo, { ...base, root: dir });
        assert.deepEqual(second.stats.skipped.map((s) => s.path), ['private']);
        assert.match(second.stats.skipped[0]?.reason ?? '', /EACCES.*kept the version/);
        assert.deepEqual(await listTree(repo, second.snapshot.root), await listTree(repo, first.snapshot.root));
        await chmod(dir, 0o000);
        const err = await rejectsWith(takeSnapshot(repo, { ...base, root: dir }), 'E_NO_ROOT');
        assert.equal(err.path, dir);
      } finally {
        await chmod(dir, 0o755);
        await chmod(join(dir, 'private'), 0o755);
      }
    });
  });
});
