import assert from 'node:assert/strict';
import { renameSync, symlinkSync } from 'node:fs';
import { readdir, readFile, rm, symlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { isStrataError } from '../errors.js';
import type { ApplyOp } from '../plan/index.js';
import { show } from '../plan/testkit.js';
import { TEMP_PREFIX } from '../fsutil.js';
import { executePlan, recover } from './index.js';
import { planOver, scan, userAppend, type PlanOver } from './testkit.js';

const setup = (t: TestContext, localSpec: Record<string, string>, mergedSpec: Record<string, string>) => planOver(t, 'hostile', localSpec, mergedSpec);

function run(s: PlanOver) {
  return executePlan(s.root, s.ops, { fetch: s.blobs.fetch(), journalPath: s.journalPath });
}

async function noTemps(root: string): Promise<void> {
  const names = [...(await scan(root)).keys()].filter((p) => p.split('/').pop()?.startsWith(TEMP_PREFIX));
  assert.deepEqual(names, []);
}

describe('executePlan: the disk changed after the scan', () => {
  it('a file edited after planning is reported changed and keeps the user bytes', async (t) => {
    const s = await setup(t, { f: 'v1', a: 'x' }, { f: 'v2@3', a: 'y' });
    await userAppend(join(s.root, 'f'), ' and more');
    const r = await run(s);
    assert.equal(r.complete, false);
    const last = r.results.at(-1);
    assert.equal(last?.status, 'changed');
    assert.equal(last?.status === 'changed' && last.path, 'f');
    assert.equal(await readFile(join(s.root, 'f'), 'utf8'), 'v1 and more');
    await noTemps(s.root);
  });

  it('a file created where the plan expected nothing is kept, and no later op runs', async (t) => {
    const s = await setup(t, {}, { n: 'theirs', z: 'later' });
    await writeFile(join(s.root, 'n'), 'user');
    const r = await run(s);
    assert.deepEqual(r.results.map((x) => `${x.status} ${x.op.path}`), ['changed n']);
    assert.equal(await readFile(join(s.root, 'n'), 'utf8'), 'user');
    assert.deepEqual((await readdir(s.root)).sort(), ['n']);
  });

  it('a delete of a file edited after planning does not happen', async (t) => {
    const s = await setup(t, { f: 'v1' }, {});
    await userAppend(join(s.root, 'f'), '!');
    assert.equal((await run(s)).results[0]?.status, 'changed');
    assert.equal(await readFile(join(s.root, 'f'), 'utf8'), 'v1!');
  });

  it('a dir that gained a file is not deleted', async (t) => {
    const s = await setup(t, { 'd/f': 'x' }, {});
    await writeFile(join(s.root, 'd', 'new'), 'user');
    const r = await run(s);
    assert.deepEqual(r.results.map((x) => `${x.status} ${x.op.path}`), ['applied d/f', 'changed d']);
    assert.equal(await readFile(join(s.root, 'd', 'new'), 'utf8'), 'user');
  });

  it('a move whose source changed is not applied', async (t) => {
    const s = await setup(t, { f: 'X' }, { 'd/f': 'X' });
    await userAppend(join(s.root, 'f'), 'Y');
    const r = await run(s);
    assert.equal(r.results.at(-1)?.status, 'changed');
    assert.equal(await readFile(join(s.root, 'f'), 'utf8'), 'XY');
  });
});

describe('executePlan: never leaves the root', () => {
  it('a symlink planted where a dir was scanned is not followed', async (t) => {
    const s = await setup(t, { 'd/': '' }, { 'd/f': 'x', 'd/e/g': 'y' });
    await rm(join(s.root, 'd'), { recursive: true });
    await symlink(s.outside, join(s.root, 'd'));
    const r = await run(s);
    assert.equal(r.results.at(-1)?.status, 'changed');
    assert.deepEqual(await readdir(s.outside), []);
  });

  it('a symlink planted where a new dir goes is not followed', async (t) => {
    const s = await setup(t, {}, { 'd/f': 'x' });
    await symlink(s.outside, join(s.root, 'd'));
    const r = await run(s);
    assert.equal(r.results[0]?.status, 'changed');
    assert.deepEqual(await readdir(s.outside), []);
  });

  it('a dir swapped for a symlink between two ops of one run is not followed', async (t) => {
    const s = await setup(t, {}, { 'd/f': 'x', 'd/g': 'y' });
    const r = await executePlan(s.root, s.ops, {
      fetch: s.blobs.fetch(),
      journalPath: s.journalPath,
      onApplied: (res) => {
        if (res.op.path !== 'd/f') return;
        renameSync(join(s.root, 'd'), join(s.root, 'moved'));
        symlinkSync(s.outside, join(s.root, 'd'));
      },
    });
    assert.deepEqual(r.results.map((x) => `${x.status} ${x.op.path}`), ['applied d', 'applied d/f', 'changed d/g']);
    assert.deepEqual(await readdir(s.outside), []);
  });

  it('refuses paths that escape the root', async (t) => {
    const s = await setup(t, {}, {});
    for (const path of ['../x', 'a/../../x', '/etc/x', '']) {
      const op: ApplyOp = { op: 'mkdir', path, node: { type: 'dir', mode: 0o755 }, expect: null };
      await assert.rejects(executePlan(s.root, [op], { fetch: s.blobs.fetch(), journalPath: s.journalPath }), (e) => isStrataError(e, 'E_BAD_PATH'));
    }
    assert.deepEqual(await readdir(s.outside), []);
  });
});

describe('executePlan: failures and the journal', () => {
  it('a fetch of the wrong size leaves the old file and no temp; recover reports the old state', async (t) => {
    const s = await setup(t, { f: 'v1' }, { f: 'v2@3' });
    const short = async (_n: unknown, fh: FileHandle) => {
      await fh.write('v');
    };
    await assert.rejects(executePlan(s.root, s.ops, { fetch: short, journalPath: s.journalPath }), (e) => isStrataError(e, 'E_EXEC_FETCH_SIZE'));
    await assert.rejects(run(s), (e) => isStrataError(e, 'E_EXEC_JOURNAL_PENDING'));
    const report = await recover(s.root, s.journalPath);
    assert.deepEqual(report.interrupted.map((x) => `${x.op.op} ${x.op.path} ${x.state}`), ['write f old']);
    assert.equal(await readFile(join(s.root, 'f'), 'utf8'), 'v1');
    await noTemps(s.root);
    assert.equal((await run(s)).complete, true);
  });

  it('an aborted run stops between ops and leaves a clean journal', async (t) => {
    const s = await setup(t, {}, { a: '1', b: '2', c: '3' });
    const ac = new AbortController();
    const r = await executePlan(s.root, s.ops, { fetch: s.blobs.fetch(), journalPath: s.journalPath, signal: ac.signal, onApplied: () => ac.abort() });
    assert.deepEqual([r.aborted, r.results.length], [true, 1]);
    assert.deepEqual((await recover(s.root, s.journalPath)).interrupted, []);
    assert.deepEqual(show(await scan(s.root)).map(([p]) => p), ['a']);
  });

  it('a missing root is an error, not a plan of creates', async (t) => {
    const s = await setup(t, {}, { a: '1' });
    await rm(s.root, { recursive: true });
    await assert.rejects(run(s), (e) => isStrataError(e, 'E_EXEC_NO_ROOT'));
  });
});
