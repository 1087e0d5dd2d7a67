import assert from 'node:assert/strict';
import { mkdir, open, readFile, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { isStrataError } from '../errors.js';
import { planApply, type ApplyOp, type FileNode } from '../plan/index.js';
import { show } from '../plan/testkit.js';
import { TEMP_PREFIX } from '../fsutil.js';
import { executePlan, recover, type FetchFn } from './index.js';
import { Blobs, materialize, scan, tempDir, tree } from './testkit.js';

interface Setup {
  root: string;
  journalPath: string;
  blobs: Blobs;
  ops: ApplyOp[];
  merged: ReturnType<typeof tree>;
}

/** `n` new small files in two dirs the disk already has (or, with `replace`, new versions of `n` files it has): a plan of writes only. */
async function newFiles(t: TestContext, n: number, replace = false): Promise<Setup> {
  const base = await tempDir(t, 'writes');
  const root = join(base, 'root');
  await mkdir(root);
  const blobs = new Blobs();
  const dirs = { 'd0/': '755', 'd1/': '755' };
  const spec: Record<string, string> = { ...dirs };
  const local: Record<string, string> = { ...dirs };
  for (let i = 0; i < n; i++) spec[`d${i % 2}/f${String(i).padStart(3, '0')}`] = `file ${i}`;
  if (replace) for (let i = 0; i < n; i++) local[`d${i % 2}/f${String(i).padStart(3, '0')}`] = `old ${i}`;
  await materialize(root, tree(blobs, local), blobs);
  const merged = tree(blobs, spec);
  return { root, journalPath: join(base, 'journal'), blobs, ops: planApply(await scan(root), merged).ops, merged };
}

/** Counts FileHandle.sync calls (every fsync the executor makes goes through one) while `fn` runs. */
async function countSyncs(fn: () => Promise<unknown>): Promise<number> {
  const probe = await open(import.meta.filename, 'r');
  const proto = Object.getPrototypeOf(probe) as { sync: FileHandle['sync'] };
  await probe.close();
  const real = proto.sync;
  let n = 0;
  proto.sync = function (this: FileHandle) {
    n++;
    return real.call(this);
  };
  try {
    await fn();
  } finally {
    proto.sync = real;
  }
  return n;
}

async function noTemps(root: string): Promise<void> {
  assert.deepEqual([...(await scan(root)).keys()].filter((p) => p.split('/').pop()?.startsWith(TEMP_PREFIX)), []);
}

describe('executePlan: batches of writes', () => {
  it('new files cost one fsync each (their temps), not also one per journal intent', async (t) => {
    const s = await newFiles(t, 200);
    assert.deepEqual(new Set(s.ops.map((o) => o.op)), new Set(['write']));
    let complete = false;
    const syncs = await countSyncs(async () => {
      complete = (await executePlan(s.root, s.ops, { fetch: s.blobs.fetch(), journalPath: s.journalPath })).complete;
    });
    assert.equal(complete, true);
    assert.deepEqual(show(await scan(s.root)), show(s.merged));
    // 200 temps; the rest (the journal's batches of intents, its truncation, 2 dirs) is a handful.
    // One by one, each write fsynced its intent as well: over 400.
    assert.ok(syncs >= 200 && syncs <= 200 + 12, `${syncs} fsyncs for 200 new files`);
  });

  it('replaced files cost one fsync each (their temps), not also one of their folder per file', async (t) => {
    const s = await newFiles(t, 100, true);
    assert.ok(s.ops.every((o) => o.op === 'write' && o.expect !== null));
    let complete = false;
    const syncs = await countSyncs(async () => {
      complete = (await executePlan(s.root, s.ops, { fetch: s.blobs.fetch(), journalPath: s.journalPath })).complete;
    });
    assert.equal(complete, true);
    assert.deepEqual(show(await scan(s.root)), show(s.merged));
    // 100 temps, the journal's batches and truncation, 2 dirs before each batch's first replace and at the end.
    // Each replace flushing the dir the write before it renamed into: over 200.
    assert.ok(syncs >= 100 && syncs <= 100 + 12, `${syncs} fsyncs for 100 replaced files`);
  });

  it('new files get their own modes, whatever the umask takes away, and never a setuid or setgid bit', async (t) => {
    const base = await tempDir(t, 'modes');
    const root = join(base, 'root');
    await mkdir(root);
    const blobs = new Blobs();
    const modes = ['644', '755', '600', '400', '000', '666', '777', '664', '1755', '4755', '2750'];
    const merged = tree(blobs, Object.fromEntries(modes.map((m) => [`m${m}`, `mode ${m}#${m}`])));
    const ops = planApply(await scan(root), merged).ops;
    // Wider than the usual 022 takes away from most of them: their mode is set after the create.
    const old = process.umask(0o077);
    try {
      assert.equal((await executePlan(root, ops, { fetch: blobs.fetch(), journalPath: join(base, 'journal') })).complete, true);
    } finally {
      process.umask(old);
    }
    const on = await scan(root);
    assert.deepEqual(
      modes.map((m) => (on.get(`m${m}`) as FileNode).mode.toString(8)),
      modes.map((m) => (parseInt(m, 8) & 0o1777).toString(8)),
    );
  });

  it('fetches in plan order, however long each one takes', async (t) => {
    const s = await newFiles(t, 100);
    const order: string[] = [];
    const inner = s.blobs.fetch();
    const fetch: FetchFn = async (node, fh, path) => {
      order.push(node.content);
      await new Promise((resolve) => setTimeout(resolve, (order.length * 7) % 5));
      await inner(node, fh, path);
    };
    assert.equal((await executePlan(s.root, s.ops, { fetch, journalPath: s.journalPath })).complete, true);
    assert.deepEqual(order, s.ops.flatMap((o) => (o.op === 'write' ? [o.node.content] : [])));
  });

  it('a file created where a write of the batch expected nothing: the writes before it are applied, none after', async (t) => {
    const s = await newFiles(t, 40);
    const writes = s.ops.filter((o): o is Extract<ApplyOp, { op: 'write' }> => o.op === 'write');
    const taken = writes[20]!.path;
    await writeFile(join(s.root, taken), 'user');
    const r = await executePlan(s.root, s.ops, { fetch: s.blobs.fetch(), journalPath: s.journalPath });
    const last = r.results.at(-1)!;
    assert.deepEqual([last.status, last.op.path], ['changed', taken]);
    assert.ok(r.results.slice(0, -1).every((x) => x.status === 'applied'));
    const on = await scan(s.root);
    for (const w of writes) assert.equal(on.has(w.path), s.ops.indexOf(w) < s.ops.indexOf(writes[20]!) || w.path === taken, w.path);
    assert.equal(await readFile(join(s.root, taken), 'utf8'), 'user');
    await noTemps(s.root);
    assert.deepEqual((await recover(s.root, s.journalPath)).interrupted, []);
  });

  it("a write whose target changed before its turn does not let the next one fetch beside the fetch still in its turn", async (t) => {
    const s = await newFiles(t, 40);
    const writes = s.ops.filter((o): o is Extract<ApplyOp, { op: 'write' }> => o.op === 'write');
    await writeFile(join(s.root, writes[20]!.path), 'user');
    const inner = s.blobs.fetch();
    let inFlight = 0;
    let most = 0;
    const fetch: FetchFn = async (node, fh, path) => {
      most = Math.max(most, ++inFlight);
      // The fetch before the changed target is slow: the changed one fails its check meanwhile.
      if (node.content === writes[19]!.node.content) await new Promise((resolve) => setTimeout(resolve, 50));
      try {
        await inner(node, fh, path);
      } finally {
        inFlight--;
      }
    };
    const r = await executePlan(s.root, s.ops, { fetch, journalPath: s.journalPath });
    assert.deepEqual([r.results.at(-1)!.status, r.results.at(-1)!.op.path], ['changed', writes[20]!.path]);
    assert.equal(most, 1, "fetches ran side by side (the agent's fetcher reads ahead in plan order and frees what it wrote)");
    await noTemps(s.root);
  });

  it('a fetch that fails mid-batch: the writes before it are applied; recover finds the rest journaled, old, and no temps', async (t) => {
    const s = await newFiles(t, 30);
    const writes = s.ops.filter((o): o is Extract<ApplyOp, { op: 'write' }> => o.op === 'write');
    const inner = s.blobs.fetch();
    const fetch: FetchFn = async (node: FileNode, fh, path) => {
      if (node.content === writes[10]!.node.content) throw Object.assign(new Error('the store went away'), { code: 'E_STORE' });
      await inner(node, fh, path);
    };
    await assert.rejects(executePlan(s.root, s.ops, { fetch, journalPath: s.journalPath }), (e) => isStrataError(e, 'E_EXEC_IO'));
    const on = await scan(s.root);
    assert.deepEqual(writes.map((w) => on.has(w.path)), writes.map((_, k) => k < 10));
    const report = await recover(s.root, s.journalPath);
    // Journaled ahead with the batch: the failed write and the ones not started, all still old.
    assert.ok(report.interrupted.length >= 20);
    assert.ok(report.interrupted.every((x) => x.op.op === 'write' && x.state === 'old'), JSON.stringify(report.interrupted.map((x) => x.state)));
    await noTemps(s.root);
    assert.equal((await executePlan(s.root, planApply(await scan(s.root), s.merged).ops, { fetch: s.blobs.fetch(), journalPath: s.journalPath })).complete, true);
    assert.deepEqual(show(await scan(s.root)), show(s.merged));
  });
});
