import assert from 'node:assert/strict';
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { planApply, type ApplyOp } from '../plan/index.js';
import { show } from '../plan/testkit.js';
import { recover } from './index.js';
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

describe('recover', () => {
  it('an interrupted move that already renamed is reported new and gets its mode and mtime', async (t) => {
    const f = await fixture(t, { f: 'X@1#600' }, { g: 'X@4#644' });
    const move = f.ops.find((o) => o.op === 'move') as ApplyOp;
    assert.ok(move !== undefined, f.ops.map((o) => o.op).join());
    await writeFile(f.journalPath, line({ i: 0, op: move }));
    await rename(join(f.root, 'f'), join(f.root, 'g'));
    const report = await recover(f.root, f.journalPath);
    assert.deepEqual(report.interrupted.map((x) => x.state), ['new']);
    assert.deepEqual(show(await scan(f.root)), show(f.merged));
    assert.equal(await readFile(f.journalPath, 'utf8'), '');
  });

  it('an interrupted move cut off between its chmod and its utimes is reported new and gets its mtime', async (t) => {
    const f = await fixture(t, { f: 'X@1#600' }, { g: 'X@4#644' });
    const move = f.ops.find((o) => o.op === 'move') as ApplyOp;
    await writeFile(f.journalPath, line({ i: 0, op: move }));
    await rename(join(f.root, 'f'), join(f.root, 'g'));
    await chmod(join(f.root, 'g'), 0o644);
    const report = await recover(f.root, f.journalPath);
    assert.deepEqual(report.interrupted.map((x) => x.state), ['new']);
    assert.deepEqual(show(await scan(f.root)), show(f.merged));
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
});
