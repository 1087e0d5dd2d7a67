// A point-in-time restore in place into a folder `strata sync` keeps in sync (issue #5 item 4):
// the restore is the user's edit, which the agent syncs; an edit the agent has not synced yet
// (it was paused, or had no time) is never lost.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import { openRepository } from '../repo/format.js';
import { latestTree } from '../signin/testkit.js';
import { DirStore } from '../store/dir.js';
import { describeRun, strata, strataInSync, writeTree } from './testkit.js';

const V1 = 'version 1';
const V2 = 'version 2, synced';
const EDIT = 'version 3, an edit not synced yet';

interface Synced {
  work: string;
  storeDir: string;
  stateDir: string;
  first: string;
  cli: (...args: string[]) => ReturnType<typeof strata>;
}

/** report.txt V1 (the first snapshot), then V2 synced by `strata sync`, which runs on. */
async function syncing(t: TestContext): Promise<Synced> {
  const tmp = await mkdtemp(join(tmpdir(), 'strata-pit-agent-'));
  t.after(() => rm(tmp, { recursive: true, force: true }));
  const work = join(tmp, 'work');
  const storeDir = join(tmp, 'store');
  const stateDir = join(tmp, 'state');
  const store = pathToFileURL(storeDir).href;
  const cli = (...args: string[]) => strata(['--store', store, '--device', 'laptop', ...args]);
  await writeTree(work, { 'report.txt': V1, docs: { 'a.txt': 'a' } });
  assert.equal((await cli('init')).code, 0);
  const first = JSON.parse((await cli('snapshot', work, '--layer', 'user/alice', '--json')).stdout).snapshot as string;
  await writeFile(join(work, 'report.txt'), V2);
  await strataInSync(t, ['sync', work, '--layer', 'user/alice', '--store', store, '--device', 'laptop', '--state-dir', stateDir, '--poll', '3600']);
  await waitUntil(async () => (await layerSizes(storeDir)).get('report.txt') === V2.length, () => 'the agent did not sync V2');
  return { work, storeDir, stateDir, first, cli };
}

async function layerSizes(storeDir: string): Promise<Map<string, number>> {
  const repo = await openRepository(new DirStore(storeDir));
  const sizes = new Map<string, number>();
  for (const [path, n] of await latestTree(repo, 'user/alice')) if (n.type === 'file') sizes.set(path, n.size);
  return sizes;
}

const copiesIn = async (dir: string) => (await readdir(dir)).filter((n) => n.includes('.sync-conflict-'));

describe('strata restore --path in place while strata sync runs', { timeout: 180_000 }, () => {
  it('paused, over an edit not synced: the edit is kept as a conflict copy; resumed, the agent syncs both', async (t) => {
    const { work, storeDir, stateDir, first, cli } = await syncing(t);
    const paused = await strata(['pause', '--state-dir', stateDir]);
    assert.equal(paused.code, 0, describeRun(paused));
    await writeFile(join(work, 'report.txt'), EDIT);
    const r = await cli('restore', work, '--layer', 'user/alice', '--snapshot', first, '--path', 'report.txt', '--json');
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(await readFile(join(work, 'report.txt'), 'utf8'), V1);
    const [copy] = await copiesIn(work);
    assert.ok(copy !== undefined, 'the edit is kept');
    assert.equal(await readFile(join(work, copy), 'utf8'), EDIT);
    assert.equal((await layerSizes(storeDir)).get('report.txt'), V2.length, 'paused: nothing went to the bucket');
    const resumed = await strata(['resume', '--state-dir', stateDir]);
    assert.equal(resumed.code, 0, describeRun(resumed));
    await waitUntil(async () => {
      const sizes = await layerSizes(storeDir);
      return sizes.get('report.txt') === V1.length && sizes.get(copy) === EDIT.length;
    }, () => 'the agent did not sync the restored file and the kept edit');
    assert.equal(await readFile(join(work, 'report.txt'), 'utf8'), V1, 'the agent kept the restored version');
  });

  it('running, over an edit it may not have synced yet: the edit is in a conflict copy or in the layer, the restored version is synced', async (t) => {
    const { work, storeDir, first, cli } = await syncing(t);
    await writeFile(join(work, 'report.txt'), EDIT);
    const r = await cli('restore', work, '--layer', 'user/alice', '--snapshot', first, '--path', 'report.txt', '--json');
    assert.equal(r.code, 0, describeRun(r));
    const aside = JSON.parse(r.stdout).movedAside as { copy: string }[];
    await waitUntil(async () => (await layerSizes(storeDir)).get('report.txt') === V1.length, () => 'the agent did not sync the restored file');
    assert.equal(await readFile(join(work, 'report.txt'), 'utf8'), V1);
    if (aside.length === 1) {
      assert.equal(await readFile(join(work, aside[0]?.copy as string), 'utf8'), EDIT);
    } else {
      // The agent synced the edit before the restore looked: it is in the layer's history.
      const log = JSON.parse((await cli('log', '--layer', 'user/alice', '--json')).stdout) as { snapshots: unknown[] };
      assert.ok(log.snapshots.length >= 4, 'V1, V2, the edit, the restore');
    }
  });
});

/** Polls `done` every 200 ms; gives up after two minutes. */
async function waitUntil(done: () => boolean | Promise<boolean>, why: () => string): Promise<void> {
  for (let i = 0; ; i++) {
    if (await done()) return;
    if (i > 600) assert.fail(why());
    await new Promise((r) => setTimeout(r, 200));
  }
}
