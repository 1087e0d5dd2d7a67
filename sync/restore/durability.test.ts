// What a restore makes durable, seen from outside: the child restore (kill-child.ts) runs under
// strace, which names the file or folder behind every fsync and syncfs. Every folder that gained an
// entry (a file, or a folder the restore created) must be durable before the restore returns, and a
// file that replaces one before its rename (index.ts, Durability): fsynced, or covered by a syncfs
// of the target's file system made after its last change. Linux with strace only; elsewhere the
// suite skips.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { DirStore } from '../store/dir.js';
import { NEEDS_STRACE, traceSyncs } from '../testing/strace.js';
import { dir, file, newRepo, saveLayer, tempDir, type Spec } from './testkit.js';
import { writeTree } from '../cli/testkit.js';

const CHILD = fileURLToPath(new URL('./kill-child.ts', import.meta.url));

/** Enough files that the restore syncs the file system as a whole (restore.ts SYNC_WHOLE_MIN_FILES), where it can. */
function many(n = 80): Spec {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}.txt`, file(`file ${i}`)]));
}

/** Whether `path` is made durable after calls[after]: an fsync of it, or a syncfs of the target's file system. */
function durableAfter(calls: readonly string[][], after: number, path: string, target: string): boolean {
  return calls.slice(after + 1).some((c) => (c[0] === 'fsync' && c[1] === path) || (c[0] === 'syncfs' && c[1] === target));
}

/** The index of the last call `pred` holds for (-1: none). */
function lastIndex(calls: readonly string[][], pred: (c: string[], i: number) => boolean): number {
  for (let i = calls.length - 1; i >= 0; i--) if (pred(calls[i]!, i)) return i;
  return -1;
}

/** The index of the last call that changed the entries of folder `dir` (a file renamed or a folder made in it). */
function lastChangeIn(calls: readonly string[][], dir: string): number {
  return lastIndex(calls, (c) => (c[0] === 'rename' && dirname(c[2]!) === dir) || (c[0] === 'mkdir' && dirname(c[1]!) === dir));
}

// Under CI=true it must run: a green CI that skipped it would prove nothing.
describe('restore: durability', { skip: NEEDS_STRACE }, () => {
  it('makes the folder that holds each folder it creates durable, not only the folders that gained files', async (t) => {
    const base = await tempDir(t, 'durable');
    const storeDir = join(base, 'store');
    await mkdir(storeDir);
    const { repo } = await newRepo({ store: new DirStore(storeDir) });
    const root = await saveLayer(repo, { docs: dir({ deep: dir({ 'f.txt': file('f') }), empty: dir({}) }) });
    const target = join(base, 'target');
    await mkdir(target);
    const { calls } = await traceSyncs(base, CHILD, [storeDir, root, target]);
    // deep gained f.txt; docs gained deep and empty; the target gained docs.
    for (const d of [join(target, 'docs/deep'), join(target, 'docs'), target]) {
      const changed = lastChangeIn(calls, d);
      assert.ok(changed >= 0, `${d} never changed: ${JSON.stringify(calls)}`);
      assert.ok(durableAfter(calls, changed, d, target), `${d} was not made durable after its last change: ${JSON.stringify(calls)}`);
    }
  });

  it('makes new files durable without an fsync each: one syncfs after the last rename covers them', async (t) => {
    const base = await tempDir(t, 'durable-many');
    const storeDir = join(base, 'store');
    await mkdir(storeDir);
    const { repo } = await newRepo({ store: new DirStore(storeDir) });
    const root = await saveLayer(repo, { docs: dir(many()), more: dir({ 'g.txt': file('g') }) });
    const target = join(base, 'target');
    await mkdir(target);
    const { calls } = await traceSyncs(base, CHILD, [storeDir, root, target]);
    const fsyncs = calls.filter((c) => c[0] === 'fsync' && c[1]!.startsWith(target));
    assert.ok(fsyncs.length < 10, `${fsyncs.length} fsyncs for 81 new files and 3 folders: ${JSON.stringify(fsyncs.slice(0, 5))}…`);
    const lastRename = lastIndex(calls, (c) => c[0] === 'rename' && c[2]!.startsWith(target));
    assert.ok(lastRename >= 0);
    for (const [i, c] of calls.entries()) {
      if (c[0] === 'rename' && c[2]!.startsWith(target)) assert.ok(durableAfter(calls, i, c[2]!, target), `${c[2]} was not made durable after its rename`);
    }
  });

  it('makes a file that replaces one durable before its rename over it', async (t) => {
    const base = await tempDir(t, 'durable-replace');
    const storeDir = join(base, 'store');
    await mkdir(storeDir);
    const { repo } = await newRepo({ store: new DirStore(storeDir) });
    const root = await saveLayer(repo, { docs: dir({ 'a.txt': file("the snapshot's"), 'b.txt': file('new here') }), more: dir(many()) });
    const target = join(base, 'target');
    await writeTree(target, { docs: { 'a.txt': 'the old version' } });
    const a = join(target, 'docs/a.txt');
    const { calls } = await traceSyncs(base, CHILD, [storeDir, root, target]);
    assert.equal(await readFile(a, 'utf8'), "the snapshot's");
    const replaced = calls.findIndex((c) => c[0] === 'rename' && c[2] === a);
    assert.ok(replaced >= 0, JSON.stringify(calls));
    const temp = calls[replaced]![1]!;
    // Its times are set last, once its bytes are written (Assembly.seal): durable after that, before the rename.
    const sealed = lastIndex(calls, (c, i) => i < replaced && c[0] === 'utime' && c[1] === temp);
    assert.ok(sealed >= 0, `the temp ${temp}'s times were not set before its rename: ${JSON.stringify(calls)}`);
    assert.ok(durableAfter(calls.slice(0, replaced), sealed, temp, target), `the temp ${temp} was not made durable between its writing and its rename over ${a}: ${JSON.stringify(calls)}`);
  });

  for (const links of [true, false]) {
    it(`keeps a replaced file's copy durable before the file is replaced${links ? '' : ', on a file system without hard links (a copy of the file)'}`, async (t) => {
      const base = await tempDir(t, 'durable-aside');
      const storeDir = join(base, 'store');
      await mkdir(storeDir);
      const { repo } = await newRepo({ store: new DirStore(storeDir) });
      const root = await saveLayer(repo, { docs: dir({ 'a.txt': file('the snapshot\'s') }), more: dir(many()) });
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
      const synced = (path: string) => before.some((c) => (c[0] === 'fsync' && c[1] === path) || (c[0] === 'syncfs' && c[1] === target));
      assert.ok(synced(docs), `${docs} was not made durable between the copy's making and the rename over the file: ${JSON.stringify(calls)}`);
      if (!links) assert.ok(synced(join(docs, copy)), `the copy ${copy} was not made durable before the rename over the file: ${JSON.stringify(calls)}`);
    });
  }
});
