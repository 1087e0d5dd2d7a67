import assert from 'node:assert/strict';
import { chmod, mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BEFORE_T0, newRepo, rejectsWith, T0 } from '../repo/testkit.js';
import { takeSnapshot } from './snapshot.js';
import { aheadOfDisk, listDisk, listTree, withTmp, writeFiles } from './testkit.js';
import type { SnapshotProgress } from './types.js';

const base = { layer: 'user/alice', device: 'laptop', now: () => T0 };

async function fixture(root: string): Promise<void> {
  await writeFiles(root, {
    'readme.txt': 'hello\n',
    'empty.bin': '',
    'docs/a/b/c/deep.md': '# deep\n',
    'docs/notes.txt': 'x'.repeat(70_000),
    ['caf\u00e9-nfc.txt']: 'composed',
    ['cafe\u0301-nfd.txt']: 'decomposed',
    'emoji-\u{1F600}/\u{1F4C1}.txt': 'smile',
    '日本語/ファイル.txt': 'japanese',
  }, BEFORE_T0);
  await mkdir(join(root, 'empty-dir'));
  await mkdir(join(root, 'docs/empty-nested'), { recursive: true });
  await symlink('docs/notes.txt', join(root, 'link-to-notes'));
  await symlink('../../outside', join(root, 'docs/escaping-link'));
  await symlink('does-not-exist', join(root, 'dangling'));
  await symlink('docs', join(root, 'dir-link'));
  await chmod(join(root, 'readme.txt'), 0o600);
  await chmod(join(root, 'empty-dir'), 0o750);
}

describe('takeSnapshot', () => {
  it('stores files, empty dirs, symlinks (unfollowed) and Unicode names exactly as on disk', async () => {
    await withTmp(async (root) => {
      await fixture(root);
      const { repo } = await newRepo();
      const { snapshotId, snapshot, stats } = await takeSnapshot(repo, { ...base, root });
      assert.deepEqual(await listTree(repo, snapshot.root), await listDisk(root));
      assert.equal(stats.files, 8);
      assert.equal(stats.symlinks, 4);
      assert.equal(stats.dirs, 9); // the root, docs, docs/a, docs/a/b, docs/a/b/c, docs/empty-nested, empty-dir, emoji, 日本語
      assert.deepEqual(stats.skipped, []);
      assert.deepEqual(snapshot.parents, []);
      assert.equal(snapshot.time, T0.toISOString());
      assert.deepEqual(await repo.loadSnapshot('user/alice', snapshotId), snapshot);
      const { heads } = await repo.listHeads('user/alice');
      assert.deepEqual(heads.map((h) => [h.device, h.snapshot]), [['laptop', snapshotId]]);
      // NFC and NFD spellings are different names and both survive.
      const names = (await repo.loadTree(snapshot.root)).entries.map((e) => e.name);
      assert.ok(names.includes('caf\u00e9-nfc.txt') && names.includes('cafe\u0301-nfd.txt'));
      assert.deepEqual(names, [...names].sort());
    });
  });

  it('a second snapshot without changes adds no blob, reads no file and keeps the root tree id', async () => {
    await withTmp(async (root) => {
      await fixture(root);
      const { repo } = await newRepo();
      const first = await takeSnapshot(repo, { ...base, root, now: aheadOfDisk });
      const second = await takeSnapshot(repo, { ...base, root, now: aheadOfDisk });
      assert.equal(second.snapshot.root, first.snapshot.root);
      assert.equal(second.stats.blobsAdded, 0);
      assert.equal(second.stats.bytesAdded, 0);
      assert.equal(second.stats.bytesRead, 0);
      assert.equal(second.stats.filesUnchanged, 8);
      assert.deepEqual(second.snapshot.parents, [first.snapshotId]);
      assert.equal(second.stats.bytes, first.stats.bytes);
    });
  });

  it('trusts size and mtime (stat cache): same size and mtime means the file is not read', async () => {
    await withTmp(async (root) => {
      await writeFiles(root, { 'f.txt': 'aaaa', 'g.txt': 'gggg' });
      const { repo } = await newRepo();
      const first = await takeSnapshot(repo, { ...base, root, now: aheadOfDisk });
      const mtime = new Date('2024-01-02T03:04:05.678Z');
      await utimes(join(root, 'f.txt'), mtime, mtime);
      await writeFile(join(root, 'g.txt'), 'bbbb');
      const g = join(root, 'g.txt');
      await utimes(g, mtime, mtime);
      const second = await takeSnapshot(repo, { ...base, root, now: aheadOfDisk });
      // f's mtime changed: re-read; g's content changed too, and both are stored as now on disk.
      assert.equal(second.stats.bytesRead, 8);
      assert.deepEqual(await listTree(repo, second.snapshot.root), await listDisk(root));
      // Neither changed since: the stat cache takes both from the parent.
      const third = await takeSnapshot(repo, { ...base, root, now: aheadOfDisk });
      assert.equal(third.stats.bytesRead, 0);
      assert.equal(third.snapshot.root, second.snapshot.root);
      assert.notEqual(second.snapshot.root, first.snapshot.root);
    });
  });

  it('reads again a same-size edit whose mtime was set back since the parent (touch -r, rsync -t, cp -p): its ctime is newer', async () => {
    await withTmp(async (root) => {
      await writeFiles(root, { 'f.txt': 'aaaa' }, BEFORE_T0);
      const f = join(root, 'f.txt');
      const { repo } = await newRepo();
      // The system clock, as `strata snapshot` runs: the edit below is made after this snapshot started.
      const first = await takeSnapshot(repo, { layer: 'user/alice', device: 'laptop', root });
      await writeFile(f, 'bbbb');
      await utimes(f, BEFORE_T0, BEFORE_T0);
      const second = await takeSnapshot(repo, { layer: 'user/alice', device: 'laptop', root });
      assert.deepEqual(second.snapshot.parents, [first.snapshotId]);
      assert.equal(second.stats.filesUnchanged, 0);
      assert.deepEqual(await listTree(repo, second.snapshot.root), await listDisk(root));
    });
  });

  it('does not trust a file dated within RACY_MS of the parent snapshot\'s start: it may have been rewritten in the same tick', async () => {
    await withTmp(async (root) => {
      await writeFiles(root, { 'f.txt': 'aaaa', 'old.txt': 'oooo' }, BEFORE_T0);
      const f = join(root, 'f.txt');
      const start = aheadOfDisk();
      const tick = new Date(start.getTime() - 1);
      await utimes(f, tick, tick);
      const { repo } = await newRepo();
      const first = await takeSnapshot(repo, { ...base, root, now: () => start });
      assert.equal(first.snapshot.time, start.toISOString(), 'the time is the start');
      // Rewritten at the same size in the tick the first snapshot read it in: size and mtime are as they were.
      await writeFile(f, 'bbbb');
      await utimes(f, tick, tick);
      const second = await takeSnapshot(repo, { ...base, root, now: () => new Date(start.getTime() + 60_000) });
      assert.equal(second.stats.bytesRead, 4, 'f.txt is read again, old.txt is not');
      assert.deepEqual(await listTree(repo, second.snapshot.root), await listDisk(root));
      // A minute later the same mtime lies well before the parent's start: the stat cache vouches for it.
      const third = await takeSnapshot(repo, { ...base, root, now: () => new Date(start.getTime() + 120_000) });
      assert.equal(third.stats.bytesRead, 0);
    });
  });

  it('records a mode change without re-reading the file', async () => {
    await withTmp(async (root) => {
      await writeFiles(root, { 'run.sh': '#!/bin/sh\n' });
      const { repo } = await newRepo();
      const first = await takeSnapshot(repo, { ...base, root });
      await chmod(join(root, 'run.sh'), 0o755);
      const second = await takeSnapshot(repo, { ...base, root });
      assert.notEqual(second.snapshot.root, first.snapshot.root);
      const [entry] = (await repo.loadTree(second.snapshot.root)).entries;
      assert.equal(entry?.type === 'file' && entry.mode, 0o755);
    });
  });

  it('reports progress up to all bytes done', async () => {
    await withTmp(async (root) => {
      await fixture(root);
      const { repo } = await newRepo();
      const seen: SnapshotProgress[] = [];
      const { stats } = await takeSnapshot(repo, { ...base, root, onProgress: (p) => seen.push(p) });
      const last = seen.at(-1);
      assert.ok(last);
      assert.equal(last.files, stats.files);
      assert.equal(last.bytes, stats.bytes);
      assert.equal(last.bytesDone, stats.bytes);
      assert.ok(seen.every((p) => p.bytesDone <= p.bytes || p.bytes === 0));
    });
  });

  it('leaves out excluded entries without reporting them', async () => {
    await withTmp(async (root) => {
      await writeFiles(root, { 'keep.txt': 'k', 'x.tmp': 't', 'cache/big.bin': 'b', 'sub/cache': 'a file named cache' });
      const { repo } = await newRepo();
      const calls: [string, boolean][] = [];
      const exclude = (rel: string, isDir: boolean) => {
        calls.push([rel, isDir]);
        return rel.endsWith('.tmp') || (isDir && rel === 'cache');
      };
      const { snapshot, stats } = await takeSnapshot(repo, { ...base, root, exclude });
      assert.deepEqual(Object.keys(await listTree(repo, snapshot.root)).sort(), ['keep.txt', 'sub', 'sub/cache']);
      assert.deepEqual(stats.skipped, []);
      assert.ok(calls.some(([rel, isDir]) => rel === 'sub/cache' && !isDir));
    });
  });

  it('fails with E_NO_ROOT naming the path when the root is missing or not a directory', async () => {
    await withTmp(async (dir) => {
      const { repo } = await newRepo();
      const missing = join(dir, 'nope');
      const err = await rejectsWith(takeSnapshot(repo, { ...base, root: missing }), 'E_NO_ROOT');
      assert.equal(err.path, missing);
      await writeFile(join(dir, 'file'), 'x');
      await rejectsWith(takeSnapshot(repo, { ...base, root: join(dir, 'file') }), 'E_NO_ROOT');
      const { heads } = await repo.listHeads('user/alice');
      assert.deepEqual(heads, []);
    });
  });

  it('refuses a bad layer or device id before touching the store', async () => {
    await withTmp(async (root) => {
      const { repo } = await newRepo();
      await rejectsWith(takeSnapshot(repo, { ...base, root, layer: 'alice' }), 'E_BAD_LAYER');
      await rejectsWith(takeSnapshot(repo, { ...base, root, device: '../x' }), 'E_BAD_DEVICE');
      assert.equal(repo.stats.puts, 0);
    });
  });
});
