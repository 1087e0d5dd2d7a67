// `strata admin forget --all` when a request fails that every layer would meet (credentials
// refused, the bucket gone, the endpoint not answering): the run stops after the layers in flight,
// says so on one line with how many it did not attempt, and exits 1. On a memory store whose layer
// listings fail with each such code (the attempts counted), and on a real S3 server (Swift's s3api
// under `npm test`; skipped locally without one) with credentials it refuses.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StrataError, type ErrorCode } from '../../errors.js';
import { initRepository, openRepository } from '../../repo/index.js';
import { ForwardingStore } from '../../store/forwarding.js';
import type { ListOptions, ObjectInfo, ObjectStore } from '../../store/index.js';
import { MemoryStore } from '../../store/memory.js';
import { openStore } from '../../store/url.js';
import { makeTestS3Store, s3TestEnv, skipWithoutS3 } from '../../testing/s3.js';
import { Context } from '../context.js';
import { forgetAll, LAYERS_AT_ONCE } from './admin-forget-all.js';

/** A layer's own listing, the first request of its forget. */
const LAYER_LISTING = /^layers\/(user|org)\/[^/]+\/snapshots\/$/;

/**
 * The bucket as `inner` has it, except that each layer's own listing goes to `refusing` and is
 * counted: an admin whose key is refused (revoked, say) once the layers are listed.
 */
class LayersRefused extends ForwardingStore {
  attempts = 0;

  constructor(
    inner: ObjectStore,
    private readonly refusing: ObjectStore,
  ) {
    super(inner);
  }

  override list(prefix: string, opts?: ListOptions): AsyncIterable<ObjectInfo> {
    if (!LAYER_LISTING.test(prefix)) return super.list(prefix, opts);
    this.attempts++;
    return this.refusing.list(prefix, opts);
  }
}

/** A store every listing of fails with `code`. */
function failingWith(code: ErrorCode): ObjectStore {
  return new (class extends ForwardingStore {
    override list(prefix: string): AsyncIterable<ObjectInfo> {
      return {
        [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new StrataError(code, `list at memory: failed (${code})`, { key: prefix })) }),
      };
    }
  })(new MemoryStore());
}

/** A bucket with `users` user layers and one org layer, each a key under its folder. */
async function bucket(store: ObjectStore, users: number): Promise<void> {
  await initRepository(store, { id: 'forget-all' });
  for (let i = 0; i < users; i++) await store.put(`layers/user/u${String(i).padStart(2, '0')}/heads/pc`, Buffer.from('{}'));
  await store.put('layers/org/base/heads/admin', Buffer.from('{}'));
}

async function forgetAllOn(store: ObjectStore, json: boolean): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = { stdout: (s: string) => void (stdout += s), stderr: { write: (s: string) => void (stderr += s), isTTY: false }, env: {} };
  const ctx = new Context(io, 'admin', { values: json ? { json: true } : {}, positionals: [] });
  const repo = await openRepository(store, { loadIndex: false });
  const code = await forgetAll(ctx, repo, { policy: { last: 1 }, graceMs: 0, dryRun: false }, '0s');
  return { code, stdout, stderr };
}

describe('strata admin forget --all, a failed request every layer would meet', () => {
  for (const code of ['E_AUTH', 'E_TRANSIENT', 'E_PERMANENT'] as const) {
    it(`${code}: stops after the layers in flight, one line says so and how many were not attempted, exit 1`, async () => {
      const memory = new MemoryStore();
      await bucket(memory, 11);
      const store = new LayersRefused(memory, failingWith(code));
      const r = await forgetAllOn(store, false);
      assert.equal(r.code, 1);
      assert.equal(store.attempts, LAYERS_AT_ONCE, 'the layers in flight when it failed, no more');
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, LAYERS_AT_ONCE + 1, r.stderr);
      for (const line of lines.slice(0, -1)) assert.match(line, new RegExp(`^strata: user/u0[0-3]: ${code} `));
      assert.match(lines.at(-1) ?? '', new RegExp(`^strata: stopped: user/u00 failed with ${code}, a failed request every layer would meet .*; 8 of 12 layers not attempted$`));
      assert.equal(r.stdout, 'total: forgot 0 snapshots of 0 in 4 layers (grace 0s); 4 failed (each named on stderr); 8 not attempted\n');

      const j = await forgetAllOn(new LayersRefused(memory, failingWith(code)), true);
      assert.equal(j.code, 1);
      const out = JSON.parse(j.stdout);
      assert.deepEqual(out.total, { layers: 4, failed: 4, notAttempted: 8, snapshots: 0, forgotten: 0 });
      assert.deepEqual(out.stopped, { layer: 'user/u00', code });
      assert.equal(out.layers[0].error.code, code);
    });
  }

  it('on S3 with credentials it refuses: E_AUTH stops the run', { skip: skipWithoutS3 }, async () => {
    const s3 = s3TestEnv();
    assert.ok(s3);
    const { store, cleanup } = await makeTestS3Store({ prefix: 'forget-refused' });
    const url = `s3://${store.bucket}/forget-refused?endpoint=${encodeURIComponent(s3.endpoint)}&region=${s3.region}&pathStyle=true`;
    const refused = openStore(url, { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: `${s3.secretAccessKey}-wrong` });
    try {
      await bucket(store, 7);
      const via = new LayersRefused(store, refused);
      const r = await forgetAllOn(via, false);
      assert.equal(r.code, 1);
      assert.equal(via.attempts, LAYERS_AT_ONCE);
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, LAYERS_AT_ONCE + 1, r.stderr);
      for (const line of lines.slice(0, -1)) assert.match(line, /^strata: user\/u0[0-3]: E_AUTH layers\/user\/u0[0-3]\/snapshots\/: credentials refused by s3:/);
      assert.match(lines.at(-1) ?? '', /^strata: stopped: user\/u0[0-3] failed with E_AUTH, .*; 4 of 8 layers not attempted$/);
      assert.match(r.stdout, /; 4 failed \(each named on stderr\); 4 not attempted\n$/);
    } finally {
      await (refused as { close?: () => Promise<void> | void }).close?.();
      await cleanup();
    }
  });
});
