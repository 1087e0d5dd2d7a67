/**
 * Test helpers for suites that need a real S3 server.
 *
 * The server comes from the environment (`npm test` starts a throwaway Swift and sets these):
 *   STRATA_TEST_S3_ENDPOINT    e.g. http://127.0.0.1:8080
 *   STRATA_TEST_S3_ACCESS_KEY  STRATA_TEST_S3_SECRET_KEY  STRATA_TEST_S3_REGION (default us-east-1)
 *   STRATA_TEST_S3_DISPOSABLE=1  the server's data is thrown away after the run, so test buckets
 *                                are not emptied one object at a time (that costs seconds)
 *
 * Locally, without them, S3 suites skip. Under CI=true they must not: the suites run and fail
 * loudly, because a green CI that silently skipped its S3 tests would prove nothing.
 */
import { randomBytes } from 'node:crypto';
import { DeleteBucketCommand } from '@aws-sdk/client-s3';
import { StrataError } from '../errors.js';
import type { ObjectStore } from '../store/index.js';
import { S3Store, type S3StoreOptions } from '../store/s3.js';

export interface S3TestEnv {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  disposable: boolean;
}

export function s3TestEnv(env: NodeJS.ProcessEnv = process.env): S3TestEnv | undefined {
  const endpoint = env.STRATA_TEST_S3_ENDPOINT;
  const accessKeyId = env.STRATA_TEST_S3_ACCESS_KEY;
  const secretAccessKey = env.STRATA_TEST_S3_SECRET_KEY;
  if (!endpoint || !accessKeyId || !secretAccessKey) return undefined;
  const region = env.STRATA_TEST_S3_REGION || 'us-east-1';
  return { endpoint, accessKeyId, secretAccessKey, region, disposable: env.STRATA_TEST_S3_DISPOSABLE === '1' };
}

/** A `skip` value for describe/it: a reason when S3 is unavailable locally, false otherwise. */
export function s3SkipReason(env: NodeJS.ProcessEnv = process.env): string | false {
  if (s3TestEnv(env) || env.CI === 'true') return false;
  return 'no S3 test server: set STRATA_TEST_S3_ENDPOINT etc., or run `npm test`, which starts Swift';
}

export const skipWithoutS3: string | false = s3SkipReason();

function requireEnv(): S3TestEnv {
  const env = s3TestEnv();
  if (!env) {
    throw new StrataError(
      'E_TEST_ENV',
      'STRATA_TEST_S3_ENDPOINT/ACCESS_KEY/SECRET_KEY are not set; under CI=true the S3 suites must run (scripts/test.mjs starts Swift)',
    );
  }
  return env;
}

/** A bucket name no other run uses: S3 names are lowercase, 3–63 characters. */
export function uniqueBucketName(label = 'test'): string {
  return `strata-${label}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`.slice(0, 63);
}

export type TestS3StoreOptions = Partial<Omit<S3StoreOptions, 'credentials'>> & {
  credentials?: S3StoreOptions['credentials'];
  /** Create the bucket (default true); false gives a store on a bucket that does not exist. */
  create?: boolean;
  /** Empty and delete the bucket in cleanup even on a disposable server. */
  alwaysEmpty?: boolean;
};

/** Options for an S3Store on the test server, overridable per test. */
export function testS3Options(opts: TestS3StoreOptions = {}): S3StoreOptions {
  const env = requireEnv();
  return {
    endpoint: env.endpoint,
    region: env.region,
    bucket: uniqueBucketName(),
    prefix: 'repo',
    pathStyle: true,
    credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey },
    ...opts,
  };
}

/**
 * A store on a fresh bucket of its own. `cleanup` deletes every object and the bucket, so an
 * external server is left as it was; on a disposable server it only closes the client.
 */
export async function makeTestS3Store(opts: TestS3StoreOptions = {}): Promise<{ store: S3Store; cleanup: () => Promise<void> }> {
  const store = new S3Store(testS3Options(opts));
  if (opts.create !== false) await store.createBucket();
  const cleanup = async (): Promise<void> => {
    store.client.destroy();
    if (opts.create === false || (requireEnv().disposable && !opts.alwaysEmpty)) return;
    await dropTestBucket(store.bucket, opts);
  };
  return { store, cleanup };
}

/** Deletes every object of `bucket` on the test server, then the bucket, so an external server is left as it was. */
export async function dropTestBucket(bucket: string, opts: TestS3StoreOptions = {}): Promise<void> {
  const admin = new S3Store({ ...testS3Options(opts), bucket, prefix: '' });
  try {
    const pending = new Set<Promise<void>>();
    for await (const { key } of admin.list('')) {
      const done: Promise<void> = admin.delete(key).finally(() => pending.delete(done));
      pending.add(done);
      if (pending.size >= 16) await Promise.race(pending);
    }
    await Promise.all(pending);
    await admin.client.send(new DeleteBucketCommand({ Bucket: bucket }));
  } finally {
    admin.client.destroy();
  }
}

/**
 * Waits until `store` dates nothing after this clock's now. Swift's S3 layer gives an object's time
 * rounded up to the next whole second, so what was written this second is younger than a grace
 * period of 0s until that second has passed: a dry run and the run after it would plan apart.
 */
export async function pastBucketTimes(store: ObjectStore): Promise<void> {
  for (;;) {
    let newest = 0;
    for await (const o of store.list('')) newest = Math.max(newest, o.modified ?? 0);
    if (newest <= Date.now()) return;
    await new Promise((r) => setTimeout(r, newest - Date.now()));
  }
}
