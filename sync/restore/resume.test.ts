import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { StrataError } from '../errors.js';
import { openRepository } from '../repo/format.js';
import type { ByteRange, ObjectStore, PartialUpload, PutBody } from '../store/index.js';
import { MemoryStore } from '../store/memory.js';
import { makeRng, testSeed } from '../testing/random.js';
import { restoreTree } from './index.js';
import { dir, expectedListing, file, link, listing, newRepo, saveLayer, tempDir, type Spec } from './testkit.js';

/** Fails every GET with E_TRANSIENT once `budget` GETs have been made. */
class FailAfterStore implements ObjectStore {
  gets = 0;
  budget = Infinity;
  constructor(readonly inner: ObjectStore) {}
  get location() {
    return this.inner.location;
  }
  put(key: string, body: PutBody) {
    return this.inner.put(key, body);
  }
  async get(key: string, range?: ByteRange) {
    if (++this.gets > this.budget) throw new StrataError('E_TRANSIENT', 'injected failure', { key });
    return this.inner.get(key, range);
  }
  async getStream(key: string, range?: ByteRange) {
    if (++this.gets > this.budget) throw new StrataError('E_TRANSIENT', 'injected failure', { key });
    return this.inner.getStream(key, range);
  }
  head(key: string) {
    return this.inner.head(key);
  }
  list(prefix: string) {
    return this.inner.list(prefix);
  }
  delete(key: string) {
    return this.inner.delete(key);
  }
  listUploads(prefix: string) {
    return this.inner.listUploads(prefix);
  }
  abortUpload(upload: PartialUpload) {
    return this.inner.abortUpload(upload);
  }
}

function bigSpec(seed: number): Spec {
  const rng = makeRng(seed);
  const folder = (n: number): Spec => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}.bin`, file(rng.bytes(rng.range(0, 40 * 1024)), rng.pick([0o644, 0o600, 0o755]), 1_650_000_000_000 + rng.int(1e9))]));
  return { a: dir(folder(15)), b: dir({ c: dir(folder(10), 0o555) }, 0o700), 'top.bin': file(rng.bytes(120 * 1024)), ln: link('a/f1.bin'), empty: dir({}) };
}

describe('restore: resumable', () => {
  it('a restore cut off by store failures at a random point, run again, equals a clean restore', async (t) => {
    const seed = testSeed('restore resume after store failure');
    const rng = makeRng(seed);
    const store = new MemoryStore();
    const spec = bigSpec(seed);
    const { repo } = await newRepo({ store, packSize: 64 * 1024 });
    const root = await saveLayer(repo, spec);
    const target = await tempDir(t, 'resume');
    for (let round = 0; round < 3; round++) {
      const faulty = new FailAfterStore(store);
      const broken = await openRepository(faulty, { readConcurrency: 2 });
      faulty.budget = faulty.gets + rng.range(1, 12);
      await restoreTree(broken, { target, root, concurrency: rng.range(1, 4) }).then(
        () => undefined,
        (err: unknown) => assert.ok(err instanceof StrataError && err.code === 'E_TRANSIENT', String(err)),
      );
    }
    const stats = await restoreTree(await openRepository(store), { target, root });
    assert.deepEqual(await listing(target), expectedListing(spec));
    assert.equal(stats.bytesReused + stats.bytesSeeded + stats.bytesDownloaded, stats.bytes);
  });

  it('an aborted restore fails with E_ABORTED, keeps finished files, and the rerun completes it', async (t) => {
    const seed = testSeed('restore resume after abort');
    const spec = bigSpec(seed);
    const { repo } = await newRepo({ packSize: 64 * 1024 });
    const root = await saveLayer(repo, spec);
    const target = await tempDir(t, 'resume');
    const ctl = new AbortController();
    const stop = 1 + makeRng(seed).int(20);
    const err = await restoreTree(repo, { target, root, concurrency: 1, signal: ctl.signal, onProgress: (p) => p.filesDone >= stop && ctl.abort() }).catch((e: unknown) => e);
    assert.ok(err instanceof StrataError && err.code === 'E_ABORTED', String(err));
    const stats = await restoreTree(repo, { target, root });
    assert.ok(stats.filesSkippedComplete >= stop, `${stats.filesSkippedComplete} complete files reused, expected ≥ ${stop}`);
    assert.deepEqual(await listing(target), expectedListing(spec));
  });

  it("takes the chunks a killed restore's temp file holds instead of downloading them again, then removes it", async (t) => {
    const bytes = makeRng(11).bytes(256 * 1024);
    const spec: Spec = { 'big.bin': file(bytes) };
    const { repo } = await newRepo();
    const root = await saveLayer(repo, spec);
    const target = await tempDir(t, 'resume');
    // What a restore killed half-way through the file leaves: its temp (named with its pid), the first half written.
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    await writeFile(join(target, `.strata-tmp-${gone}-0123456789abcdef`), bytes.subarray(0, bytes.length / 2));
    const stats = await restoreTree(repo, { target, root });
    assert.deepEqual(await listing(target), expectedListing(spec));
    assert.ok(stats.bytesSeeded >= bytes.length / 2 - 32 * 1024, `seeded ${stats.bytesSeeded} of the ${bytes.length / 2} bytes the temp held`);
    assert.equal(stats.bytesSeeded + stats.bytesDownloaded, bytes.length);
  });

  it('removes temp files a crash left behind, repairs half-written files and read-only folders', async (t) => {
    const spec = bigSpec(9);
    const { repo } = await newRepo();
    const root = await saveLayer(repo, spec);
    const target = await tempDir(t, 'resume');
    await mkdir(join(target, 'b/c'), { recursive: true });
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    await writeFile(join(target, `.strata-tmp-${gone}-0123456789abcdef`), 'junk');
    await writeFile(join(target, `b/c/.strata-tmp-${gone}-feedfacecafebeef`), 'junk');
    await writeFile(join(target, 'top.bin'), 'half');
    await chmod(join(target, 'b/c'), 0o555);
    await restoreTree(repo, { target, root });
    assert.deepEqual(await listing(target), expectedListing(spec));
  });

  it('a rerun repairs what a power loss left of files written without an fsync each: empty, or zeros, with their name and mtime on disk', async (t) => {
    // New files are renamed into place before one syncfs makes them durable (index.ts,
    // Durability): a power loss before it may keep a file's name, size and times but not its
    // bytes. The rerun must not take such a file for laid by its name or its size and mtime.
    const spec: Spec = { 'a.txt': file('alpha, all of it'), d: dir({ 'b.bin': file(new Uint8Array(5000).fill(7)) }) };
    const { repo } = await newRepo();
    const root = await saveLayer(repo, spec);
    const target = await tempDir(t, 'lost-write');
    await restoreTree(repo, { target, root });
    const a = join(target, 'a.txt');
    const b = join(target, 'd/b.bin');
    const { mtime } = await stat(a);
    await truncate(a, 0);
    await utimes(a, mtime, mtime);
    await writeFile(b, new Uint8Array(5000));
    await utimes(b, mtime, mtime);
    const stats = await restoreTree(repo, { target, root });
    assert.equal(stats.filesSkippedComplete, 0);
    assert.deepEqual(await listing(target), expectedListing(spec));
  });
});
