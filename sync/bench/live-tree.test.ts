import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FILES_PER_DIR, dirCount, planLiveTree, watchesNeeded, writeLiveTree } from './live-tree.js';

describe('bench: the live-sync folder', () => {
  it('puts 100,000 files in 1,000 dirs of 10 groups', () => {
    const plan = planLiveTree(100_000, 1);
    assert.equal(plan.files.length, 100_000);
    assert.equal(plan.dirs.length, 1000);
    assert.equal(new Set(plan.dirs.map((d) => d.split('/')[0])).size, 10);
    assert.equal(new Set(plan.files.map((f) => f.path)).size, 100_000);
    assert.ok(plan.files.every((f) => f.size >= 200 && f.size <= 8192));
  });

  it('counts one inotify watch per dir, the root and the groups included', () => {
    const plan = planLiveTree(100_000, 1);
    assert.equal(dirCount(plan), 1011);
    assert.equal(watchesNeeded(plan), 1_011);
    assert.equal(watchesNeeded(planLiveTree(150, 1)), 2 + 1 + 1);
  });

  it('is the same for the same seed, and another for another', () => {
    assert.deepEqual(planLiveTree(500, 3), planLiveTree(500, 3));
    assert.notDeepEqual(planLiveTree(500, 3).files, planLiveTree(500, 4).files);
  });

  it('writes every planned file, at most its planned size, and returns the bytes written', async () => {
    const root = await mkdtemp(join(tmpdir(), 'live-tree-'));
    try {
      const plan = planLiveTree(250, 7);
      const bytes = await writeLiveTree(root, plan, 7);
      let total = 0;
      for (const f of plan.files) {
        const st = await stat(join(root, f.path));
        assert.ok(st.size <= f.size, `${f.path}: ${st.size} > ${f.size}`);
        total += st.size;
      }
      assert.equal(total, bytes);
      assert.equal((await readdir(join(root, plan.dirs[0] as string))).length, FILES_PER_DIR);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
