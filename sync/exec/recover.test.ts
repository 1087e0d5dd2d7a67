import assert from 'node:assert/strict';
import fsp, { appendFile, chmod, lstat, mkdir, readdir, readFile, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { planApply, type ApplyOp } from '../plan/index.js';
import { show } from '../plan/testkit.js';
import { makeFifo, notWaitingOn } from '../testing/fifo.js';
import { clearJournal, executePlan, recover } from './index.js';
import { Blobs, materialize, scan, tempDir, tree } from './testkit.js';

async function fixture(t: TestContext, localSpec: Record<string, string>, mergedSpec: Record<string, string>) {
  const base = await tempDir(t, 'recover');
  const root = join(base, 'root');
  await mkdir(root);
  const blobs = new Blobs();
  const merged = tree(blobs, mergedSpec);
  await materialize(root, tree(blobs, localSpec), blobs);
  const ops = planApply(await scan(root), merged).ops;
  return { root, journalPath: join(base, 'journal'), ops, merged, blobs };
}

const line = (v: unknown) => `${JSON.stringify(v)}\n`;

/** Runs `swap` once, right before the first open of `abs` (the user swapping it after the checks); returns the undo. */
function beforeOpen(abs: string, swap: () => Promise<void>): () => void {
  const original = fsp.open;
  let done = false;
  fsp.open = (async (path: Parameters<typeof fsp.open>[0], ...rest: unknown[]) => {
    if (!done && String(path) === abs) {
      done = true;
      await swap();
    }
    return (original as (...a: unknown[]) => Promise<unknown>)(path, ...rest);
  }) as typeof fsp.open;
  syncBuiltinESMExports();
  return () => {
    fsp.open = original;
    syncBuiltinESMExports();
  };
}

/** The executor's moved line for intent `i`: the moved file at `rel` as it is now. */
async function movedLine(f: { root: string; journalPath: string }, rel: string, i: number): Promise<void> {
  const st = await lstat(join(f.root, rel));
  await appendFile(f.journalPath, line({ moved: i, ino: st.ino, ctimeMs: st.ctimeMs }));
}

/**
 * What the executor does of move `op` (intent `i`) before it sets the mode and mtime: a moved line
 * with the file's inode, the rename, then (unless `killed` before) a moved line with its ctime.
 */
async function renamedByExecutor(f: { root: string; journalPath: string }, op: ApplyOp, i: number, killed = false): Promise<void> {
  const from = join(f.root, (op as Extract<ApplyOp, { op: 'move' }>).from);
  await appendFile(f.journalPath, line({ moved: i, ino: (await lstat(from)).ino }));
  await rename(from, join(f.root, op.path));
  if (!killed) await movedLine(f, op.path, i);
}

describe('recover', () => {
  it('an interrupted move that already renamed is reported new and gets its mode and mtime', async (t) => {
    const f = await fixture(t, { f: 'X@1#600' }, { g: 'X@4#644' });
    const move = f.ops.find((o) => o.op === 'move') as ApplyOp;
    assert.ok(move !== undefined, f.ops.map((o) => o.op).join());
    await writeFile(f.journalPath, line({ i: 0, op: move }));
    await renamedByExecutor(f, move, 0);
    const report = await recover(f.root, f.journalPath);
    assert.deepEqual(report.interrupted.map((x) => x.state), ['new']);
    assert.deepEqual(show(await scan(f.root)), show(f.merged));
    assert.equal(await readFile(f.journalPath, 'utf8'), '');
  });

  it('an interrupted move killed right after its rename, before it journaled the ctime, is reported new and gets its mode and mtime', async (t) => {
    const f = await fixture(t, { f: 'X@1#600' }, { g: 'X@4#644' });
    const move = f.ops.find((o) => o.op === 'move') as ApplyOp;
    await writeFile(f.journalPath, line({ i: 0, op: move }));
    await renamedByExecutor(f, move, 0, true);
    assert.deepEqual((await recover(f.root, f.journalPath)).interrupted.map((x) => x.state), ['new']);
    assert.deepEqual(show(await scan(f.root)), show(f.merged));
  });

  it('a file put in place of a renamed one, or a rename no moved line names, is left as it is', async (t) => {
    const f = await fixture(t, { f: 'X@1#600', h: 'Y@1#600' }, { g: 'X@4#644', h: 'Y@1#600' });
    const move = f.ops.find((o) => o.op === 'move') as ApplyOp;
    await writeFile(f.journalPath, line({ i: 0, op: move }));
    await renamedByExecutor(f, move, 0);
    // The user's file of the same size, mtime and mode, saved over the moved one (a new inode).
    await rename(join(f.root, 'h'), join(f.root, 'g'));
    assert.deepEqual((await recover(f.root, f.journalPath)).interrupted.map((x) => x.state), ['other']);
    assert.deepEqual(show(await scan(f.root)), show(tree(f.blobs, { g: 'Y@1#600' })));
    // A power cut lost the moved lines.
    await writeFile(f.journalPath, line({ i: 0, op: move }));
    assert.deepEqual((await recover(f.root, f.journalPath)).interrupted.map((x) => x.state), ['other']);
    assert.deepEqual(show(await scan(f.root)), show(tree(f.blobs, { g: 'Y@1#600' })));
  });

  it('an interrupted move cut off between its chmod and its utimes is reported new and gets its mtime', async (t) => {
    const f = await fixture(t, { f: 'X@1#600' }, { g: 'X@4#644' });
    const move = f.ops.find((o) => o.op === 'move') as ApplyOp;
    await writeFile(f.journalPath, line({ i: 0, op: move }));
    await renamedByExecutor(f, move, 0);
    await chmod(join(f.root, 'g'), 0o644);
    await movedLine(f, 'g', 0);
    const report = await recover(f.root, f.journalPath);
    assert.deepEqual(report.interrupted.map((x) => x.state), ['new']);
    assert.deepEqual(show(await scan(f.root)), show(f.merged));
  });

  it("a FIFO or link swapped in at a renamed move's new name before recovery sets its mode is left as it is (other)", { skip: process.platform === 'win32' && 'no FIFOs on Windows' }, async (t) => {
    for (const kind of ['fifo', 'link'] as const) {
      await t.test(kind, async (t) => {
        const f = await fixture(t, { f: 'X@1#600' }, { g: 'X@4#644' });
        const move = f.ops.find((o) => o.op === 'move') as ApplyOp;
        await writeFile(f.journalPath, line({ i: 0, op: move }));
        await renamedByExecutor(f, move, 0);
        const g = join(f.root, 'g');
        const aside = join(f.root, '..', 'kept');
        const undo = beforeOpen(g, async () => {
          await rename(g, aside);
          if (kind === 'fifo') makeFifo(g);
          else await symlink(aside, g);
        });
        try {
          const report = await notWaitingOn(g, recover(f.root, f.journalPath));
          assert.deepEqual(report.interrupted.map((x) => x.state), ['other']);
        } finally {
          undo();
        }
        assert.equal(kind === 'fifo' ? (await lstat(g)).isFIFO() : (await lstat(g)).isSymbolicLink(), true);
        assert.equal(await readFile(aside, 'utf8'), 'X');
      });
    }
  });

  it("a same-size edit, its mtime set back, at a move's new name after the crash is left as the user made it", async (t) => {
    const f = await fixture(t, { f: 'X@1#600' }, { g: 'X@4#644' });
    const move = f.ops.find((o) => o.op === 'move') as ApplyOp;
    await writeFile(f.journalPath, line({ i: 0, op: move }));
    await renamedByExecutor(f, move, 0);
    // The user's edit in place: same size, other bytes, the old mtime put back (touch -r, cp -p).
    await writeFile(join(f.root, 'g'), 'Y');
    const { mtimeMs } = (move as Extract<ApplyOp, { op: 'move' }>).expectFrom;
    await utimes(join(f.root, 'g'), mtimeMs / 1000, mtimeMs / 1000);
    const report = await recover(f.root, f.journalPath);
    assert.deepEqual(report.interrupted.map((x) => x.state), ['other']);
    assert.deepEqual(show(await scan(f.root)), show(tree(f.blobs, { g: 'Y@1#600' })));
  });

  it("the executor journals a move's file before each step that sets its mode and mtime", async (t) => {
    const f = await fixture(t, { f: 'X@1#600' }, { g: 'X@4#644' });
    const i = f.ops.findIndex((o) => o.op === 'move');
    await executePlan(f.root, f.ops, { fetch: f.blobs.fetch(), journalPath: f.journalPath, keepJournal: true });
    const moved = (await readFile(f.journalPath, 'utf8')).split('\n').filter((l) => l.includes('"moved"')).map((l) => JSON.parse(l) as { moved: number; ino: number; ctimeMs?: number });
    const { ino } = await lstat(join(f.root, 'g'));
    // Before the rename (no ctime yet), the chmod and the utimes.
    assert.deepEqual(moved.map((m) => [m.moved, m.ino, m.ctimeMs !== undefined]), [[i, ino, false], [i, ino, true], [i, ino, true]]);
  });

  it('removes the temp of an interrupted write, reports old, and ignores a torn last line', async (t) => {
    const f = await fixture(t, { 'd/f': 'v1' }, { 'd/f': 'v2@2' });
    const write = f.ops[0] as ApplyOp;
    const tmp = 'd/.strata-tmp-0123456789abcdef';
    await writeFile(join(f.root, tmp), 'v');
    await writeFile(f.journalPath, line({ i: 0, tmp, op: write }) + '{"i":1,"tmp":"d/.str');
    const report = await recover(f.root, f.journalPath);
    assert.deepEqual([report.interrupted.map((x) => `${x.op.path} ${x.state}`), report.tempsRemoved], [['d/f old'], 1]);
    assert.deepEqual(await readdir(join(f.root, 'd')), ['f']);
  });

  it('reports a finished op whose done line was lost as new', async (t) => {
    const f = await fixture(t, {}, { n: 'new' });
    const write = f.ops[0] as ApplyOp;
    await materialize(f.root, f.merged, f.blobs);
    await writeFile(f.journalPath, line({ i: 0, tmp: '.strata-tmp-aa', op: write }));
    assert.deepEqual((await recover(f.root, f.journalPath)).interrupted.map((x) => x.state), ['new']);
  });

  it('lists stash files left at the root and never touches a journal path outside it', async (t) => {
    const f = await fixture(t, { '.strata-stash-1': 'kept', a: 'x' }, {});
    const evil: ApplyOp = { op: 'delete', path: '../a', expect: { type: 'dir', mode: 0o755 } };
    await writeFile(f.journalPath, line({ i: 0, tmp: '../.strata-tmp-x', op: evil }));
    const report = await recover(f.root, f.journalPath);
    assert.deepEqual([report.stashes, report.interrupted.map((x) => x.state)], [['.strata-stash-1'], ['other']]);
  });

  it('reports per labelled run the ops it applied: done, and interrupted in their new state; a kept journal stays', async (t) => {
    const f = await fixture(t, { a: 'A', b: 'B', c: 'C', d: 'D' }, {});
    const del = (p: string) => f.ops.find((o) => o.op === 'delete' && o.path === p) as ApplyOp;
    await rm(join(f.root, 'a'));
    await rm(join(f.root, 'c'));
    const text = [
      line({ run: { id: 'r1' } }), line({ i: 0, op: del('a') }), line({ done: 0 }), line({ i: 1, op: del('b') }), line({ done: 1, changed: true }),
      line({ run: { id: 'r2' } }), line({ i: 0, op: del('c') }), line({ i: 1, op: del('d') }), line({ done: 1, changed: true }),
    ].join('');
    await writeFile(f.journalPath, text);
    const report = await recover(f.root, f.journalPath, { keepJournal: true });
    assert.deepEqual(report.runs.map((r) => [r.label, r.applied.map((o) => o.path)]), [[{ id: 'r1' }, ['a']], [{ id: 'r2' }, ['c']]]);
    assert.equal(await readFile(f.journalPath, 'utf8'), text);
  });
  it('a kept seed no run took is found again by the next recovery: kept while its writer is gone, else removed', async (t) => {
    const f = await fixture(t, { 'd/f': 'v1' }, { 'd/f': 'v2@2' });
    const write = f.ops[0] as ApplyOp;
    const tmp = `d/.strata-tmp-${spawnSync(process.execPath, ['-e', '']).pid}-0123456789abcdef`;
    await writeFile(join(f.root, tmp), 'v');
    await writeFile(f.journalPath, line({ run: { id: 'r1' } }) + line({ i: 0, tmp, op: write }));
    const first = await recover(f.root, f.journalPath, { keepJournal: true, seeds: true });
    assert.deepEqual(first.seeds.map((s) => s.tmp), [tmp]);
    // The caller has kept what it needs of the runs; the process dies before any run takes the seed.
    await clearJournal(f.journalPath, first.seeds);
    const again = await recover(f.root, f.journalPath, { keepJournal: true, seeds: true });
    assert.deepEqual([again.seeds.map((s) => [s.path, s.tmp]), again.runs], [[['d/f', tmp]], []]);
    await clearJournal(f.journalPath, again.seeds);
    // A run can open the journal that holds only seeds.
    await executePlan(f.root, [], { fetch: f.blobs.fetch(), journalPath: f.journalPath, keepJournal: true });
    // Recovered without seeds (or no longer valid), the temp goes and the journal is left empty.
    assert.equal((await recover(f.root, f.journalPath)).tempsRemoved, 1);
    assert.deepEqual(await readdir(join(f.root, 'd')), ['f']);
    assert.equal(await readFile(f.journalPath, 'utf8'), '');
  });
});

describe('recover: seed lines', () => {
  it('a seed line naming a path outside the root is dropped: recovery neither fails nor keeps it', async (t) => {
    const f = await fixture(t, { 'd/f': 'v1' }, { 'd/f': 'v2@2' });
    const write = f.ops[0] as Extract<ApplyOp, { op: 'write' }>;
    const tmp = `d/.strata-tmp-${spawnSync(process.execPath, ['-e', '']).pid}-0123456789abcdef`;
    await writeFile(join(f.root, tmp), 'v');
    for (const path of ['../out/f', '/etc/f', 'd/../../f']) {
      await writeFile(f.journalPath, line({ seed: { path, tmp, node: write.node } }));
      const report = await recover(f.root, f.journalPath, { keepJournal: true, seeds: true });
      assert.deepEqual(report.seeds, [], path);
    }
  });
});
