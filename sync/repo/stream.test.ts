import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { StrataError } from '../errors.js';
import { ForwardingStore } from '../store/forwarding.js';
import type { ByteRange, ObjectStore } from '../store/index.js';
import { openRepository } from './format.js';
import { MAX_RESUMES } from './reader.js';
import { makeBlobs, newRepo, rejectsWith } from './testkit.js';

/** Serves bodies in small pieces; the first `breaks` bodies stop after `after` bytes with `error`. */
class BreakingStore extends ForwardingStore {
  readonly opened: ByteRange[] = [];
  breaks = 0;

  constructor(
    inner: ObjectStore,
    private readonly after: number,
    private readonly error: () => Error = () => new StrataError('E_TRANSIENT', 'connection reset mid-body'),
  ) {
    super(inner);
  }

  override async getStream(key: string, range?: ByteRange): Promise<Readable> {
    if (range) this.opened.push(range);
    const bytes = await this.inner.get(key, range);
    const broken = this.breaks > 0;
    if (broken) this.breaks--;
    const { after, error } = this;
    async function* pieces(): AsyncGenerator<Uint8Array> {
      for (let at = 0; at < bytes.byteLength; at += 100) {
        if (broken && at >= after) throw error();
        yield bytes.subarray(at, Math.min(at + 100, bytes.byteLength));
      }
    }
    return Readable.from(pieces(), { objectMode: false });
  }
}

async function setup(after: number, error?: () => Error) {
  const { store, repo } = await newRepo();
  const blobs = makeBlobs(21, 40, 250, true);
  for (const b of blobs) await repo.addBlob('data', b.id, b.data);
  await repo.flush();
  const breaking = new BreakingStore(store, after, error);
  return { blobs, breaking, reader: await openRepository(breaking) };
}

describe('streamed reads', () => {
  it('delivers every blob once, verified, whether it lies inside one piece of the body or spans several', async () => {
    const { blobs, reader } = await setup(0);
    const got = new Map<string, Uint8Array>();
    await reader.readBlobs(
      blobs.map((b) => b.id),
      (id, data) => {
        assert.ok(!got.has(id), `blob ${id} delivered twice`);
        got.set(id, data.slice());
      },
    );
    assert.equal(got.size, blobs.length);
    for (const b of blobs) assert.deepEqual(got.get(b.id), b.data);
  });

  it('resumes a body that breaks off from the first blob not yet delivered', async () => {
    const { blobs, breaking, reader } = await setup(1000);
    breaking.breaks = 2;
    const got: string[] = [];
    await reader.readBlobs(
      blobs.map((b) => b.id),
      (id) => void got.push(id),
    );
    assert.equal(got.length, blobs.length);
    assert.equal(new Set(got).size, blobs.length);
    const [first, second, third] = breaking.opened.slice(-3) as [ByteRange, ByteRange, ByteRange];
    assert.ok(second.offset > first.offset && third.offset > second.offset, 'each retry starts later, at an undelivered blob');
    assert.equal(second.offset + second.length, first.offset + first.length);
  });

  it(`gives up after ${MAX_RESUMES} resumes, and never resumes a permanent error`, async () => {
    const transient = await setup(100);
    transient.breaking.breaks = MAX_RESUMES + 1;
    await rejectsWith(transient.reader.readBlobs(transient.blobs.map((b) => b.id), () => {}), 'E_TRANSIENT');
    const permanent = await setup(100, () => new StrataError('E_PERMANENT', 'refused mid-body'));
    permanent.breaking.breaks = 1;
    const opened = permanent.breaking.opened.length;
    await rejectsWith(permanent.reader.readBlobs(permanent.blobs.map((b) => b.id), () => {}), 'E_PERMANENT');
    assert.equal(permanent.breaking.opened.length, opened + 1);
  });

  it("does not retry the consumer's own failure", async () => {
    const { blobs, breaking, reader } = await setup(0);
    const opened = breaking.opened.length;
    await assert.rejects(
      reader.readBlobs(
        blobs.map((b) => b.id),
        () => {
          throw new StrataError('E_TRANSIENT', 'the consumer failed');
        },
      ),
      /the consumer failed/,
    );
    assert.equal(breaking.opened.length, opened + 1);
  });
});
