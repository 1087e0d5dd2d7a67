// A preload over a layer the user syncs is a three-way merge (DESIGN §3), its base what the
// admin's earlier templates wrote: a file the user never touched takes the template's new version,
// one the user edited while the template changed it keeps both, one the user deleted stays deleted
// unless the template brings a new version of it (an edit wins over a delete), and a file of the
// user's own that a template brings later keeps both; a later template version replaces the
// last one's conflict copy the user left alone. Real devices on a MemoryStore; then two
// preloads at once as the same admin device: the one that finds its head moved refuses.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { converge, Device, initStore, LAYER, tempRoot } from '../agent/testkit.js';
import { openRepository } from '../repo/index.js';
import { rejectsWith } from '../repo/testkit.js';
import { keys } from '../repo/types.js';
import { writeFiles } from '../snapshot/testkit.js';
import { MemoryStore } from '../store/memory.js';
import { BeforeSnapshot } from '../testing/before-snapshot.js';
import { preloadUserLayer, type PreloadResult } from './index.js';

const USER = LAYER.slice('user/'.length);
const V1 = new Date('2024-05-01T09:00:00Z');
const EDITED = new Date('2024-06-01T09:00:00Z');
const V2 = new Date('2024-07-01T09:00:00Z');

/**
 * The admin preloads template v1, the user's device takes it, edits policy.txt, deletes rules.txt
 * and old.txt, and writes a mine.txt of its own; the admin then preloads v2 (guide, policy, old
 * and mine changed or new, rules the same bytes, copied anew), and the device takes that. Returns the device's
 * files and the second preload's result.
 */
async function updatedTemplate(t: TestContext): Promise<{ files: Record<string, string>; second: PreloadResult }> {
  const base = await tempRoot(t, 'preload-merge');
  const store = new MemoryStore();
  await initStore(store);
  const v1 = join(base, 'template-v1');
  await writeFiles(v1, { 'docs/guide.txt': 'guide v1', 'docs/policy.txt': 'policy v1', 'rules.txt': 'rules v1', 'old.txt': 'old v1' }, V1);
  await preloadUserLayer(await openRepository(store), USER, { from: v1, now: () => V1 });
  const dev = await Device.create(base, 'deva', store);
  t.after(() => dev.close());
  await converge([dev]);
  assert.equal(await dev.read('docs/guide.txt'), 'guide v1');
  await dev.write('docs/policy.txt', 'my policy', EDITED);
  await dev.remove('rules.txt');
  await dev.remove('old.txt');
  await dev.write('mine.txt', 'my own', EDITED);
  await converge([dev]);

  const v2 = join(base, 'template-v2');
  await writeFiles(v2, { 'docs/guide.txt': 'guide v2', 'docs/policy.txt': 'policy v2', 'rules.txt': 'rules v1', 'old.txt': 'old v2', 'mine.txt': 'the company one' }, V2);
  const second = await preloadUserLayer(await openRepository(store), USER, { from: v2, now: () => V2 });
  await converge([dev]);
  const files = Object.fromEntries(Object.entries(await dev.listing()).filter(([p]) => !p.endsWith('/')));
  return { files, second };
}

const copiesOf = (files: Record<string, string>, stem: string) =>
  Object.entries(files)
    .filter(([p]) => p.startsWith(`${stem}.sync-conflict-`))
    .map(([, text]) => text);

describe('preload over a layer the user syncs: a three-way merge', () => {
  it('a template the admin updated reaches a file the user never touched, with no conflict copy', async (t) => {
    const { files } = await updatedTemplate(t);
    assert.equal(files['docs/guide.txt'], 'guide v2');
    assert.deepEqual(copiesOf(files, 'docs/guide'), [], JSON.stringify(files));
  });

  it('a file the user edited while the template changed it keeps both versions, the newer at the name', async (t) => {
    const { files, second } = await updatedTemplate(t);
    assert.equal(files['docs/policy.txt'], 'policy v2');
    assert.deepEqual(copiesOf(files, 'docs/policy'), ['my policy'], JSON.stringify(files));
    assert.deepEqual(second.kept.find((k) => k.path === 'docs/policy.txt')?.copyOf, 'layer');
  });

  it('a file the user deleted stays deleted while the template has it unchanged, and comes back when the template changed it', async (t) => {
    const { files } = await updatedTemplate(t);
    assert.equal(files['rules.txt'], undefined, JSON.stringify(files));
    assert.deepEqual(copiesOf(files, 'rules'), []);
    // An edit wins over a delete (DESIGN §3): the admin's new version is not lost.
    assert.equal(files['old.txt'], 'old v2');
    assert.deepEqual(copiesOf(files, 'old'), []);
  });

  it("a file of the user's own that a later template also has keeps both versions", async (t) => {
    const { files } = await updatedTemplate(t);
    assert.equal(files['mine.txt'], 'the company one');
    assert.deepEqual(copiesOf(files, 'mine'), ['my own'], JSON.stringify(files));
    assert.equal(Object.keys(files).filter((p) => p.includes('.sync-conflict-')).length, 2, JSON.stringify(files));
  });

  it("a preload run again (the same template) over the user's changes writes nothing and brings nothing back", async (t) => {
    const base = await tempRoot(t, 'preload-again');
    const store = new MemoryStore();
    await initStore(store);
    const tpl = join(base, 'template');
    await writeFiles(tpl, { 'a.txt': 'a', 'b.txt': 'b' }, V1);
    await preloadUserLayer(await openRepository(store), USER, { from: tpl, now: () => V1 });
    const dev = await Device.create(base, 'deva', store);
    t.after(() => dev.close());
    await converge([dev]);
    await dev.remove('a.txt');
    await dev.write('b.txt', 'my b', EDITED);
    await converge([dev]);
    const again = await preloadUserLayer(await openRepository(store), USER, { from: tpl, now: () => V2 });
    assert.equal(again.changed, false);
    assert.deepEqual(again.kept, []);
  });
});

describe('a later template over a path both changed before', () => {
  const V3 = new Date('2024-08-01T09:00:00Z');

  /** Template v1, the user's edit of policy.txt at `edited`, template v2 (both kept), then template v3; the device converged after each. */
  async function thirdTemplate(t: TestContext, edited: Date, between?: (dev: Device) => Promise<void>): Promise<{ files: Record<string, string>; third: PreloadResult }> {
    const base = await tempRoot(t, 'preload-third');
    const store = new MemoryStore();
    await initStore(store);
    const preload = async (name: string, text: string, at: Date) => {
      const dir = join(base, name);
      await writeFiles(dir, { 'policy.txt': text }, at);
      return preloadUserLayer(await openRepository(store), USER, { from: dir, now: () => at });
    };
    await preload('v1', 'policy v1', V1);
    const dev = await Device.create(base, 'deva', store);
    t.after(() => dev.close());
    await converge([dev]);
    await dev.write('policy.txt', 'my policy', edited);
    await converge([dev]);
    const second = await preload('v2', 'policy v2', V2);
    assert.equal(second.kept.length, 1);
    await converge([dev]);
    if (between) {
      await between(dev);
      await converge([dev]);
    }
    const third = await preload('v3', 'policy v3', V3);
    await converge([dev]);
    const files = Object.fromEntries(Object.entries(await dev.listing()).filter(([p]) => !p.endsWith('/')));
    return { files, third };
  }

  it("the template's version took the name and the user left it: the next template's replaces it, with no new conflict copy", async (t) => {
    const { files, third } = await thirdTemplate(t, EDITED);
    assert.equal(files['policy.txt'], 'policy v3', JSON.stringify(files));
    assert.deepEqual(copiesOf(files, 'policy'), ['my policy'], JSON.stringify(files));
    assert.deepEqual(third.kept, []);
  });

  it("the user's version kept the name: the next template's version replaces the last one's conflict copy the user left alone, not one more copy each time", async (t) => {
    // The user's edit is newer than every template's version, so it keeps the name each time.
    const { files, third } = await thirdTemplate(t, new Date('2024-09-01T09:00:00Z'));
    assert.equal(files['policy.txt'], 'my policy', JSON.stringify(files));
    assert.deepEqual(copiesOf(files, 'policy'), ['policy v3'], JSON.stringify(files));
    assert.deepEqual(third.kept.map((k) => k.copyOf), ['template']);
  });

  it('a conflict copy of the last template version that the user changed stays', async (t) => {
    const copy = 'policy.sync-conflict-20240701-090000-admin.txt';
    const { files } = await thirdTemplate(t, new Date('2024-09-01T09:00:00Z'), (dev) => dev.write(copy, 'policy v2, my notes'));
    assert.equal(files[copy], 'policy v2, my notes', JSON.stringify(files));
    assert.deepEqual(copiesOf(files, 'policy').sort(), ['policy v2, my notes', 'policy v3'], JSON.stringify(files));
  });
});

describe('a preload over a layer of a case-insensitive machine', () => {
  it("a template's Readme.txt over the user's README.txt keeps both, one as a conflict copy, not both names", async (t) => {
    const base = await tempRoot(t, 'preload-case');
    const store = new MemoryStore();
    await initStore(store);
    const dev = await Device.create(base, 'deva', store, { caseInsensitive: true });
    t.after(() => dev.close());
    await dev.write('README.txt', 'mine', EDITED);
    await converge([dev]);
    const tpl = join(base, 'template');
    await writeFiles(tpl, { 'Readme.txt': 'the company one' }, V2);
    const repo = await openRepository(store);
    const r = await preloadUserLayer(repo, USER, { from: tpl, now: () => V2, caseInsensitive: true });
    const names = (await repo.loadTree(r.snapshot.root)).entries.map((e) => e.name);
    assert.equal(names.filter((n) => n.toLowerCase() === 'readme.txt').length, 1, JSON.stringify(names));
    assert.equal(names.length, 2, JSON.stringify(names));
    assert.deepEqual(r.kept.length, 1, JSON.stringify(r.kept));
    // Said as two names that differ only in case: the layer holds one, the other is its copy.
    const [k] = r.kept;
    assert.ok(k?.caseOf !== undefined && names.includes(k.caseOf) && names.includes(k.copy) && k.path !== k.caseOf, JSON.stringify(r.kept));
    assert.equal(k.path.toLowerCase(), 'readme.txt');
  });

  it('a template that holds README.txt and Readme.txt (a case-sensitive disk) is written with one of the names, the other as its conflict copy, listed', async (t) => {
    const base = await tempRoot(t, 'preload-case-template');
    const store = new MemoryStore();
    await initStore(store);
    const tpl = join(base, 'template');
    await writeFiles(tpl, { 'README.txt': 'upper', 'Readme.txt': 'mixed', 'docs/a.txt': 'a', 'Docs/b.txt': 'b' }, V1);
    const repo = await openRepository(store);
    for (const [layerHad, at] of [[false, V1], [true, V2]] as const) {
      if (layerHad) await writeFiles(tpl, { 'README.txt': 'upper 2', 'Readme.txt': 'mixed 2' }, V2);
      const r = await preloadUserLayer(repo, USER, { from: tpl, now: () => at, caseInsensitive: true });
      const root = await repo.loadTree(r.snapshot.root);
      const names = root.entries.map((e) => e.name);
      assert.equal(names.filter((n) => n.toLowerCase() === 'readme.txt').length, 1, JSON.stringify(names));
      // (An earlier template's copy stays beside it, as any file of the layer that a template lacks.)
      assert.ok(r.kept[0] !== undefined && names.includes(r.kept[0].copy), JSON.stringify(names));
      assert.equal(names.filter((n) => n.toLowerCase() === 'docs').length, 1, `one folder holds both: ${JSON.stringify(names)}`);
      assert.deepEqual(r.kept.map((k) => [k.path, k.copyOf, k.caseOf]), [['Readme.txt', 'template', 'README.txt']], `${layerHad ? 'over a layer' : 'a new layer'}: ${JSON.stringify(r.kept)}`);
    }
  });

  it("a later template's Readme.txt replaces an earlier one's README.txt: before a sign-in, and once the user synced it", async (t) => {
    const base = await tempRoot(t, 'preload-case-rename');
    const store = new MemoryStore();
    await initStore(store);
    const preload = async (name: string, files: Record<string, string>, at: Date) => {
      await writeFiles(join(base, name), files, at);
      const repo = await openRepository(store);
      const r = await preloadUserLayer(repo, USER, { from: join(base, name), now: () => at, caseInsensitive: true });
      return { r, names: (await repo.loadTree(r.snapshot.root)).entries.map((e) => e.name) };
    };
    await preload('v1', { 'README.txt': 'v1', 'Docs/old.txt': 'old' }, V1);
    const before = await preload('v2', { 'Readme.txt': 'v2', 'docs/new.txt': 'new' }, V2);
    assert.deepEqual(before.names, ['Readme.txt', 'docs']);
    const dev = await Device.create(base, 'deva', store, { caseInsensitive: true });
    t.after(() => dev.close());
    await converge([dev]);
    // What the earlier template's Docs held moved with the rename.
    assert.equal(await dev.read('docs/old.txt'), 'old');
    const V3 = new Date('2024-08-01T09:00:00Z');
    const after = await preload('v3', { 'readme.txt': 'v3' }, V3);
    assert.deepEqual(after.names, ['docs', 'readme.txt']);
    assert.deepEqual(after.r.kept, []);
  });
});

describe('two preloads at once as the same admin device', () => {
  it("the one that finds its head moved while it ran refuses, naming the head, and the other's template stays reachable", async (t) => {
    const base = await tempRoot(t, 'preload-race');
    const store = new MemoryStore();
    await initStore(store);
    const first = join(base, 'first');
    const second = join(base, 'second');
    await writeFiles(first, { 'first.txt': 'first' }, V1);
    await writeFiles(second, { 'second.txt': 'second' }, V1);
    let other: PreloadResult | undefined;
    const racing = new BeforeSnapshot(store, LAYER, async () => {
      other = await preloadUserLayer(await openRepository(store), USER, { from: second, now: () => V1 });
    });
    await rejectsWith(preloadUserLayer(await openRepository(racing), USER, { from: first, now: () => V1 }), 'E_HEAD_MOVED', keys.head(LAYER, 'admin'));
    assert.ok(other);
    const heads = (await (await openRepository(store)).listHeads(LAYER)).heads;
    assert.deepEqual(heads.map((h) => [h.device, h.snapshot]), [['admin', other.snapshotId]]);

    // Run again, the preload takes in what the other wrote.
    const r = await preloadUserLayer(await openRepository(store), USER, { from: first, now: () => V2 });
    const dev = await Device.create(base, 'deva', store);
    t.after(() => dev.close());
    await converge([dev]);
    assert.equal(await dev.read('first.txt'), 'first');
    assert.equal(await dev.read('second.txt'), 'second');
    assert.equal(r.changed, true);
  });
});
