// What a restore makes durable, seen from outside: the child restore (kill-child.ts) runs under
// strace, which names the folder behind every fsync. Every folder that gained an entry (a file,
// or a folder the restore created) must be fsynced before the restore returns (index.ts).
// Linux with strace only; elsewhere the suite skips.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { DirStore } from '../store/dir.js';
import { NEEDS_STRACE, traceSyncs } from '../testing/strace.js';
import { dir, file, newRepo, saveLayer, tempDir } from './testkit.js';

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
});
