/** Stores for suites run on each backend: in memory, and on the test S3 server (s3.ts). */
import { after } from 'node:test';
import type { ObjectStore } from '../store/index.js';
import { MemoryStore } from '../store/memory.js';
import { makeTestS3Store } from './s3.js';

/**
 * For a suite run on each backend: a maker of fresh stores, each in memory or on a bucket of its
 * own on the test server (`prefix`), the buckets dropped after the suite (makeTestS3Store).
 */
export function freshStores(backend: 'memory' | 's3', prefix: string): () => Promise<ObjectStore> {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups) await c();
  });
  return async () => {
    if (backend === 'memory') return new MemoryStore();
    const { store, cleanup } = await makeTestS3Store({ prefix });
    cleanups.push(cleanup);
    return store;
  };
}
