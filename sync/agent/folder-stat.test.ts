/**
 * Edits the stat cache must not vouch away: a same-size rewrite within the timestamp tick of the
 * scan that hashed the file, and a same-size edit whose mtime is set back (touch -r, rsync -t) —
 * at rest, just after the executor wrote the file, or between a pass's scan and its apply. Each
 * is still synced, and never overwritten by the remote version.
 */
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import { lstatSync, utimesSync, writeFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { test } from 'node:test';
import { ForwardingStore } from '../store/forwarding.js';
import type { ByteRange } from '../store/index.js';
import { MemoryStore } from '../store/memory.js';
import type { FolderOptions } from './folder.js';
import { sameStat } from './walk.js';
import { converge, listDir, twoDevices } from './testkit.js';

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
