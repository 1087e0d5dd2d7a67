/**
 * The ObjectStore conformance suite: every backend runs it (restic's backend/test idea).
 * Call `storeConformance(name, makeStore)` from a test file; `makeStore` returns a fresh, empty
 * store (a new prefix is enough) and an optional cleanup.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it, before, after } from 'node:test';
import { randomBytes } from 'node:crypto';
import { isStrataError } from '../errors.js';
import { readAll, type ObjectStore } from './index.js';

export interface StoreFixture {
  store: ObjectStore;
  cleanup?: () => Promise<void>;
}

export interface ConformanceOptions {
  /** Size of the "large object" case; large enough to force multipart on S3. */
  largeSize?: number;
  skip?: string | false;
}

export function storeConformance(name: string, make: () => Promise<StoreFixture>, opts: ConformanceOptions = {}): void {
  const largeSize = opts.largeSize ?? 12 * 1024 * 1024 + 12345;

  describe(`ObjectStore conformance: ${name}`, { skip: opts.skip ?? false }, () => {
    let fixture: StoreFixture;
    let store: ObjectStore;
    before(async () => {
      fixture = await make();
      store = fixture.store;
    });
    after(async () => {
      await fixture?.cleanup?.();
    });

    it('puts and gets bytes back exactly', async () => {
      const body = randomBytes(1000);
      await store.put('a/b/one', body);
      assert.deepEqual(Buffer.from(await store.get('a/b/one')), body);
    });

    it('stores an empty object', async () => {
      await store.put('empty', new Uint8Array(0));
      assert.equal((await store.get('empty')).byteLength, 0);
      assert.deepEqual(await store.head('empty'), { key: 'empty', size: 0 });
    });

    it('put is idempotent and a second put replaces the bytes', async () => {
      const body = randomBytes(100);
      await store.put('idem', body);
      await store.put('idem', body);
      assert.deepEqual(Buffer.from(await store.get('idem')), body);
      const other = randomBytes(50);
      await store.put('idem', other);
      assert.deepEqual(Buffer.from(await store.get('idem')), other);
    });

    it('get of a missing key fails with E_NOT_FOUND', async () => {
      await assert.rejects(store.get('missing/key'), (err) => isStrataError(err, 'E_NOT_FOUND'));
      await assert.rejects(store.getStream('missing/key'), (err) => isStrataError(err, 'E_NOT_FOUND'));
    });

    it('head reports size, or undefined for a missing key', async () => {
      await store.put('sized', randomBytes(777));
      assert.deepEqual(await store.head('sized'), { key: 'sized', size: 777 });
      assert.equal(await store.head('no-such'), undefined);
    });

    it('ranged get returns exactly the requested bytes, clipped at the end', async () => {
      const body = randomBytes(4096);
      await store.put('ranged', body);
      assert.deepEqual(Buffer.from(await store.get('ranged', { offset: 0, length: 1 })), body.subarray(0, 1));
      assert.deepEqual(Buffer.from(await store.get('ranged', { offset: 1000, length: 2000 })), body.subarray(1000, 3000));
      assert.deepEqual(Buffer.from(await store.get('ranged', { offset: 4000, length: 500 })), body.subarray(4000));
      assert.deepEqual(Buffer.from(await readAll(await store.getStream('ranged', { offset: 10, length: 20 }))), body.subarray(10, 30));
    });

    it('ranged get past the end is an error', async () => {
      await store.put('short', randomBytes(10));
      await assert.rejects(store.get('short', { offset: 10, length: 5 }), (err) => isStrataError(err));
    });

    it('lists every key under a prefix once, in order, across pages', async () => {
      const keys = Array.from({ length: 1205 }, (_, i) => `list/${String(i).padStart(5, '0')}`);
      // Upload with bounded parallelism; list must page past 1000 on S3.
      for (let i = 0; i < keys.length; i += 50) {
        await Promise.all(keys.slice(i, i + 50).map((k) => store.put(k, Buffer.from(k))));
      }
      await store.put('listx/outside', Buffer.from('x'));
      const seen: string[] = [];
      for await (const info of store.list('list/')) {
        seen.push(info.key);
        assert.equal(info.size, info.key.length);
      }
      assert.deepEqual(seen, keys);

      // A listing resumed after a key yields exactly the keys after it (RetryingStore relies on it).
      const resumed: string[] = [];
      for await (const info of store.list('list/', { startAfter: keys[1100] })) resumed.push(info.key);
      assert.deepEqual(resumed, keys.slice(1101));
    });

    it("a listing's version changes when an object is written with other bytes, and only then; it gives the write time", async () => {
      const versionOf = async (key: string): Promise<string | undefined> => {
        for await (const info of store.list(key)) if (info.key === key) return info.version;
        return undefined;
      };
      await store.put('ver/head', Buffer.from('snapshot one'));
      await store.put('ver/other', Buffer.from('another'));
      const first = await versionOf('ver/head');
      assert.ok(first, 'the listing gives a version');
      assert.equal(await versionOf('ver/head'), first, 'unchanged object, same version');
      await store.put('ver/other', Buffer.from('another, rewritten'));
      assert.equal(await versionOf('ver/head'), first, "another object's write leaves it alone");
      await store.put('ver/head', Buffer.from('snapshot two'));
      const second = await versionOf('ver/head');
      assert.ok(second !== undefined && second !== first, `rewritten with other bytes: ${first} → ${second}`);
      for await (const info of store.list('ver/')) {
        // The server's clock: near ours here (it only orders snapshots for bulk reads).
        assert.ok(info.modified !== undefined && Math.abs(info.modified - Date.now()) < 3_600_000, `${info.key} modified ${info.modified}`);
      }
    });

    it('delete removes, and deleting a missing key succeeds', async () => {
      await store.put('del/me', Buffer.from('x'));
      await store.delete('del/me');
      assert.equal(await store.head('del/me'), undefined);
      await store.delete('del/me');
      await store.delete('del/never');
    });

    it('streams a large body in and out', async () => {
      const block = randomBytes(1024 * 1024);
      const open = (): Readable =>
        Readable.from(
          (function* () {
            let left = largeSize;
            while (left > 0) {
              const n = Math.min(left, block.length);
              yield block.subarray(0, n);
              left -= n;
            }
          })(),
        );
      await store.put('large/blob', { size: largeSize, open });
      assert.deepEqual(await store.head('large/blob'), { key: 'large/blob', size: largeSize });
      let total = 0;
      let mismatch = false;
      for await (const part of await store.getStream('large/blob')) {
        const buf = part as Buffer;
        for (let i = 0; i < buf.length; i += 65536) {
          const at = (total + i) % block.length;
          const n = Math.min(65536, buf.length - i, block.length - at);
          if (!buf.subarray(i, i + n).equals(block.subarray(at, at + n))) mismatch = true;
        }
        total += buf.length;
      }
      assert.equal(total, largeSize);
      assert.equal(mismatch, false);
      const tail = await store.get('large/blob', { offset: largeSize - 100, length: 100 });
      const expected = Buffer.alloc(100);
      for (let i = 0; i < 100; i++) expected[i] = block[(largeSize - 100 + i) % block.length]!;
      assert.deepEqual(Buffer.from(tail), expected);
    });

    it('a put that resolved leaves no partial upload, and aborting an upload that is gone succeeds', async () => {
      await store.put('uploads/small', Buffer.from('x'));
      const left: string[] = [];
      for await (const upload of store.listUploads('')) left.push(upload.key);
      assert.deepEqual(left, []);
      await store.abortUpload({ key: 'uploads/small', uploadId: 'bm8tc3VjaC11cGxvYWQ' });
    });

    it('rejects invalid keys', async () => {
      for (const key of ['', '/abs', 'a/../b', 'a//b', 'trailing/']) {
        await assert.rejects(store.put(key, Buffer.from('x')), (err) => isStrataError(err, 'E_BAD_KEY'), key);
      }
    });
  });
}
