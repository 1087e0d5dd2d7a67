/**
 * A folder on a case-insensitive disk (NTFS, APFS), as lstat answers there: a rename that changes
 * only the case of a name, of a file or of a folder, is a rename, never a second file or a
 * conflict copy of it with itself.
 */
import assert from 'node:assert/strict';
import fsp, { rename } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { basename, dirname, join, sep } from 'node:path';
import { test } from 'node:test';
import { MemoryStore } from '../store/memory.js';
import { assertSame, converge, Device, initStore, tempRoot } from './testkit.js';

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
