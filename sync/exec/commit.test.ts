// The commit of a batch of writes, seen from outside: the executor runs in a child
// (crash-child.ts) under strace, which names the thread behind every lstat and rename. The checks
// before the temps are filled and the commit step make their calls on the main thread,
// synchronously: each one through the thread pool cost several times the call itself (more on a
// busy machine).
// Linux with strace only; elsewhere the suite skips.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { planApply, type ApplyOp } from '../plan/index.js';
import { show } from '../plan/testkit.js';
import { TEMP_PREFIX } from '../fsutil.js';
import { Blobs, materialize, scan, tempDir, tree } from './testkit.js';

const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const hasStrace = process.platform === 'linux' && spawnSync('strace', ['-V']).status === 0;

/**
 * The child's lstats, stats, renames and fsyncs of paths under `root`, by thread, in order:
 * `lstat a/b`, `stat a/b` (one that follows links), `rename a/b/TEMP a/b/f`, `fsync a/b`.
 */
function callsByThread(text: string, root: string): Map<string, string[]> {
  const rel = (p: string): string => {
    const r = p.slice(root.length + 1);
    const name = r.split('/').pop() as string;
    return name.startsWith(TEMP_PREFIX) ? `${r.slice(0, r.length - name.length)}TEMP` : r;
  };
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^(\d+) +(\w+)\((.*)$/.exec(line);
    if (!m) continue;
    const [, tid, call, rest] = m as unknown as [string, string, string, string];
    const synced = call === 'fsync' || call === 'fdatasync';
    // An fsync names its file by descriptor (strace -y), the others by path.
    const paths = synced ? [/^\d+<([^>]*)>/.exec(rest)?.[1]] : [...rest.matchAll(/"([^"]*)"/g)].map((p) => p[1]);
    if (!paths[0]?.startsWith(`${root}/`)) continue;
    let entry: string;
    if (call.startsWith('rename')) entry = `rename ${rel(paths[0])} ${rel(paths[1] as string)}`;
    else if (synced) entry = `fsync ${rel(paths[0])}`;
    else entry = `${call === 'lstat' || rest.includes('AT_SYMLINK_NOFOLLOW') ? 'lstat' : 'stat'} ${rel(paths[0])}`;
    out.set(tid, [...(out.get(tid) ?? []), entry]);
  }
  return out;
}

/** Runs `ops` in a child under strace; its output lines, its pid, and its calls by thread (callsByThread). */
async function traceRun(base: string, root: string, ops: ApplyOp[], contents: string[], calls: string): Promise<{ out: string[]; main: string; byThread: Map<string, string[]>; all: string[] }> {
  const jobPath = join(base, 'job.json');
  await writeFile(jobPath, JSON.stringify({ root, journalPath: join(base, 'journal'), ops, contents, suppress: true }));
  const trace = join(base, 'trace');
  const r = spawnSync('strace', ['-f', '-y', '-e', `trace=${calls}`, '-o', trace, process.execPath, '--import', 'tsx', CHILD, jobPath], { cwd: REPO, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = r.stdout.trim().split('\n');
  assert.equal(out.at(-1), 'complete');
  const text = await readFile(trace, 'utf8');
  // One thread's calls in the order of the whole trace: every call of the run, as strace saw them start.
  const all = [...callsByThread(text.replace(/^\d+ /gm, '0 '), root).values()].flat();
  return { out, main: /^start (\d+)$/.exec(out[0] as string)?.[1] as string, byThread: callsByThread(text, root), all };
}

describe('executePlan: the commit of a batch of writes', { skip: !hasStrace && process.env.CI !== 'true' && 'needs strace (Linux)' }, () => {
  it('each target in plan order: its folders and itself lstat-ed before its temp is filled and again before the temp is renamed over it, its final lstat for suppress; all on the main thread, nothing cached', async (t) => {
    const base = await tempDir(t, 'commit');
    const root = join(base, 'root');
    await mkdir(root);
    const blobs = new Blobs();
    const local = { 'a/': '755', 'a/b/': '755', 'a/b/old': 'old bytes' };
    const merged: Record<string, string> = { ...local, 'a/b/old': 'new bytes' };
    for (let i = 0; i < 12; i++) merged[`a/b/f${String(i).padStart(2, '0')}`] = `file ${i}`;
    await materialize(root, tree(blobs, local), blobs);
    const ops = planApply(await scan(root), tree(blobs, merged)).ops;
    const writes = ops.filter((o): o is Extract<ApplyOp, { op: 'write' }> => o.op === 'write');
    assert.equal(writes.length, ops.length);
    assert.equal(writes.filter((w) => w.expect !== null).length, 1, 'one of the writes replaces a file');

    const contents = Object.entries(merged).filter(([p]) => !p.endsWith('/')).map(([, c]) => c);
    const { out, main, byThread } = await traceRun(base, root, ops, contents, 'lstat,newfstatat,statx,rename,renameat,renameat2');
    assert.deepEqual(out.filter((l) => l.startsWith('told ')).sort(), writes.map((w) => `told ${w.path} ${w.node.size}`).sort());
    assert.deepEqual(show(await scan(root)), show(tree(blobs, merged)));

    const check = (w: (typeof writes)[number]): string[] => ['lstat a', 'lstat a/b', `lstat ${w.path}`];
    assert.deepEqual(byThread.get(main) ?? [], [
      // Before its temp is filled (one batch: all of them first)…
      ...writes.flatMap(check),
      // …and again right before its rename.
      ...writes.flatMap((w) => [...check(w), `rename a/b/TEMP ${w.path}`, `lstat ${w.path}`]),
    ]);
    // The other threads (filling the temps) rename nothing, and no call anywhere follows a link.
    for (const [tid, list] of byThread) {
      if (tid !== main) assert.deepEqual(list.filter((c) => c.startsWith('rename ')), [], `thread ${tid}`);
      assert.deepEqual(list.filter((c) => c.startsWith('stat ')), [], `thread ${tid}`);
    }
  });

  it('before the first replace the folders of the ops before are fsynced, and no folder between the renames after it', async (t) => {
    const base = await tempDir(t, 'commit-flush');
    const root = join(base, 'root');
    await mkdir(root);
    const blobs = new Blobs();
    const local = { 'a/': '755', 'b/': '755', 'a/x': 'moved', 'a/w1': 'old 1', 'a/w2': 'old 2', 'a/w3': 'old 3' };
    const merged = { 'a/': '755', 'b/': '755', 'b/y': 'moved', 'a/x': 'new x', 'a/w1': 'new 1', 'a/w2': 'new 2', 'a/w3': 'new 3' };
    await materialize(root, tree(blobs, local), blobs);
    const ops = planApply(await scan(root), tree(blobs, merged)).ops;
    assert.deepEqual(ops.map((o) => `${o.op} ${o.path}`), ['move b/y', 'write a/w1', 'write a/w2', 'write a/w3', 'write a/x']);
    const { all } = await traceRun(base, root, ops, Object.values(merged), 'fsync,fdatasync,rename,renameat,renameat2');
    assert.deepEqual(show(await scan(root)), show(tree(blobs, merged)));
    assert.deepEqual(all, [
      'rename a/x b/y',
      'fsync b/y', // the moved file's mode and mtime
      ...['fsync a/TEMP', 'fsync a/TEMP', 'fsync a/TEMP', 'fsync a/TEMP'],
      // The move's folders, before the old bytes of a/w1 are destroyed.
      'fsync a',
      'fsync b',
      ...['rename a/TEMP a/w1', 'rename a/TEMP a/w2', 'rename a/TEMP a/w3', 'rename a/TEMP a/x'],
      // The batch's folder, once, at the end of the run.
      'fsync a',
    ]);
  });
});
