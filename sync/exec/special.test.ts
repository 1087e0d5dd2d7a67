import assert from 'node:assert/strict';
import { readdir, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { makeFifo, notWaitingOn } from '../testing/fifo.js';
import { ExecContext } from './context.js';
import { executePlan, type ExecuteResult } from './index.js';
import { planOver, type PlanOver } from './testkit.js';

const setup = (t: TestContext, localSpec: Record<string, string>, mergedSpec: Record<string, string>) => planOver(t, 'special', localSpec, mergedSpec);

/**
 * Runs the plan with `swap` called once, right after the check of `rel` that is the `nth` (from 1)
 * check of it: the user swapping what stands there between the executor's check and its open.
 */
async function runSwapping(t: TestContext, s: PlanOver, rel: string, nth: number, swap: () => Promise<void>): Promise<ExecuteResult> {
  const check = ExecContext.prototype.check;
  let seen = 0;
  t.mock.method(ExecContext.prototype, 'check', async function (this: ExecContext, ...args: Parameters<ExecContext['check']>) {
    const st = await check.apply(this, args);
    if (args[0] === rel && ++seen === nth) await swap();
    return st;
  });
  return executePlan(s.root, s.ops, { fetch: s.blobs.fetch(), journalPath: s.journalPath });
}

/** Puts `make`'s entry at `abs`, the file there moved to `aside`. */
async function swapIn(abs: string, aside: string, make: (abs: string) => Promise<void>): Promise<void> {
  await rename(abs, aside);
  await make(abs);
}

// What the executor checked as a file may be swapped before it opens it: a FIFO must not make it
// wait for a writer, a link must not be followed; the op is not applied, and the user's entries stay.
describe('executePlan: a FIFO or link swapped in after the check', { skip: process.platform === 'win32' && 'no FIFOs on Windows' }, () => {
  const fifo = async (abs: string) => makeFifo(abs);

  it('a copy whose source became a FIFO or a link is not applied', { timeout: 60_000 }, async (t) => {
    for (const kind of ['fifo', 'link'] as const) {
      await t.test(kind, async (t) => {
        const s = await setup(t, { a: 'X' }, { a: 'X', c: 'X@1' });
        assert.deepEqual(s.ops.map((o) => `${o.op} ${o.path}`), ['copy c']);
        await writeFile(join(s.outside, 'secret'), 'outside');
        const make = kind === 'fifo' ? fifo : (abs: string) => symlink(join(s.outside, 'secret'), abs);
        // Checked twice before the copy (its source, then its target): swapped after the second.
        const r = await notWaitingOn(join(s.root, 'a'), runSwapping(t, s, 'c', 1, () => swapIn(join(s.root, 'a'), join(s.outside, 'a'), make)));
        assert.deepEqual(r.results.map((x) => `${x.status} ${x.status === 'changed' ? x.path : x.op.path}`), ['changed a']);
        assert.deepEqual(await readdir(s.root), ['a']);
        assert.equal(await readFile(join(s.outside, 'a'), 'utf8'), 'X');
      });
    }
  });

  it('a setmeta or move whose file became a FIFO is not applied, the file kept', { timeout: 60_000 }, async (t) => {
    // setmeta checks `a` once, then sets its mode and time; a move checks `f` and then `d/f`, renames, then does the same at `d/f`.
    const cases: { name: string; local: Record<string, string>; merged: Record<string, string>; ops: string[]; swap: string; after: string; at: string; left: string[] }[] = [
      { name: 'setmeta', local: { a: 'X' }, merged: { a: 'X@5#600' }, ops: ['setmeta a'], swap: 'a', after: 'a', at: 'a', left: ['a'] },
      { name: 'move', local: { f: 'X' }, merged: { 'd/f': 'X@5#600' }, ops: ['mkdir d', 'move d/f'], swap: 'f', after: 'd/f', at: 'd/f', left: ['d', 'd/f'] },
    ];
    for (const c of cases) {
      await t.test(c.name, async (t) => {
        const s = await setup(t, c.local, c.merged);
        assert.deepEqual(s.ops.map((o) => `${o.op} ${o.path}`), c.ops);
        const r = await notWaitingOn(join(s.root, c.at), runSwapping(t, s, c.after, 1, () => swapIn(join(s.root, c.swap), join(s.outside, 'kept'), fifo)));
        const last = r.results.at(-1);
        assert.equal(last?.status === 'changed' && last.path, c.at);
        assert.deepEqual((await readdir(s.root, { recursive: true })).sort(), c.left);
        assert.equal(await readFile(join(s.outside, 'kept'), 'utf8'), 'X');
      });
    }
  });
});
