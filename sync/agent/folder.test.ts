import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import fsp, { rename } from 'node:fs/promises';
import { lstatSync, utimesSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { failListing } from '../testing/fail-listing.js';
import { basename, dirname, join, sep } from 'node:path';
import { test, type TestContext } from 'node:test';
import { StrataError } from '../errors.js';
import { ForwardingStore } from '../store/forwarding.js';
import type { ByteRange, ObjectStore, PutBody } from '../store/index.js';
import { keys } from '../repo/types.js';
import { MemoryStore } from '../store/memory.js';
import { defineScenarios } from './scenarios.js';
import { BLOCKED_MS, type FolderOptions } from './folder.js';
import { sameStat } from './walk.js';
import { assertSame, converge, Device, initStore, LAYER, listDir, tempRoot, twoDevices } from './testkit.js';

defineScenarios('memory store', { makeStore: async () => ({ store: new MemoryStore() }) });

/** Fails the reads that `failing` picks while armed, as a connection reset does. */
class ReadsFail extends ForwardingStore {
  armed = false;
  constructor(
    inner: ObjectStore,
    private readonly failing: (key: string, range?: ByteRange) => boolean,
  ) {
    super(inner);
  }

  override get(key: string, range?: ByteRange): Promise<Uint8Array> {
    return this.fails(key, range) ?? super.get(key, range);
  }

  override getStream(key: string, range?: ByteRange): Promise<Readable> {
    return this.fails(key, range) ?? super.getStream(key, range);
  }

  private fails(key: string, range?: ByteRange): Promise<never> | undefined {
    if (this.armed && this.failing(key, range)) return Promise.reject(new StrataError('E_TRANSIENT', 'injected: connection reset', { key }));
    return undefined;
  }
}

test('a merge cut off halfway does not turn the versions it applied into conflicts later', async (t) => {
  // Large ranged reads of packs fail: b's pass stops after applying the small files of its plan.
  // (Snapshots and profiles are read with a range too, capped at their limit: those must go through.)
  const mem = new MemoryStore();
  const flaky = new ReadsFail(mem, (key, range) => key.startsWith('data/') && (range?.length ?? 0) >= 64 << 10);
  const { a, b } = await twoDevices(t, 'pending', { mem, b: flaky });
  await a.write('a.txt', 'v1');
  await a.write('b.bin', randomBytes(3 << 20).toString('base64'));
  await a.pass();
  flaky.armed = true;
  await assert.rejects(b.pass(), /injected/);
  assert.equal(await b.read('a.txt'), 'v1', 'the small file was applied before the big one failed');
  // B stops here (a crash, or just the error) and starts again; meanwhile A edits the file it already has.
  flaky.armed = false;
  await b.close();
  await b.open();
  await a.write('a.txt', 'v2');
  await a.pass();
  await converge([a, b]);
  const listing = await assertSame([a, b]);
  assert.deepEqual(Object.keys(listing).sort(), ['a.txt', 'b.bin']);
  assert.equal(listing['a.txt'], 'v2');
});

test('a restart trusts the last synced pass only while the stat cache is as that pass left it', async (t) => {
  const base = await tempRoot(t, 'settled');
  const mem = new MemoryStore();
  await initStore(mem);
  let onPhase: ((state: string) => void) | undefined;
  const a = await Device.create(base, 'deva', mem, { onPhase: (p) => onPhase?.(p.state) });
  const b = await Device.create(base, 'devb', mem);
  t.after(async () => {
    await a.close();
    await b.close();
  });
  await a.write('f', 'f1');
  await converge([a, b]);
  // A restart over the unchanged folder: settled at once, nothing written.
  await a.close();
  await a.open();
  const quiet = await a.pass();
  assert.equal(quiet.status === 'synced' && quiet.snapshot, undefined);
  // An edit the scan committed to the stat cache, then the pass stopped before its snapshot (a crash).
  await a.write('g', 'g1');
  const stop = new AbortController();
  onPhase = (state) => state === 'uploading' && stop.abort();
  await assert.rejects(a.folder.pass(stop.signal));
  onPhase = undefined;
  await a.close();
  await a.open();
  await converge([a, b]);
  assert.equal(await b.read('g'), 'g1', 'the committed edit is not taken for settled');
});

test('a same-size rewrite within the timestamp tick of the scan that hashed the file is still synced', async (t) => {
  const { a, b } = await twoDevices(t, 'racy');
  // Both writes carry the mtime one timestamp tick gives them; the inode stays the same.
  const tick = new Date();
  await a.write('f.txt', 'one', tick);
  await a.write('dir/g.txt', 'old', new Date(Date.now() - 3_600_000));
  await converge([a, b]);
  assert.equal(a.folder.local.get('f.txt')?.racy, true, 'hashed within a tick of its mtime');
  assert.equal(a.folder.local.get('dir/g.txt')?.racy, undefined, 'an hour-old mtime vouches for the content');
  await a.write('f.txt', 'two', tick);
  await converge([a, b]);
  assert.equal(await b.read('f.txt'), 'two');
  // Read again long after its mtime, the entry vouches again: the next scan trusts its stat.
  await a.write('f.txt', 'two', new Date(Date.now() - 3_600_000));
  await a.pass();
  assert.equal(a.folder.local.get('f.txt')?.racy, undefined);
});

test('a same-size edit whose mtime is set back to what it was (touch -r, rsync -t) is still synced: the stat cache sees its ctime', async (t) => {
  const { a, b } = await twoDevices(t, 'ctime');
  const old = new Date(Date.now() - 3_600_000);
  await a.write('f.txt', 'one', old);
  await converge([a, b]);
  const ino = (await fsp.lstat(a.path('f.txt'))).ino;
  await a.write('f.txt', 'two', old);
  assert.equal((await fsp.lstat(a.path('f.txt'))).ino, ino, 'the same inode, size and mtime');
  await converge([a, b]);
  assert.equal(await b.read('f.txt'), 'two');
  // And the other way, on the file the engine wrote on b.
  await b.write('f.txt', 'six', old);
  await converge([a, b]);
  assert.equal(await a.read('f.txt'), 'six');
});

test('a same-size edit with its mtime set back (touch -r), made just after the executor wrote the file, is still synced: the apply does not record it as the version it wrote', async (t) => {
  let edit: ((stat: { mtimeMs: number; ctimeMs?: number }) => void) | undefined;
  // suppress runs once the executor has left the file, before the pass records what it left.
  const suppress: FolderOptions['suppress'] = (path, stat) => {
    if (path !== 'f.txt' || stat === null || edit === undefined) return;
    const run = edit;
    edit = undefined;
    run(stat);
  };
  const { a, b } = await twoDevices(t, 'ctime-applied', { aOptions: { suppress } });
  const old = new Date(Date.now() - 3_600_000);
  await a.write('f.txt', 'one', old);
  await converge([a, b]);
  await b.write('f.txt', 'six', new Date(old.getTime() + 60_000));
  await b.pass();
  edit = (left) => {
    writeFileSync(a.path('f.txt'), 'two');
    // Setting the mtime back leaves only the ctime to show the edit: it must have moved.
    do utimesSync(a.path('f.txt'), new Date(left.mtimeMs), new Date(left.mtimeMs));
    while (lstatSync(a.path('f.txt')).ctimeMs === left.ctimeMs);
  };
  await a.pass();
  assert.equal(edit, undefined, 'the edit was made as a pass of a wrote the file');
  assert.equal(await a.read('f.txt'), 'two');
  // The stat cache must not vouch for the edit as the version written ('six', as b has it).
  const kept = a.folder.local.get('f.txt');
  if (kept !== undefined && sameStat(kept, lstatSync(a.path('f.txt')))) assert.notDeepEqual(kept.chunks, b.folder.local.get('f.txt')?.chunks);
  await converge([a, b]);
  assert.equal(await a.read('f.txt'), 'two');
  assert.equal(await b.read('f.txt'), 'two');
});

/** Runs `edit` once, at the first pack read after it is set: a user's edit between a pass's scan and its apply. */
class EditAtPackRead extends ForwardingStore {
  edit: (() => void) | undefined;
  override get(key: string, range?: ByteRange): Promise<Uint8Array> {
    this.run(key);
    return super.get(key, range);
  }

  override getStream(key: string, range?: ByteRange): Promise<Readable> {
    this.run(key);
    return super.getStream(key, range);
  }

  private run(key: string): void {
    if (!key.startsWith('data/') || this.edit === undefined) return;
    const edit = this.edit;
    this.edit = undefined;
    edit();
  }
}

test('a same-size edit with its mtime set back (touch -r), made between the scan and the apply, is not overwritten by the remote version: the executor sees its ctime', async (t) => {
  const mem = new MemoryStore();
  const store = new EditAtPackRead(mem);
  const { a, b } = await twoDevices(t, 'ctime-apply', { mem, a: store });
  const old = new Date(Date.now() - 3_600_000);
  await a.write('f.txt', 'one', old);
  await converge([a, b]);
  await b.write('f.txt', 'remote v2');
  await b.pass();
  store.edit = () => {
    writeFileSync(a.path('f.txt'), 'two');
    utimesSync(a.path('f.txt'), old, old);
  };
  await converge([a, b]);
  assert.equal(store.edit, undefined, 'the edit was made during a pass of a');
  const kept = Object.values(await listDir(a.root));
  assert.ok(kept.includes('two'), `the user's edit is kept: ${JSON.stringify(await listDir(a.root))}`);
  assert.ok(kept.includes('remote v2'), JSON.stringify(await listDir(a.root)));
});

test('a new device over a chain of VDI sessions (each a device of its own) merges the newest head only, reading the others\' snapshots together', async (t) => {
  const base = await tempRoot(t, 'vdi-chain');
  const store = new MemoryStore();
  await initStore(store);
  for (let s = 0; s < 30; s++) {
    const d = await Device.create(base, `vdi${s}`, store);
    await d.pass();
    await d.write(`docs/f${s % 7}.txt`, `edit ${s}`);
    await d.pass();
    await d.close();
  }
  let inFlight = 0;
  let peak = 0;
  const packs: string[] = [];
  const get = store.get.bind(store);
  store.get = async (key, range) => {
    if (key.startsWith('data/')) packs.push(key);
    if (!key.includes('/snapshots/')) return get(key, range);
    peak = Math.max(peak, ++inFlight);
    await new Promise((r) => setTimeout(r, 2));
    inFlight--;
    return get(key, range);
  };
  const fresh = await Device.create(base, 'fresh', store);
  t.after(() => fresh.close());
  assert.equal((await fresh.pass()).status, 'synced');
  assert.deepEqual(Object.keys(await listDir(fresh.root)).sort(), ['docs/', ...Array.from({ length: 7 }, (_, i) => `docs/f${i}.txt`)].sort());
  assert.equal(await fresh.read('docs/f1.txt'), 'edit 29');
  assert.ok(peak > 1, `snapshot reads in flight at once: ${peak}`);
  // The newest head's trees and the files' chunks; merged one by one, every head's trees were read.
  assert.ok(packs.length <= 12, `pack reads: ${packs.length}`);
});

test('renaming a folder that holds most of the files is not held as a mass delete: its files are all still there', async (t) => {
  const { a, b } = await twoDevices(t, 'rename-guard');
  for (let i = 0; i < 12; i++) await a.write(`docs/f${i}.txt`, `file ${i}`);
  await a.write('notes.txt', 'notes');
  await converge([a, b]);
  await rename(a.path('docs'), a.path('papers'));
  a.folder.markDirty(['docs', 'papers']);
  const r = await a.pass();
  assert.equal(r.status, 'synced', 'a rename deletes nothing');
  await converge([a, b]);
  const listing = await assertSame([a, b]);
  assert.equal(listing['papers/f3.txt'], 'file 3');
  assert.equal(listing['docs/'], undefined);
});

test('deleting most of the files is still held when the same bytes survive under fewer names', async (t) => {
  const base = await tempRoot(t, 'dup-guard');
  const mem = new MemoryStore();
  await initStore(mem);
  const a = await Device.create(base, 'deva', mem);
  t.after(() => a.close());
  // Twelve copies of one template, and one other file: deleting eleven copies is a mass delete.
  for (let i = 0; i < 12; i++) await a.write(`copies/c${i}.txt`, 'same bytes');
  await a.write('other.txt', 'other');
  await a.pass();
  for (let i = 1; i < 12; i++) await a.remove(`copies/c${i}.txt`);
  const r = await a.pass();
  assert.equal(r.status, 'held');
  assert.deepEqual(r.status === 'held' && { ...r.held, id: undefined }, { direction: 'local', files: 11, of: 13, id: undefined });
});

test('a held mass delete restored puts back the last version of a path deleted twice in the hour, not the first', async (t) => {
  const base = await tempRoot(t, 'restore-twice');
  const mem = new MemoryStore();
  await initStore(mem);
  const a = await Device.create(base, 'deva', mem);
  t.after(() => a.close());
  for (let i = 0; i < 20; i++) await a.write(`f${i}.txt`, `file ${i}`);
  await a.write('plan.txt', 'first draft');
  assert.equal((await a.pass()).status, 'synced');
  // Deleted, written again, deleted again: each pass goes through on its own.
  await a.remove('plan.txt');
  assert.equal((await a.pass()).status, 'synced');
  await a.write('plan.txt', 'final plan');
  assert.equal((await a.pass()).status, 'synced');
  await a.remove('plan.txt');
  assert.equal((await a.pass()).status, 'synced');
  for (let i = 0; i < 15; i++) await a.remove(`f${i}.txt`);
  const r = await a.pass();
  assert.equal(r.status, 'held');
  await a.folder.restoreHeld(r.status === 'held' ? r.held : assert.fail('not held'));
  assert.equal((await a.pass()).status, 'synced');
  assert.equal(await a.read('f3.txt'), 'file 3');
  assert.equal(await a.read('plan.txt'), 'final plan', 'the version deleted last comes back');
});


/** Runs `run` with `device`'s folder `private` failing to list (EIO), after marking the whole folder dirty. */
async function whileUnlisted(device: Device, run: () => Promise<void>): Promise<void> {
  const heal = failListing(`${sep}private`, 'EIO');
  try {
    device.folder.markAllDirty();
    await run();
  } finally {
    heal();
  }
}

test('a folder that cannot be listed keeps its files on the disk and in the layer', async (t) => {
  const { a, b } = await twoDevices(t, 'unlisted');
  await a.write('private/s1.txt', 'secret 1');
  await a.write('private/deep/s2.txt', 'secret 2');
  await a.write('public.txt', 'public');
  await converge([a, b]);
  await whileUnlisted(a, async () => {
    const r = await a.pass();
    assert.deepEqual(r.scan.skipped.get('private'), 'cannot be read (EIO)');
  });
  assert.equal(await a.read('private/s1.txt'), 'secret 1', 'the pass left what it could not see alone');
  assert.equal(await a.read('private/deep/s2.txt'), 'secret 2');
  await converge([a, b]);
  const listing = await assertSame([a, b]);
  assert.equal(listing['private/s1.txt'], 'secret 1');
  assert.equal(listing['private/deep/s2.txt'], 'secret 2');
});

test('an edit from another device to a file in a folder that could not be listed reaches the disk once it can be, and stays', async (t) => {
  const { a, b } = await twoDevices(t, 'unlisted-edit');
  await a.write('private/s1.txt', 'v1', new Date('2026-01-01T10:00:00Z'));
  await a.write('public.txt', 'public');
  await converge([a, b]);
  await a.write('private/s1.txt', 'v2 from a', new Date('2026-01-02T10:00:00Z'));
  await a.pass();
  await whileUnlisted(b, async () => {
    await b.pass();
  });
  assert.equal(await b.read('private/s1.txt'), 'v1', 'left alone while it could not be listed');
  // b never changed the file: a's edit is the only one. It must reach b, and survive b's next changes.
  await converge([a, b]);
  assert.equal(await b.read('private/s1.txt'), 'v2 from a');
  await b.write('public.txt', 'public 2');
  await converge([a, b]);
  const listing = await assertSame([a, b]);
  assert.equal(listing['private/s1.txt'], 'v2 from a');
});

/** Crashes the process at the next head write, which lands or not: what follows it in the pass never runs. */
class CrashAtHead extends ForwardingStore {
  armed = false;
  lands = true;

  override async put(key: string, body: PutBody): Promise<void> {
    const crash = this.armed && key.startsWith(keys.heads(LAYER));
    if (!crash || this.lands) await super.put(key, body);
    if (crash) {
      this.armed = false;
      throw new StrataError('E_TRANSIENT', `injected: crashed at the head write${this.lands ? ', which landed' : ''}`, { key });
    }
  }
}

test('an edit from another device to a file in a folder that could not be listed survives a crash right after the head write', async (t) => {
  const base = await tempRoot(t, 'unlisted-crash');
  const mem = new MemoryStore();
  await initStore(mem);
  const crashing = new CrashAtHead(mem);
  const a = await Device.create(base, 'deva', mem);
  const b = await Device.create(base, 'devb', crashing);
  t.after(async () => {
    await a.close();
    await b.close();
  });
  await a.write('private/s1.txt', 'v1', new Date('2026-01-01T10:00:00Z'));
  await a.write('public.txt', 'public');
  await converge([a, b]);
  await a.write('private/s1.txt', 'v2 from a', new Date('2026-01-02T10:00:00Z'));
  await a.pass();
  await whileUnlisted(b, async () => {
    crashing.armed = true;
    await assert.rejects(b.pass(), /crashed at the head write, which landed/);
  });
  // b's head names a's edit; its disk still has v1 there. b starts again.
  await b.close();
  await b.open();
  await converge([a, b]);
  const listing = await assertSame([a, b]);
  assert.equal(listing['private/s1.txt'], 'v2 from a', "b's old bytes did not undo a's edit");
});

test('a delete from another device held and restored here comes back everywhere, though the restore crashed before its head', async (t) => {
  const base = await tempRoot(t, 'restore-crash');
  const mem = new MemoryStore();
  await initStore(mem);
  const crashing = new CrashAtHead(mem);
  const a = await Device.create(base, 'deva', mem);
  const b = await Device.create(base, 'devb', crashing);
  t.after(async () => {
    await a.close();
    await b.close();
  });
  for (let i = 0; i < 20; i++) await a.write(`f${i}.txt`, `file ${i}`);
  await a.write('private/s1.txt', 'v1', new Date('2026-01-01T10:00:00Z'));
  await converge([a, b]);
  // b's disk lags its head where it could not read: the restore has that edit to lay, while the
  // tree it writes is its head's.
  await a.write('private/s1.txt', 'v2 from a', new Date('2026-01-02T10:00:00Z'));
  await a.pass();
  await whileUnlisted(b, async () => {
    assert.equal((await b.pass()).status, 'synced');
  });
  for (let i = 0; i < 15; i++) await a.remove(`f${i}.txt`);
  const onA = await a.pass();
  await a.folder.approve(onA.status === 'held' ? onA.held : assert.fail('not held on a'));
  assert.equal((await a.pass()).status, 'synced');
  b.folder.markAllDirty();
  const onB = await b.pass();
  await b.folder.restoreHeld(onB.status === 'held' ? onB.held : assert.fail('not held on b'));
  crashing.armed = true;
  crashing.lands = false;
  await assert.rejects(b.pass(), /crashed at the head write/);
  assert.equal(await b.read('private/s1.txt'), 'v2 from a', 'the restore had laid its edit');
  await b.close();
  await b.open();
  await converge([a, b]);
  const listing = await assertSame([a, b]);
  assert.equal(listing['f3.txt'], 'file 3', 'the restored files are back on the device that deleted them');
  assert.equal(listing['private/s1.txt'], 'v2 from a');
});

test('a file edited on this device while its folder could not be listed, and on another device meanwhile, keeps both versions', async (t) => {
  const { a, b } = await twoDevices(t, 'unlisted-both');
  await a.write('private/s1.txt', 'v1', new Date('2026-01-01T10:00:00Z'));
  await a.write('gone/g.txt', 'g');
  await converge([a, b]);
  await a.write('private/s1.txt', 'v2 from a', new Date('2026-01-02T10:00:00Z'));
  await a.remove('gone');
  await a.pass();
  await whileUnlisted(b, async () => {
    assert.equal((await b.pass()).status, 'synced');
    // b's user edits the file it cannot list, twice over two passes.
    await b.write('private/s1.txt', 'v2 from b', new Date('2026-01-03T10:00:00Z'));
    b.folder.markAllDirty();
    assert.equal((await b.pass()).status, 'synced');
  });
  await converge([a, b]);
  const listing = await assertSame([a, b]);
  const texts = Object.entries(listing).filter(([p]) => p.startsWith('private/s1')).map(([, v]) => v).sort();
  assert.deepEqual(texts, ['v2 from a', 'v2 from b']);
  assert.equal(listing['private/s1.txt'], 'v2 from b', 'the newer edit keeps the name');
  assert.equal(listing['gone/'], undefined);
});

test('a folder deleted on another device while a folder inside it cannot be listed here goes once it can be', async (t) => {
  const { a, b } = await twoDevices(t, 'unlisted-parent');
  await a.write('docs/private/s1.txt', 's1');
  await a.write('docs/d.txt', 'd');
  await a.write('keep.txt', 'k');
  await converge([a, b]);
  await a.remove('docs');
  await a.pass();
  await whileUnlisted(b, async () => {
    assert.equal((await b.pass()).status, 'synced', 'what it cannot list holds the pass up no more than it is deleted');
    assert.equal(await b.read('docs/private/s1.txt'), 's1');
  });
  await converge([a, b]);
  assert.deepEqual(await assertSame([a, b]), { 'keep.txt': 'k' });
});

test('a pass that fails after its scan, before its flush, loses none of the chunks the scan found: the next pass uploads them', async (t) => {
  // Reads of packs fail: a's pass stops after its scan, when it reads another device's trees.
  const mem = new MemoryStore();
  const faulty = new ReadsFail(mem, (key) => key.startsWith('data/'));
  const { a, b } = await twoDevices(t, 'fail-after-scan', { mem, a: faulty });
  await converge([a, b]);
  await b.write('from-b.txt', 'b');
  await b.pass();
  // deva's scan reads and packs its edit (an hour old, so that the stat cache vouches for it
  // later); its merge of devb's head then fails to read devb's trees.
  await a.write('from-a.txt', 'a', new Date(Date.now() - 3_600_000));
  faulty.armed = true;
  await assert.rejects(a.pass(), /injected/);
  faulty.armed = false;
  assert.equal((await a.pass()).status, 'synced');
  await converge([a, b]);
  assert.deepEqual(await assertSame([a, b]), { 'from-a.txt': 'a', 'from-b.txt': 'b' });
});

test("a snapshot missing from the bucket behind an old head this device merged long ago does not stop its passes", async (t) => {
  const base = await tempRoot(t, 'lost-snapshot');
  const mem = new MemoryStore();
  await initStore(mem);
  const a = await Device.create(base, 'deva', mem);
  const b = await Device.create(base, 'devb', mem);
  const c = await Device.create(base, 'devc', mem);
  t.after(async () => {
    await a.close();
    await b.close();
    await c.close();
  });
  await c.write('z', 'z1');
  const first = await c.pass();
  const lost = first.status === 'synced' && first.snapshot !== undefined ? first.snapshot : assert.fail('no snapshot');
  await c.write('z', 'z2');
  await c.pass();
  // devc goes away; deva merges its head, devb deva's; then devb writes on.
  await converge([a, b]);
  await b.write('y', 'from b');
  await b.pass();
  await mem.delete(keys.snapshot(LAYER, lost));
  await a.close();
  await a.open();
  assert.equal((await a.pass()).status, 'synced');
  assert.equal(await a.read('y'), 'from b');
});

test('a file the executor cannot replace (locked, immutable) holds up only itself: the rest syncs both ways', { skip: process.platform !== 'linux' && 'uses chattr +i' }, async (t) => {
  const { a, b, clock } = await pairWithClockOnB(t, 'locked-target');
  await a.write('doc.txt', 'v1', new Date('2026-01-01T10:00:00Z'));
  await converge([a, b]);
  // The file is held on b the way an open Office document or an immutable flag holds it: it cannot be replaced.
  const lock = spawnSync('chattr', ['+i', b.path('doc.txt')]);
  if (lock.status !== 0) return t.skip('chattr +i is not supported here');
  t.after(() => spawnSync('chattr', ['-i', b.path('doc.txt')]));
  await a.write('doc.txt', 'v2 from a', new Date('2026-01-02T10:00:00Z'));
  await a.write('new-from-a.txt', 'a');
  await a.pass();
  await b.write('new-from-b.txt', 'b');
  for (let i = 0; i < 3; i++) await b.pass();
  await a.pass();
  assert.equal(await b.read('new-from-a.txt'), 'a', 'b got the rest of a\'s changes');
  assert.equal(await a.read('new-from-b.txt'), 'b', 'a got b\'s change');
  assert.equal(await b.read('doc.txt'), 'v1');
  // Released, the file takes a's version once b tries it again.
  spawnSync('chattr', ['-i', b.path('doc.txt')]);
  clock.later = BLOCKED_MS;
  await converge([a, b]);
  assert.equal((await assertSame([a, b]))['doc.txt'], 'v2 from a');
});

test('a file another device adds in a folder this one cannot write to (immutable) is never taken for deleted, however often it is tried again', { skip: process.platform !== 'linux' && 'uses chattr +i' }, async (t) => {
  const { a, b, clock } = await pairWithClockOnB(t, 'locked-dir');
  await a.write('ro/one.txt', 'one');
  await a.write('other.txt', 'other');
  await converge([a, b]);
  const lock = spawnSync('chattr', ['+i', b.path('ro')]);
  if (lock.status !== 0) return t.skip('chattr +i is not supported here');
  t.after(() => spawnSync('chattr', ['-i', b.path('ro')]));
  await a.write('ro/two.txt', 'two');
  await a.pass();
  for (let i = 0; i < 3; i++) await b.pass();
  // Tried again (and refused again) after the wait, with a change of b's to send.
  clock.later = BLOCKED_MS;
  await b.write('from-b.txt', 'b');
  for (let i = 0; i < 3; i++) await b.pass();
  await a.pass();
  assert.equal(await a.read('from-b.txt'), 'b');
  assert.equal(await a.read('ro/two.txt'), 'two', 'a keeps the file b could not lay');
  // Released, b lays it.
  spawnSync('chattr', ['-i', b.path('ro')]);
  clock.later = 2 * BLOCKED_MS;
  await converge([a, b]);
  assert.equal((await assertSame([a, b]))['ro/two.txt'], 'two');
});

/**
 * Makes lstat under `root` answer as a case-insensitive disk does (NTFS, APFS): a name that is
 * not there finds the entry whose name differs from it only in case, until the returned function
 * is called. The rest of the file system stays as it is.
 */
function caseInsensitiveLstat(root: string): () => void {
  const original = fsp.lstat;
  const folding = (async (path: Parameters<typeof fsp.lstat>[0], ...rest: unknown[]) => {
    const call = original as (...a: unknown[]) => Promise<unknown>;
    try {
      return await call(path, ...rest);
    } catch (err) {
      const p = String(path);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !p.startsWith(`${root}${sep}`)) throw err;
      const name = basename(p).toLowerCase();
      const hit = (await fsp.readdir(dirname(p)).catch(() => [] as string[])).find((n) => n.toLowerCase() === name);
      if (hit === undefined) throw err;
      return call(join(dirname(p), hit), ...rest);
    }
  }) as typeof fsp.lstat;
  fsp.lstat = folding;
  syncBuiltinESMExports();
  return () => {
    fsp.lstat = original;
    syncBuiltinESMExports();
  };
}

test('on a case-insensitive disk, a rename that changes only the case of a name is a rename, not a second file', async (t) => {
  const base = await tempRoot(t, 'case-rename');
  const mem = new MemoryStore();
  await initStore(mem);
  const a = await Device.create(base, 'deva', mem, { caseInsensitive: true });
  const b = await Device.create(base, 'devb', mem, { caseInsensitive: true });
  const restore = caseInsensitiveLstat(a.root);
  t.after(async () => {
    restore();
    await a.close();
    await b.close();
  });
  // An hour old: the stat cache vouches for it, and a scan does not read it again.
  await a.write('docs/report.txt', 'the report', new Date(Date.now() - 3_600_000));
  await converge([a, b]);
  await a.pass(); // from here, only what the watcher names is scanned
  // The watcher names both spellings; lstat finds the file under either.
  await rename(a.path('docs/report.txt'), a.path('docs/Report.txt'));
  a.folder.markDirty(['docs/report.txt', 'docs/Report.txt']);
  for (const other of [false, true]) {
    if (other) {
      // Again, with a change from another device to merge at the same time.
      await rename(a.path('docs/Report.txt'), a.path('docs/REPORT.txt'));
      a.folder.markDirty(['docs/Report.txt', 'docs/REPORT.txt']);
      await b.write('other.txt', 'from b');
      await b.pass();
    }
    const r = await a.pass();
    assert.equal(r.status, 'synced');
    assert.deepEqual(r.status === 'synced' && r.conflicts, [], 'no conflict copy of the file with itself');
  }
  // A folder renamed the same way, the watcher naming only what is inside it.
  await rename(a.path('docs'), a.path('Docs'));
  a.folder.markDirty(['Docs/REPORT.txt']);
  const r = await a.pass();
  assert.deepEqual(r.status === 'synced' && r.conflicts, [], 'no conflict copy of the folder with itself');
  await converge([a, b]);
  assert.deepEqual(await assertSame([a, b]), { 'Docs/': '', 'Docs/REPORT.txt': 'the report', 'other.txt': 'from b' });
});

/** Two devices on one memory store; b's clock runs `clock.later` ms ahead of the real one. */
async function pairWithClockOnB(t: TestContext, name: string): Promise<{ a: Device; b: Device; clock: { later: number } }> {
  const base = await tempRoot(t, name);
  const mem = new MemoryStore();
  await initStore(mem);
  const clock = { later: 0 };
  const a = await Device.create(base, 'deva', mem);
  const b = await Device.create(base, 'devb', mem, { now: () => new Date(Date.now() + clock.later) });
  t.after(async () => {
    await a.close();
    await b.close();
  });
  return { a, b, clock };
}
