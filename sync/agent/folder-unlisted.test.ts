/**
 * A folder that cannot be listed (EIO): its files stay on the disk and in the layer, another
 * device's edit or delete there reaches the disk once it can be listed (also after a crash at the
 * head write, or a held delete's restore that crashed before its head), and an edit made there on
 * both sides keeps both versions.
 */
import assert from 'node:assert/strict';
import { sep } from 'node:path';
import { test, type TestContext } from 'node:test';
import { StrataError } from '../errors.js';
import { keys } from '../repo/types.js';
import { ForwardingStore } from '../store/forwarding.js';
import type { PutBody } from '../store/index.js';
import { MemoryStore } from '../store/memory.js';
import { failListing } from '../testing/fail-listing.js';
import { assertSame, converge, Device, initStore, LAYER, tempRoot, twoDevices } from './testkit.js';

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

/** Devices a and b of one bucket, b's head writes through a CrashAtHead; both closed after the test. */
async function crashPair(t: TestContext, name: string): Promise<{ a: Device; b: Device; crashing: CrashAtHead }> {
  const base = await tempRoot(t, name);
  const mem = new MemoryStore();
  await initStore(mem);
  const crashing = new CrashAtHead(mem);
  const a = await Device.create(base, 'deva', mem);
  const b = await Device.create(base, 'devb', crashing);
  t.after(async () => {
    await a.close();
    await b.close();
  });
  return { a, b, crashing };
}

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
  const { a, b, crashing } = await crashPair(t, 'unlisted-crash');
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
  const { a, b, crashing } = await crashPair(t, 'restore-crash');
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
