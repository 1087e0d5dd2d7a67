// The index objects a reader keeps on this machine (index-files.ts, read by indexload.ts): a second
// reader fetches none of those kept and knows every blob as a fetching one does; a file that is not
// its index's bytes is fetched again; gc's deletions leave the folder, and only after a whole
// listing; a folder that cannot be written costs the load nothing. On the memory store and on the
// S3 server.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { blobId } from '../chunker/hash.js';
import { StrataError } from '../errors.js';
import { IndexGets } from '../testing/index-gets.js';
import { skipWithoutS3 } from '../testing/s3.js';
import { freshStores } from '../testing/stores.js';
import { fillUp, NEEDS_MOUNT, withTmpfs } from '../testing/tmpfs.js';
import { initRepository, openRepository } from './format.js';
import { collectGarbage } from './gc.js';
import { keptIndexDir, type Repository } from './repository.js';
import { keysUnder, makeBlobs } from './testkit.js';
import type { BlobId } from './types.js';

const DAY = 86_400_000;

for (const backend of ['memory', 's3'] as const) {
  describe(`index objects kept on this machine (${backend})`, { skip: backend === 's3' && skipWithoutS3 }, () => {
    const newStore = freshStores(backend, 'keptidx');

    /** A bucket of `n` index objects (one flush each), read through an IndexGets, and a state dir's folder for kept indexes. */
    async function setup(t: TestContext, n: number) {
      const bucket = await newStore();
      await initRepository(bucket, { packSize: 1 << 20 });
      const writer = await openRepository(bucket, { loadIndex: false });
      const blobs: BlobId[] = [];
      const flushes = async (count: number, seed: number): Promise<void> => {
        for (let i = 0; i < count; i++) {
          for (const b of makeBlobs(seed + i, 3, 200)) {
            await writer.addBlob('data', b.id, b.data);
            blobs.push(b.id);
          }
          await writer.flush();
        }
      };
      await flushes(n, 1);
      const store = new IndexGets(bucket);
      const state = await mkdtemp(join(tmpdir(), 'strata-keptidx-'));
      t.after(() => rm(state, { recursive: true, force: true }));
      const keptIndexes = join(state, 'indexes');
      const dir = keptIndexDir(keptIndexes, writer.format);
      /** A reader of the bucket keeping its indexes in the state dir: its index GETs counted from 0. */
      const reader = async (): Promise<Repository> => {
        store.gets = 0;
        return openRepository(store, { keptIndexes });
      };
      /** Every blob known where a reader that keeps none knows it, and no index reported bad. */
      const assertExact = async (repo: Repository): Promise<void> => {
        const plain = await openRepository(bucket);
        assert.deepEqual(repo.indexErrors, []);
        assert.equal(repo.indexedBlobs, plain.indexedBlobs);
        for (const id of blobs) assert.deepEqual(repo.blobLocation(id), plain.blobLocation(id), `blob ${id}`);
      };
      const kept = async (): Promise<string[]> => (await readdir(dir).catch(() => [])).sort();
      const indexIds = async (): Promise<string[]> => (await keysUnder(bucket, 'index/')).map((k) => k.slice('index/'.length)).sort();
      return { bucket, store, writer, flushes, keptIndexes, dir, reader, assertExact, kept, indexIds };
    }

    it('a second reader fetches no index kept by the first, and one written since only', async (t) => {
      const s = await setup(t, 5);
      const first = await s.reader();
      assert.equal(s.store.gets, 5, 'the first reader fetches them all');
      assert.deepEqual(await s.kept(), await s.indexIds(), 'and keeps them');
      await s.assertExact(first);
      const second = await s.reader();
      assert.equal(s.store.gets, 0, 'the second fetches none');
      await s.assertExact(second);
      await s.flushes(1, 100);
      const third = await s.reader();
      assert.equal(s.store.gets, 1, 'a third fetches the one written since');
      await s.assertExact(third);
      assert.deepEqual(await s.kept(), await s.indexIds());
    });

    it('a writer keeps the indexes it writes: a reader after it fetches none of them', async (t) => {
      const s = await setup(t, 2);
      await s.reader();
      const writer = await openRepository(s.bucket, { loadIndex: false, keptIndexes: s.keptIndexes });
      for (const b of makeBlobs(500, 3, 200)) await writer.addBlob('data', b.id, b.data);
      await writer.flush();
      assert.deepEqual(await s.kept(), await s.indexIds());
      await s.reader();
      assert.equal(s.store.gets, 0);
    });

    it('a torn or altered file, or one holding another index, is fetched again, and the bucket\'s kept in its place', async (t) => {
      const s = await setup(t, 4);
      await s.reader();
      const [torn, flipped, renamed, other] = await s.indexIds();
      await truncate(join(s.dir, torn!), 10);
      const bytes = await readFile(join(s.dir, flipped!));
      const mid = bytes.length >> 1;
      bytes[mid] = bytes[mid]! ^ 1;
      await writeFile(join(s.dir, flipped!), bytes);
      // A valid index under another's name: decoded, it would name other packs.
      await writeFile(join(s.dir, renamed!), await readFile(join(s.dir, other!)));
      const again = await s.reader();
      assert.equal(s.store.gets, 3, 'the three bad files fetched, the good one not');
      await s.assertExact(again);
      for (const id of [torn, flipped, renamed]) assert.equal(blobId(await readFile(join(s.dir, id!)), s.writer.format.hash), id);
    });

    it('keeps no bad index of the bucket, and a kept file of one is read as the bucket\'s is: reported, not used', async (t) => {
      const s = await setup(t, 2);
      const bad = Buffer.from(JSON.stringify({ packs: 'none', version: 1 }));
      const key = `index/${blobId(bad, s.writer.format.hash)}`;
      await s.bucket.put(key, bad);
      const first = await s.reader();
      assert.deepEqual(first.indexErrors.map((e) => [e.code, e.key]), [['E_BAD_OBJECT', key]]);
      assert.ok(!(await s.kept()).includes(key.slice('index/'.length)), 'not kept');
      // The same bytes put in the folder by hand: they hash to the name, and are still no index.
      await writeFile(join(s.dir, key.slice('index/'.length)), bad);
      const second = await s.reader();
      assert.equal(s.store.gets, 1, 'the file dropped, the bucket\'s fetched');
      assert.deepEqual(second.indexErrors.map((e) => [e.code, e.key]), [['E_BAD_OBJECT', key]]);
      assert.ok(!(await s.kept()).includes(key.slice('index/'.length)));
    });

    it('the files of indexes gc deleted go, but not after a listing cut off', async (t) => {
      const s = await setup(t, 10);
      await s.reader();
      const before = await s.indexIds();
      const gcRepo = await openRepository(s.bucket, { loadIndex: false });
      // Ten indexes, more than gc's default of live ones: it consolidates them, and deletes them past the grace period.
      const first = await collectGarbage(gcRepo, { graceMs: DAY, dryRun: false });
      assert.equal(first.indexes.written.length, 1);
      const later = await collectGarbage(gcRepo, { graceMs: DAY, dryRun: false, now: () => Date.now() + 2 * DAY });
      assert.deepEqual(later.indexes.deleted.map((k) => k.slice('index/'.length)).sort(), before);
      s.store.cutLists = true;
      await assert.rejects(s.reader(), (e: unknown) => e instanceof StrataError && e.code === 'E_TRANSIENT');
      assert.deepEqual(await s.kept(), before, 'a listing cut off removes nothing');
      s.store.cutLists = false;
      const after = await s.reader();
      assert.equal(s.store.gets, 1, 'the consolidated index fetched');
      await s.assertExact(after);
      assert.deepEqual(await s.kept(), await s.indexIds(), 'the deleted ones gone, the consolidated one kept');
    });

    it('a folder that cannot be made costs the load nothing', async (t) => {
      const s = await setup(t, 3);
      // A file where the folder of kept indexes goes.
      await writeFile(s.keptIndexes, 'in the way');
      const blocked = await s.reader();
      assert.equal(s.store.gets, 3);
      await s.assertExact(blocked);
    });

    it('a full disk costs the load nothing, and leaves no file, whole or not', { skip: NEEDS_MOUNT }, async (t) => {
      const s = await setup(t, 3);
      await withTmpfs(s.keptIndexes, '64k', async () => {
        await fillUp(s.keptIndexes);
        const full = await s.reader();
        assert.equal(s.store.gets, 3);
        await s.assertExact(full);
        assert.deepEqual(await s.kept(), [], 'no index file, no temp');
      });
    });
  });
}
