import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planCorpus, writeCorpus } from './corpus.js';
import { editMiddle, presentSubset, verifyTree } from './files.js';

const MiB = 1024 * 1024;

describe('bench corpus plan', () => {
  it('has the 512 MiB edit file, a few 64 MiB ones and ~10,000 small files at the default size', () => {
    const p = planCorpus(1024, 1);
    assert.equal(p.editFileSize, 512 * MiB);
    assert.ok(p.largeSizes.length >= 2 && p.largeSizes.every((s) => s === 64 * MiB));
    assert.equal(p.smallCount, 10_000);
    assert.equal(p.mediumCount, 300);
    assert.equal(p.note, undefined);
  });

  it('falls back to the largest file that fits, and says so, when the size is small', () => {
    const p = planCorpus(64, 1);
    assert.ok(p.editFileSize < 512 * MiB && p.editFileSize >= 2 * MiB);
    assert.ok(p.largeSizes.every((s) => s <= p.editFileSize));
    assert.match(p.note ?? '', /too small for the 512 MiB/);
  });
});

describe('bench corpus', () => {
  it('is the same for the same seed, different for another, and checks, edits and subsets as stated', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-corpus-test-'));
    try {
      const plan = planCorpus(8, 3);
      const a = await writeCorpus(join(dir, 'a'), plan);
      const b = await writeCorpus(join(dir, 'b'), plan);
      const c = await writeCorpus(join(dir, 'c'), planCorpus(8, 4));
      assert.deepEqual(a.files, b.files);
      assert.notDeepEqual(a.files.map((f) => f.sha256), c.files.map((f) => f.sha256));
      assert.equal((await stat(join(a.root, a.files[0]!.path))).mtimeMs, (await stat(join(b.root, b.files[0]!.path))).mtimeMs);
      for (const f of a.files.filter((f) => f.kind === 'small')) assert.ok(f.size >= 60 && f.size <= 8192, `${f.path} ${f.size}`);
      assert.deepEqual(await verifyTree(b.root, a), []);

      const { present, absent } = presentSubset(a, 3);
      assert.equal(present.length + absent.length, a.files.length);
      assert.ok(present.some((f) => f.path === a.editFile));
      assert.ok(Math.abs(present.length / a.files.length - 0.8) < 0.05);

      const before = await readFile(join(a.root, a.editFile));
      const offset = await editMiddle(a);
      const after = await readFile(join(a.root, a.editFile));
      assert.equal(after.length, before.length);
      assert.ok(!before.subarray(offset, offset + MiB).equals(after.subarray(offset, offset + MiB)));
      assert.ok(before.subarray(0, offset).equals(after.subarray(0, offset)));
      assert.ok(before.subarray(offset + MiB).equals(after.subarray(offset + MiB)));
      assert.deepEqual(await verifyTree(a.root, a), []);
      assert.equal((await verifyTree(b.root, a)).length, 1, 'the unedited copy differs in exactly the edited file');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
