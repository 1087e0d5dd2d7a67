// The sweep of partial uploads (uploads-gc.ts), against the memory store and a real S3 server
// (Swift's s3api; skipped without one).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AbortMultipartUploadCommand, CreateMultipartUploadCommand, ListMultipartUploadsCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import type { PartialUpload } from '../store/index.js';
import { MemoryStore } from '../store/memory.js';
import { RetryingStore } from '../store/retrying.js';
import { makeTestS3Store, skipWithoutS3 } from '../testing/s3.js';
import { sweepUploads } from './uploads-gc.js';

const HOUR = 3_600_000;

const keysOf = (uploads: readonly PartialUpload[]) => uploads.map((u) => u.key).sort();

describe('sweepUploads', () => {
  it('finds nothing to abort in a store whose puts leave no partial uploads', async () => {
    const store = new MemoryStore();
    await store.put('data/ab/abcd', Buffer.from('x'));
    assert.deepEqual(await sweepUploads(store, { graceMs: 0, dryRun: false }), { dryRun: false, removed: [], young: [], unsure: [] });
  });

  describe('on S3', { skip: skipWithoutS3 }, () => {
    let fixture: Awaited<ReturnType<typeof makeTestS3Store>>;
    before(async () => (fixture = await makeTestS3Store()));
    after(async () => fixture?.cleanup());

    /** An upload begun on the server directly, as a writer killed mid-put leaves it; `Key` is the bucket's key. */
    async function begin(Key: string, withPart: boolean): Promise<string> {
      const { client, bucket: Bucket } = fixture.store;
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket, Key }));
      assert.ok(UploadId);
      if (withPart) await client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: Buffer.alloc(1024, 1) }));
      return UploadId;
    }

    it("aborts the repository's uploads older than the grace period, and only those", async () => {
      const store = new RetryingStore(fixture.store);
      await begin('repo/data/ab/ab01', true);
      await begin('repo/data/cd/cd02', false);
      const outside = await begin('elsewhere/data/ab/ab01', true);
      try {
        const young = await sweepUploads(store, { graceMs: HOUR, dryRun: false });
        assert.deepEqual([keysOf(young.young), young.removed, young.unsure], [['data/ab/ab01', 'data/cd/cd02'], [], []]);
        const later = () => Date.now() + 2 * HOUR;
        const dry = await sweepUploads(store, { graceMs: HOUR, dryRun: true, now: later });
        assert.deepEqual(keysOf(dry.removed), ['data/ab/ab01', 'data/cd/cd02']);
        const real = await sweepUploads(store, { graceMs: HOUR, dryRun: false, now: later });
        assert.deepEqual(real.removed, dry.removed);
        const left: PartialUpload[] = [];
        for await (const u of fixture.store.listUploads('')) left.push(u);
        assert.deepEqual(left, []);
        const bucket = await fixture.store.client.send(new ListMultipartUploadsCommand({ Bucket: fixture.store.bucket }));
        assert.deepEqual((bucket.Uploads ?? []).map((u) => u.UploadId), [outside], 'the upload outside the repository was left alone');
      } finally {
        await fixture.store.client.send(new AbortMultipartUploadCommand({ Bucket: fixture.store.bucket, Key: 'elsewhere/data/ab/ab01', UploadId: outside })).catch(() => {});
      }
    });
  });
});
