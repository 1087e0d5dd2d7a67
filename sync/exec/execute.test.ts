import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { planApply, STASH_PREFIX } from '../plan/index.js';
import { show } from '../plan/testkit.js';
import { executePlan } from './index.js';
import { Blobs, materialize, scan, tempDir, tree } from './testkit.js';

interface Run {
  ops: string[];
  suppressed: Map<string, { size: number; mtimeMs: number; ctimeMs: number } | null>;
  fetches: number;
}

/** Lays `localSpec` out, plans toward `mergedSpec`, executes, and checks the disk is the merged tree. */
async function converge(t: TestContext, localSpec: Record<string, string>, mergedSpec: Record<string, string>): Promise<Run> {
  const base = await tempDir(t, 'scenario');
  const root = join(base, 'root');
  await mkdir(root);
  const blobs = new Blobs();
  const local = tree(blobs, localSpec);
  const merged = tree(blobs, mergedSpec);
  await materialize(root, local, blobs);
  const scanned = await scan(root);
  assert.deepEqual(show(scanned), show(local), 'the fixture is laid out as specified');
  const plan = planApply(scanned, merged);
  const suppressed: Run['suppressed'] = new Map();
  const fetch = blobs.fetch();
  let fetches = 0;
  const result = await executePlan(root, plan.ops, {
    fetch: (node, fh, path) => {
      fetches++;
      return fetch(node, fh, path);
    },
    journalPath: join(base, 'journal'),
    suppress: (p, st) => suppressed.set(p, st),
  });
  assert.equal(result.complete, true, JSON.stringify(result.results.at(-1)));
  const after = await scan(root);
  assert.deepEqual(show(after), show(merged));
  const touched = plan.ops.flatMap((o) => (o.op === 'move' ? [o.path, o.from] : [o.path]));
  for (const p of touched) {
    assert.ok(suppressed.has(p), `suppress was told about ${p}`);
    const node = after.get(p);
    if (node === undefined) assert.equal(suppressed.get(p), null, p);
    else if (node.type === 'file') {
      const st = suppressed.get(p);
      assert.deepEqual(st && { size: st.size, mtimeMs: st.mtimeMs }, { size: node.size, mtimeMs: node.mtimeMs }, p);
      assert.equal(st?.ctimeMs, lstatSync(join(root, p)).ctimeMs, `${p}: the ctime the write left`);
    }
  }
  return { ops: plan.ops.map((o) => `${o.op} ${o.path}`), suppressed, fetches };
}

describe('executePlan: plans from planApply reach the merged tree on disk', () => {
  it('creates files, dirs and symlinks in an empty root', async (t) => {
    await converge(t, {}, { 'a/b/f': 'hello', g: 'world@2#600', l: '->a/b/f@1', 'e/': '750' });
  });

  it('edits content and metadata in place', async (t) => {
    const run = await converge(t, { f: 'v1', g: 'same', h: 'x', 'd/': '755' }, { f: 'v2@3', g: 'same@5#600', h: 'x', 'd/': '700' });
    assert.ok(run.ops.includes('setmeta g') && run.ops.includes('setmeta d'));
  });

  it('deletes files, symlinks and whole dirs children first', async (t) => {
    const run = await converge(t, { 'd/e/f': 'x', 'd/g': 'y', k: 'z', l: '->k' }, { k: 'z' });
    assert.deepEqual(run.suppressed.get('d'), null);
  });

  it('changes kinds: file → dir, dir → symlink, symlink → file', async (t) => {
    await converge(t, { a: 'file', 'b/x': 'in', c: '->t' }, { 'a/y': 'new', b: '->a', c: 'now a file@4' });
  });

  it('keeps a local edit as a conflict copy without fetching it', async (t) => {
    const run = await converge(t, { 'doc.txt': 'mine@2' }, { 'doc.txt': 'theirs@3', 'doc.sync-conflict-20261122-031700-A.txt': 'mine@2' });
    assert.ok(run.ops.some((o) => /^(move|copy) doc\.sync-conflict/.test(o)), run.ops.join(', '));
    assert.equal(run.fetches, 1);
  });

  it('moves a file into a new dir', async (t) => {
    const run = await converge(t, { f: 'X' }, { 'd/f': 'X' });
    assert.deepEqual(run.ops, ['mkdir d', 'move d/f']);
    assert.equal(run.suppressed.get('f'), null);
  });

  it('swaps two files through a stash', async (t) => {
    const run = await converge(t, { a: 'X', b: 'Y' }, { a: 'Y', b: 'X' });
    assert.ok(run.ops.some((o) => o.includes(STASH_PREFIX)), run.ops.join(', '));
    assert.equal(run.fetches, 0);
  });

  it('fills a read-only dir and sets its mode last', async (t) => {
    await converge(t, { 'ro/old': 'o' }, { 'ro/': '555', 'ro/f': 'x', 'ro/sub/': '500', 'ro/sub/g': 'y' });
  });

  it('copies one content to several places and replaces a file with a copy of another', async (t) => {
    await converge(t, { a: 'X', b: 'Y' }, { a: 'X', b: 'X@1', 'c/d': 'X@2', e: 'Y' });
  });
});
