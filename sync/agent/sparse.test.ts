/**
 * Sparse files in live sync: a peer's sparse file (a disk image, a preallocated download) is
 * written with its runs of zeros left as holes, so that it takes blocks for its data only here too;
 * so is a remote edit of one, whose unchanged chunks are taken from the file on the disk.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import { test, type TestContext } from 'node:test';
import { MemoryStore } from '../store/memory.js';
import { allocatedBytes, holeDir } from '../testing/holes.js';
import { makeRng } from '../testing/random.js';
import { Device, initStore } from './testkit.js';

const MiB = 1 << 20;

async function devices(t: TestContext): Promise<{ a: Device; b: Device; holes: boolean }> {
  const { dir, holes } = await holeDir(t, 'agent-sparse');
  const mem = new MemoryStore();
  await initStore(mem);
  const a = await Device.create(dir, 'deva', mem);
  const b = await Device.create(dir, 'devb', mem);
  t.after(async () => {
    await a.close();
    await b.close();
  });
  return { a, b, holes };
}

/** Writes `size` bytes at `path`: `data` (random bytes of these lengths) at these offsets, holes elsewhere. */
async function writeSparseFile(path: string, size: number, data: Array<[offset: number, length: number]>, seed: number): Promise<void> {
  const rng = makeRng(seed);
  const fh = await open(path, 'w');
  try {
    for (const [offset, length] of data) await fh.write(rng.bytes(length), 0, length, offset);
    await fh.truncate(size);
  } finally {
    await fh.close();
  }
}

const sha = async (path: string): Promise<string> => createHash('sha256').update(await readFile(path)).digest('hex');

/** b's copy of `rel` has a's bytes and size and, where holes are kept, takes at most `dataBytes` + 1 MiB. */
async function assertSparseCopy(a: Device, b: Device, rel: string, dataBytes: number, holes: boolean): Promise<void> {
  const size = (await stat(a.path(rel))).size;
  assert.equal((await stat(b.path(rel))).size, size, `${rel}: size`);
  assert.equal(await sha(b.path(rel)), await sha(a.path(rel)), `${rel}: bytes`);
  if (!holes) return;
  const taken = await allocatedBytes(b.path(rel));
  assert.ok(taken <= dataBytes + MiB && taken < size / 2, `${rel}: ${taken} bytes allocated for ${dataBytes} of data in ${size}`);
}

const skipUnlessHoles = (t: TestContext, holes: boolean): void => {
  if (!holes) t.skip('no file system here keeps holes (temp dir nor worktree): only the bytes were checked');
};

test("a peer's sparse files are written with holes, large and small, ending in a hole or not", async (t) => {
  const { a, b, holes } = await devices(t);
  await writeSparseFile(a.path('disk.img'), 24 * MiB, [[0, 64 * 1024], [10 * MiB, 200 * 1024], [24 * MiB - 5000, 5000]], 1);
  await writeSparseFile(a.path('tail-hole.img'), 16 * MiB, [[0, 100 * 1024]], 2);
  await writeSparseFile(a.path('small.db'), 900 * 1024, [[0, 8192]], 3);
  await writeSparseFile(a.path('zeros'), 3 * MiB, [], 4);
  a.folder.markDirty(['disk.img', 'tail-hole.img', 'small.db', 'zeros']);
  assert.equal((await a.pass()).status, 'synced');
  assert.equal((await b.pass()).status, 'synced');
  await assertSparseCopy(a, b, 'disk.img', 64 * 1024 + 200 * 1024 + 5000, holes);
  await assertSparseCopy(a, b, 'tail-hole.img', 100 * 1024, holes);
  await assertSparseCopy(a, b, 'small.db', 8192, holes);
  await assertSparseCopy(a, b, 'zeros', 0, holes);
  skipUnlessHoles(t, holes);
});

test('a remote edit of a sparse file keeps its holes where chunks are taken from the file on the disk', async (t) => {
  const { a, b, holes } = await devices(t);
  await writeSparseFile(a.path('disk.img'), 32 * MiB, [[0, MiB], [20 * MiB, MiB]], 5);
  a.folder.markDirty(['disk.img']);
  await a.pass();
  await b.pass();
  const fh = await open(a.path('disk.img'), 'r+');
  await fh.write(Buffer.alloc(4096, 7), 0, 4096, 10 * MiB);
  await fh.close();
  a.folder.markDirty(['disk.img']);
  await a.pass();
  const edit = await b.pass();
  assert.equal(edit.status, 'synced');
  if (edit.status === 'synced') assert.ok(edit.downloaded < 4 * MiB, `downloaded ${edit.downloaded} bytes for a 4 KiB edit`);
  await assertSparseCopy(a, b, 'disk.img', 2 * MiB + 4096, holes);
  skipUnlessHoles(t, holes);
});

test('a file without zeros is written whole', async (t) => {
  const { a, b, holes } = await devices(t);
  await writeSparseFile(a.path('data.bin'), 3 * MiB, [[0, 3 * MiB]], 6);
  a.folder.markDirty(['data.bin']);
  await a.pass();
  await b.pass();
  assert.equal(await sha(b.path('data.bin')), await sha(a.path('data.bin')));
  if (holes) assert.ok((await allocatedBytes(b.path('data.bin'))) >= 3 * MiB);
  skipUnlessHoles(t, holes);
});

test("a copy of a sparse file the machine already has is made locally with its holes", async (t) => {
  const { a, b, holes } = await devices(t);
  await writeSparseFile(a.path('disk.img'), 32 * MiB, [[0, MiB], [20 * MiB, 300 * 1024]], 7);
  a.folder.markDirty(['disk.img']);
  await a.pass();
  await b.pass();
  await writeSparseFile(a.path('copy.img'), 32 * MiB, [[0, MiB], [20 * MiB, 300 * 1024]], 7);
  a.folder.markDirty(['copy.img']);
  await a.pass();
  const copied = await b.pass();
  assert.equal(copied.status, 'synced');
  if (copied.status === 'synced') assert.equal(copied.downloaded, 0, 'the copy is made from disk.img');
  await assertSparseCopy(a, b, 'copy.img', MiB + 300 * 1024, holes);
  skipUnlessHoles(t, holes);
});
