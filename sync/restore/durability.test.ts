// What a restore makes durable, seen from outside: the child restore (kill-child.ts) runs under
// strace, which names the folder behind every fsync. Every folder that gained an entry (a file,
// or a folder the restore created) must be fsynced before the restore returns (index.ts).
// Linux with strace only; elsewhere the suite skips.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { DirStore } from '../store/dir.js';
import { dir, file, newRepo, saveLayer, tempDir } from './testkit.js';

const CHILD = fileURLToPath(new URL('./kill-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const hasStrace = process.platform === 'linux' && spawnSync('strace', ['-V']).status === 0;

// Under CI=true it must run: a green CI that skipped it would prove nothing.
describe('restore: durability', { skip: !hasStrace && process.env.CI !== 'true' && 'needs strace (Linux)' }, () => {
  it('fsyncs the folder that holds each folder it creates, not only the folders that gained files', async (t) => {
    const base = await tempDir(t, 'durable');
    const storeDir = join(base, 'store');
    await mkdir(storeDir);
    const { repo } = await newRepo({ store: new DirStore(storeDir) });
    const root = await saveLayer(repo, { docs: dir({ deep: dir({ 'f.txt': file('f') }), empty: dir({}) }) });
    const target = join(base, 'target');
    await mkdir(target);
    const trace = join(base, 'trace');
    const r = spawnSync('strace', ['-f', '-y', '-e', 'trace=fsync', '-o', trace, process.execPath, '--import', 'tsx', CHILD, storeDir, root, target], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const synced = new Set([...(await readFile(trace, 'utf8')).matchAll(/fsync\(\d+<([^>]*)>/g)].map((m) => m[1]));
    // deep gained f.txt; docs gained deep and empty; the target gained docs.
    for (const d of [join(target, 'docs/deep'), join(target, 'docs'), target]) assert.ok(synced.has(d), `${d} was never fsynced`);
  });
});
