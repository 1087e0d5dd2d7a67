// The strata CLI against a real S3 server (Swift's s3api under `npm test`): init creates the
// bucket, then snapshot → restore gives an identical tree. Skips locally without a server.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dropTestBucket, s3TestEnv, skipWithoutS3, uniqueBucketName } from '../testing/s3.js';
import { makeRng } from '../testing/random.js';
import { cleanEnv, describeRun, readTree, strata, writeTree } from './testkit.js';

describe('strata CLI on S3', { skip: skipWithoutS3 }, () => {
  let tmp: string;
  let bucket: string;
  let created = false;
  let run: (...args: string[]) => ReturnType<typeof strata>;

  before(async () => {
    const s3 = s3TestEnv();
    assert.ok(s3, 'STRATA_TEST_S3_ENDPOINT, _ACCESS_KEY and _SECRET_KEY must be set');
    tmp = await mkdtemp(join(tmpdir(), 'strata-cli-s3-'));
    bucket = uniqueBucketName('cli');
    const url = `s3://${bucket}/repo?endpoint=${encodeURIComponent(s3.endpoint)}&region=${s3.region}&pathStyle=true`;
    const env = cleanEnv({ AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey });
    run = (...args) => strata(['--store', url, '--device', 'ci-box', ...args], env);
    const rng = makeRng(7);
    await writeTree(join(tmp, 'src'), { 'a.txt': 'on s3\n', sub: { 'b.bin': rng.bytes(40_000), 'c.bin': rng.bytes(150_000) }, 'l': { link: 'a.txt' } });
  });
  after(async () => {
    if (created) await dropTestBucket(bucket);
    await rm(tmp, { recursive: true, force: true });
  });

  it('init creates the bucket; snapshot and restore give an identical tree', async () => {
    const init = await run('init');
    assert.equal(init.code, 0, describeRun(init));
    created = true;
    assert.match(init.stdout, new RegExp(`at s3://${bucket}/repo$`, 'm'));

    const snap = await run('snapshot', join(tmp, 'src'), '--layer', 'user/bob', '--json');
    assert.equal(snap.code, 0, describeRun(snap));
    const s = JSON.parse(snap.stdout);
    assert.equal(s.files, 3);
    assert.ok(s.requests.puts >= 4);

    const restore = await run('restore', join(tmp, 'out'), '--layer', 'user/bob', '--json');
    assert.equal(restore.code, 0, describeRun(restore));
    assert.equal(JSON.parse(restore.stdout).snapshot, s.snapshot);
    assert.deepEqual(await readTree(join(tmp, 'out')), await readTree(join(tmp, 'src')));

    const check = await run('check', '--read-data');
    assert.equal(check.code, 0, describeRun(check));
  });
});
