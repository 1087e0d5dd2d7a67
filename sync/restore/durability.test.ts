// What a restore makes durable, seen from outside: the child restore (kill-child.ts) runs under
// strace, which names the folder behind every fsync. Every folder that gained an entry (a file,
// or a folder the restore created) must be fsynced before the restore returns (index.ts).
// Linux with strace only; elsewhere the suite skips.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { DirStore } from '../store/dir.js';
import { NEEDS_STRACE, traceSyncs } from '../testing/strace.js';
import { dir, file, newRepo, saveLayer, tempDir } from './testkit.js';
import { writeTree } from '../cli/testkit.js';

const CHILD = fileURLToPath(new URL('./kill-child.ts', import.meta.url));

// Under CI=true it must run: a green CI that skipped it would prove nothing.
describe('restore: durability', { skip: NEEDS_STRACE }, () => {
  it('fsyncs the folder that holds each folder it creates, not only the folders that gained files', async (t) => {
    const base = await tempDir(t, 'durable');
    const storeDir = join(base, 'store');
    await mkdir(storeDir);
    const { repo } = await newRepo({ store: new DirStore(storeDir) });
    const root = await saveLayer(repo, { docs: dir({ deep: dir({ 'f.txt': file('f') }), empty: dir({}) }) });
    const target = join(base, 'target');
    await mkdir(target);
    const { calls } = await traceSyncs(base, CHILD, [storeDir, root, target]);
    const synced = new Set(calls.filter((c) => c[0] === 'fsync').map((c) => c[1]));
    // deep gained f.txt; docs gained deep and empty; the target gained docs.
    for (const d of [join(target, 'docs/deep'), join(target, 'docs'), target]) assert.ok(synced.has(d), `${d} was never fsynced`);
  });

  for (const links of [true, false]) {
    it(`keeps a replaced file's copy durable before the file is replaced${links ? '' : ', on a file system without hard links (a copy of the file)'}`, async (t) => {
      const base = await tempDir(t, 'durable-aside');
      const storeDir = join(base, 'store');
      await mkdir(storeDir);
      const { repo } = await newRepo({ store: new DirStore(storeDir) });
      const root = await saveLayer(repo, { docs: dir({ 'a.txt': file('the snapshot\'s') }) });
      const target = join(base, 'target');
      await writeTree(target, { docs: { 'a.txt': 'mine, never synced' } });
      const docs = join(target, 'docs');
      const { calls } = await traceSyncs(base, CHILD, [storeDir, root, target, 'aside'], process.env, links ? undefined : { syscalls: ['link', 'linkat'], errno: 'EPERM' });
      const copy = (await readdir(docs)).find((n) => n.includes('sync-conflict'));
      assert.ok(copy, `no copy in ${JSON.stringify(await readdir(docs))}`);
      assert.equal(await readFile(join(docs, copy), 'utf8'), 'mine, never synced');
      const replaced = calls.findIndex((c) => c[0] === 'rename' && c[2] === join(docs, 'a.txt'));
      assert.ok(replaced >= 0, JSON.stringify(calls));
      const before = calls.slice(0, replaced);
      assert.ok(before.some((c) => c[0] === 'fsync' && c[1] === docs), `${docs} was not fsynced between the copy's making and the rename over the file: ${JSON.stringify(calls)}`);
      if (!links) assert.ok(before.some((c) => c[0] === 'fsync' && c[1] === join(docs, copy)), `the copy ${copy} was not fsynced before the rename over the file: ${JSON.stringify(calls)}`);
    });
  }
});
