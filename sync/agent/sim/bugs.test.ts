/**
 * The simulation's findings, each cut down to a scripted case (sim.test.ts has the seeds). A case
 * failed before its fix.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import type { Readable } from 'node:stream';
import { StrataError } from '../../errors.js';
import { ForwardingStore } from '../../store/forwarding.js';
import { openRepository } from '../../repo/index.js';
import { keys, type FileEntry } from '../../repo/types.js';
import type { ByteRange, PutBody } from '../../store/index.js';
import { MemoryStore } from '../../store/memory.js';
import type { FolderOptions } from '../folder.js';
import { assertSame, converge, Device, initStore, LAYER, tempRoot } from '../testkit.js';

interface Hooks {
  /** Called after each op the executor applied (the watcher's echo suppression hook). */
  applied?: (path: string) => void;
  phase?: FolderOptions['onPhase'];
}

async function setup(t: TestContext, names: string[], hooks: Record<string, Hooks> = {}): Promise<Device[]> {
  const base = await tempRoot(t, 'sim-bug');
  const store = new MemoryStore();
  await initStore(store);
  const out: Device[] = [];
  for (const n of names) {
    const h = hooks[n] ?? {};
    out.push(await Device.create(base, n, store, { suppress: (p) => h.applied?.(p), onPhase: (p) => h.phase?.(p) }));
  }
  t.after(async () => {
    for (const d of out) await d.close();
  });
  return out;
}

/** A user's synchronous write, as a watcher would report it. */
function userWrite(d: Device, rel: string, text: string): void {
  writeFileSync(d.path(rel), text);
  d.folder.markDirty([rel]);
}

test('a dir the user creates before the executor does keeps the merged files inside it', async (t) => {
  const hooks: Hooks = {};
  const [a, b] = (await setup(t, ['deva', 'devb'], { devb: hooks })) as [Device, Device];
  await a.write('a/1', 'one');
  await a.write('b/x.txt', 'keep me');
  await a.pass();
  // The plan makes dirs first: right after `a`, the user makes `b` (and a file in it) on devb.
  hooks.applied = (p) => {
    if (p !== 'a') return;
    hooks.applied = undefined;
    mkdirSync(b.path('b'));
    userWrite(b, 'b/a', 'from the user of devb');
  };
  assert.equal((await b.pass()).status, 'retry');
  await converge([a, b]);
  assert.deepEqual(await assertSame([a, b]), { 'a/': '', 'a/1': 'one', 'b/': '', 'b/a': 'from the user of devb', 'b/x.txt': 'keep me' });
});

test(
  'an edit the scan found is kept when the pass stops right after the scan, while a merge is pending',
  async (t) => {
    const ha: Hooks = {};
    const [a, b] = (await setup(t, ['deva', 'devb'], { deva: ha })) as [Device, Device];
    await a.write('z', 'z0');
    await converge([a, b]);
    await b.write('a.txt', 'a from b');
    await b.write('c.txt', 'c from b');
    await b.pass();
    // deva's pass is stopped (pause, crash or a store fault) after writing a.txt: the merge is pending.
    const stop = new AbortController();
    ha.applied = (p) => {
      if (p === 'a.txt') stop.abort();
    };
    await assert.rejects(a.folder.pass(stop.signal));
    ha.applied = undefined;
    // The user edits z; the next pass stops right after its scan committed the edit.
    await a.write('z', 'z edited on deva', new Date('2024-06-01T12:00:00Z'));
    const stop2 = new AbortController();
    ha.phase = (p) => {
      if (p.state === 'uploading') stop2.abort();
    };
    await assert.rejects(a.folder.pass(stop2.signal));
    ha.phase = undefined;
    await converge([a, b]);
    assert.deepEqual(await assertSame([a, b]), { 'a.txt': 'a from b', 'c.txt': 'c from b', z: 'z edited on deva' });
  },
);

test(
  "a user edit to a file the pending merge had not written yet keeps the other device's version",
  async (t) => {
    const ha: Hooks = {};
    const [a, b] = (await setup(t, ['deva', 'devb'], { deva: ha })) as [Device, Device];
    await a.write('x', 'x0');
    await converge([a, b]);
    await b.write('a.txt', 'a from b');
    await b.write('x', 'x edited on devb', new Date('2024-06-01T10:00:00Z'));
    await b.pass();
    // While deva applies devb's head, right after a.txt and before x, deva's user edits x.
    ha.applied = (p) => {
      if (p !== 'a.txt') return;
      ha.applied = undefined;
      userWrite(a, 'x', 'x edited on deva');
    };
    assert.equal((await a.pass()).status, 'retry');
    await converge([a, b]);
    const texts = Object.values(await assertSame([a, b]));
    assert.ok(texts.includes('x edited on deva'), 'deva edit kept');
    assert.ok(texts.includes('x edited on devb'), 'devb edit kept (as a conflict copy)');
  },
);

test(
  'a failed upload during a scan fails the pass instead of escaping as an unhandled rejection',
  async (t) => {
    const [a] = (await setup(t, ['deva'])) as [Device];
    for (const n of ['f1', 'f2', 'f3', 'f4']) await a.write(n, `text of ${n}`);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    t.after(() => void process.off('unhandledRejection', onUnhandled));
    const stop = new AbortController();
    stop.abort(new Error('paused'));
    await assert.rejects(a.folder.pass(stop.signal));
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(unhandled, []);
  },
);

/** Fails the first pack upload, as a dropped connection would. */
class FailFirstPack extends ForwardingStore {
  armed = true;

  override put(key: string, body: PutBody): Promise<void> {
    if (this.armed && key.startsWith('data/')) {
      this.armed = false;
      return Promise.reject(new StrataError('E_TRANSIENT', 'connection reset', { key }));
    }
    return super.put(key, body);
  }
}

test(
  'after a failed pack upload the next pass of the same folder goes through',
  async (t) => {
    const base = await tempRoot(t, 'sim-bug');
    const memory = new MemoryStore();
    await initStore(memory);
    const store = new FailFirstPack(memory);
    const a = await Device.create(base, 'deva', store);
    t.after(() => a.close());
    await a.write('f', 'text');
    await assert.rejects(a.pass(), /connection reset/);
    a.folder.markAllDirty();
    assert.equal((await a.pass()).status, 'synced');
  },
);

test(
  'a file the user puts where the pending merge was making a dir leaves a tree the planner accepts',
  async (t) => {
    const hb: Hooks = {};
    const [a, b] = (await setup(t, ['deva', 'devb'], { devb: hb })) as [Device, Device];
    await a.write('c/1', 'c1');
    await a.write('d/f', 'f in d');
    await a.pass();
    // devb applies that head (dirs first); right after `mkdir c`, before `mkdir d`, its user saves a file named d.
    hb.applied = (p) => {
      if (p !== 'c') return;
      hb.applied = undefined;
      userWrite(b, 'd', 'a file named d');
    };
    assert.equal((await b.pass()).status, 'retry');
    await converge([a, b]);
    const texts = Object.values(await assertSame([a, b]));
    assert.ok(texts.includes('a file named d') && texts.includes('f in d'));
  },
);

test(
  'a dir replaced by another dir of the same name between passes is scanned in full',
  async (t) => {
    const [a, b] = (await setup(t, ['deva', 'devb'])) as [Device, Device];
    await a.write('d/x', 'old x');
    await converge([a, b]);
    await a.pass(); // converge() left a full rescan due; this pass takes it
    const { rm, rename } = await import('node:fs/promises');
    await rm(a.path('d'), { recursive: true });
    mkdirSync(a.path('other/x'), { recursive: true });
    writeFileSync(a.path('other/x/y'), 'new y');
    await rename(a.path('other'), a.path('d'));
    // What the watcher reports for that: the dir removed, and the rename's old and new path.
    a.folder.markDirty(['d', 'other']);
    await a.pass();
    await b.pass();
    assert.deepEqual(await b.listing(), { 'd/': '', 'd/x/': '', 'd/x/y': 'new y' });
  },
);

/** Fails the first read of one object, as a dropped connection would. */
class FailFirstGet extends ForwardingStore {
  key: string | undefined;

  override get(key: string, range?: ByteRange): Promise<Uint8Array> {
    return this.fails(key) ?? super.get(key, range);
  }

  override getStream(key: string, range?: ByteRange): Promise<Readable> {
    return this.fails(key) ?? super.getStream(key, range);
  }

  private fails(key: string): Promise<never> | undefined {
    if (key !== this.key) return undefined;
    this.key = undefined;
    return Promise.reject(new StrataError('E_TRANSIENT', 'connection reset', { key }));
  }
}

test(
  'after a store fault while the executor fetched a file, the next pass of the same folder goes through',
  async (t) => {
    const base = await tempRoot(t, 'sim-bug');
    const memory = new MemoryStore();
    await initStore(memory);
    const a = await Device.create(base, 'deva', memory);
    await a.write('f', 'text of f');
    await a.pass();
    // The pack that holds f's bytes: devb reads it only when its executor writes f.
    const repo = await openRepository(memory);
    const { heads } = await repo.listHeads(LAYER);
    const root = await repo.loadTree((await repo.loadSnapshot(LAYER, heads[0]!.snapshot)).root);
    const f = root.entries.find((e): e is FileEntry => e.name === 'f' && e.type === 'file')!;
    const store = new FailFirstGet(memory);
    store.key = keys.pack(repo.blobLocation(f.chunks[0]!)!.pack);
    const b = await Device.create(base, 'devb', store);
    t.after(async () => {
      await a.close();
      await b.close();
    });
    await assert.rejects(b.pass(), /connection reset/);
    assert.equal((await b.pass()).status, 'synced');
    assert.equal(await b.read('f'), 'text of f');
  },
);

test('a file the user puts where a dir the executor just filled was does not fail the pass', async (t) => {
  const hb: Hooks = {};
  const [a, b] = (await setup(t, ['deva', 'devb'], { devb: hb })) as [Device, Device];
  await a.write('a/b/f', 'f in a/b');
  await a.write('z', 'z');
  await a.pass();
  // devb applies that head; once a/b/f is written (its dir is due an fsync), the user replaces a with a file.
  hb.applied = (p) => {
    if (p !== 'a/b/f') return;
    hb.applied = undefined;
    rmSync(b.path('a'), { recursive: true });
    userWrite(b, 'a', 'a file named a');
  };
  const r = await b.pass();
  assert.ok(r.status === 'retry' || r.status === 'synced', r.status);
  await converge([a, b]);
  const texts = Object.values(await assertSame([a, b]));
  assert.ok(texts.includes('a file named a'));
});

test('a stash that an apply stopped by a user write leaves at the root is removed, and the bytes it held still land', async (t) => {
  const hooks: Hooks = {};
  const [a, b] = (await setup(t, ['deva', 'devb'], { devb: hooks })) as [Device, Device];
  await a.write('x', 'one');
  await a.write('y', 'two');
  await a.pass();
  await b.pass();
  // deva swaps the contents: devb's plan moves one of them aside (a stash) while it overwrites the other.
  await a.write('x', 'two');
  await a.write('y', 'one');
  await a.pass();
  let stashed = false;
  hooks.applied = (p) => {
    if (!p.startsWith('.strata-stash-')) return;
    stashed = true;
    hooks.applied = undefined;
    userWrite(b, 'z', 'written while devb applied');
    userWrite(b, 'x', 'the user of devb, mid-apply');
    userWrite(b, 'y', 'the user of devb, mid-apply too');
  };
  const first = await b.pass();
  assert.ok(stashed, 'the plan used a stash');
  assert.equal(first.status, 'retry');
  assert.deepEqual(readdirSync(b.path('')).filter((n) => n.startsWith('.strata-stash-')), [], 'no stash left after the pass');
  await converge([a, b]);
  const tree = await assertSame([a, b]);
  const texts = Object.values(tree);
  for (const v of ['one', 'two', 'the user of devb, mid-apply', 'the user of devb, mid-apply too', 'written while devb applied']) assert.ok(texts.includes(v), `${v} is somewhere: ${JSON.stringify(tree)}`);
});

test('the recovery after a crash removes the stashes the crashed apply left at the root', async (t) => {
  const [a, b] = (await setup(t, ['deva', 'devb'])) as [Device, Device];
  await a.write('x', 'one');
  await a.pass();
  await b.pass();
  writeFileSync(b.path('.strata-stash-1'), 'one');
  await b.folder.recover();
  assert.deepEqual(readdirSync(b.path('')).sort(), ['x']);
  await converge([a, b]);
  assert.deepEqual(await assertSame([a, b]), { x: 'one' });
});
