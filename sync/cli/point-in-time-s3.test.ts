// A point-in-time restore of a large file that shares most of its chunks with the version on
// disk, on a real S3 server (Swift's s3api under `npm test`): the chunks the disk has are copied
// from it, only the difference is downloaded. Skips locally without a server.
import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeRng } from '../testing/random.js';
import { dropTestBucket, s3TestEnv, skipWithoutS3, uniqueBucketName } from '../testing/s3.js';
import { cleanEnv, describeRun, strata, writeTree } from './testkit.js';

const MiB = 1024 * 1024;
const SIZE = 200 * MiB;
/** The edit made since the snapshot restored: 1 MiB rewritten in the middle. */
const EDIT_AT = 100 * MiB;

describe('strata restore --path of a large file, mostly the same as on disk, on S3', { skip: skipWithoutS3, timeout: 600_000 }, () => {
  let tmp: string;
  let work: string;
  let bucket: string;
  let created = false;
  let first: string;
  let original: Buffer;
  let run: (...args: string[]) => ReturnType<typeof strata>;

  before(async () => {
    const s3 = s3TestEnv();
    assert.ok(s3, 'STRATA_TEST_S3_ENDPOINT, _ACCESS_KEY and _SECRET_KEY must be set');
    tmp = await mkdtemp(join(tmpdir(), 'strata-pit-s3-'));
    work = join(tmp, 'work');
    bucket = uniqueBucketName('pit');
    const url = `s3://${bucket}/repo?endpoint=${encodeURIComponent(s3.endpoint)}&region=${s3.region}&pathStyle=true`;
    const env = cleanEnv({ AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey });
    run = (...args) => strata(['--store', url, '--device', 'laptop', ...args], env);
    const rng = makeRng(25);
    original = Buffer.from(rng.bytes(SIZE));
    await writeTree(work, { 'disk.img': original });
    assert.equal((await run('init')).code, 0);
    created = true;
    const snap = await run('snapshot', work, '--layer', 'user/alice', '--json');
    assert.equal(snap.code, 0, describeRun(snap));
    first = JSON.parse(snap.stdout).snapshot;
    const f = await open(join(work, 'disk.img'), 'r+');
    await f.write(rng.bytes(MiB), 0, MiB, EDIT_AT);
    await f.close();
    const second = await run('snapshot', work, '--layer', 'user/alice', '--json');
    assert.equal(second.code, 0, describeRun(second));
  });
  after(async () => {
    if (created) await dropTestBucket(bucket);
    await rm(tmp, { recursive: true, force: true });
  });

  for (const beside of [true, false]) {
    it(`${beside ? '--beside' : 'in place'}: downloads about the edited MiB, not the file`, async (t) => {
      const r = await run('restore', work, '--layer', 'user/alice', '--snapshot', first, '--path', 'disk.img', ...(beside ? ['--beside'] : []), '--json');
      assert.equal(r.code, 0, describeRun(r));
      const out = JSON.parse(r.stdout);
      assert.ok((await readFile(join(work, out.restoredAs ?? 'disk.img'))).equals(original), 'restored as it was');
      // The edit spans a few chunks either side of it (avg 128 KiB, max 512 KiB), plus trees and the index.
      t.diagnostic(`GET ${out.requests.gets}, downloaded ${out.bytesDownloaded}, seeded ${out.bytesSeeded}, reused ${out.bytesReused}, ${out.seconds}s`);
      assert.ok(out.bytesDownloaded < 4 * MiB, `downloaded ${out.bytesDownloaded} bytes`);
      assert.ok(out.bytesSeeded > SIZE - 4 * MiB, `seeded ${out.bytesSeeded} bytes`);
    });
  }
});
