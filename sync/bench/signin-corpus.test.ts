import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeExcluder } from '../watch/index.js';
import { presentSubset, verifyTree } from './files.js';
import { planSignInCorpus, SIGNIN_HOT_PATHS, writeSignInCorpus, type Role } from './signin-corpus.js';

const MiB = 1024 * 1024;

describe('sign-in corpus plan', () => {
  const plan = planSignInCorpus(1024, 20_000, 1);
  const bytes = (role: Role): number => plan.files.filter((f) => f.role === role).reduce((s, f) => s + f.size, 0);
  const count = (role: Role): number => plan.files.filter((f) => f.role === role).length;

  it('has exactly the files and bytes asked for, at unique paths the layer does not exclude', () => {
    assert.equal(plan.files.length, 20_000);
    assert.equal(plan.files.reduce((s, f) => s + f.size, 0), 1024 * MiB);
    assert.equal(new Set(plan.files.map((f) => f.path)).size, plan.files.length);
    const excluded = makeExcluder();
    const bad = plan.files.filter((f) => f.path.split('/').some((_, i, parts) => excluded(parts.slice(0, i + 1).join('/'), i < parts.length - 1)));
    assert.deepEqual(bad, []);
  });

  it('is mostly small files by count and mostly MiB-sized and large files by bytes', () => {
    assert.equal(count('database'), 4);
    assert.equal(count('photo'), 150);
    assert.equal(count('document'), 800);
    assert.ok(plan.files.filter((f) => f.size <= 16 * 1024).length > 18_000);
    assert.ok(bytes('config') + bytes('note') < 0.1 * 1024 * MiB);
    assert.ok(bytes('photo') + bytes('database') > 0.6 * 1024 * MiB);
    for (const f of plan.files.filter((x) => x.role === 'document')) assert.ok(f.size <= MiB, f.path);
    const largest = plan.files.reduce((a, b) => (b.size > a.size ? b : a));
    assert.equal(plan.editFile, largest.path);
  });

  it('puts files under both hot paths', () => {
    for (const hot of SIGNIN_HOT_PATHS) assert.ok(plan.files.filter((f) => f.path.startsWith(hot)).length > 100, hot);
  });

  it('is the same for the same seed and different for another', () => {
    assert.deepEqual(planSignInCorpus(1024, 20_000, 1), plan);
    assert.notDeepEqual(planSignInCorpus(1024, 20_000, 2).files.slice(0, 10), plan.files.slice(0, 10));
  });

  it('scales down: small files and documents to half the total at most, a quarter left for the databases', () => {
    const small = planSignInCorpus(16, 2_000, 3);
    assert.equal(small.files.length, 2_000);
    assert.equal(small.files.reduce((s, f) => s + f.size, 0), 16 * MiB);
    const db = small.files.filter((f) => f.role === 'database').reduce((s, f) => s + f.size, 0);
    assert.ok(db >= 4 * MiB - 4, `databases hold ${db} bytes`);
  });

  it('refuses sizes it cannot plan', () => {
    assert.throws(() => planSignInCorpus(1024, 50, 1), /at least 100 files/);
    assert.throws(() => planSignInCorpus(8, 1000, 1), /at least 16 MiB/);
  });
});

describe('sign-in corpus files', () => {
  it('writes exactly the plan, which the manifest checks and the 80% subset splits', async () => {
    const root = await mkdtemp(join(tmpdir(), 'strata-signin-corpus-'));
    try {
      const plan = planSignInCorpus(16, 200, 4);
      const corpus = await writeSignInCorpus(root, plan);
      assert.equal(corpus.bytes, 16 * MiB);
      assert.deepEqual(corpus.files.map((f) => [f.path, f.size]), plan.files.map((f) => [f.path, f.size]));
      assert.deepEqual(await verifyTree(root, corpus), []);
      const { present, absent } = presentSubset(corpus, 4);
      assert.equal(present.length + absent.length, 200);
      assert.ok(present.some((f) => f.path === corpus.editFile));
      const again = await writeSignInCorpus(join(root, 'again'), plan);
      assert.deepEqual(again.files.map((f) => f.sha256), corpus.files.map((f) => f.sha256));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
