// A sign-in lay from a real S3 server behind a proxy that resets and stalls (sync/testing/
// fault-proxy.ts), in its ready half and in its rest: a reset is retried and the lay is whole; a
// stall that never ends fails the lay on one line naming the key, with no torn file in home, the
// `laying` marker left and no `laid` recorded; the next lay, on a healed network, finishes it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseOrgConfig } from '../../shared/org-config.js';
import { writeTree } from '../cli/testkit.js';
import { describeError, isStrataError } from '../errors.js';
import { preloadUserLayer, writeProfile } from '../profile/index.js';
import { initRepository, openRepository } from '../repo/index.js';
import { RetryingStore } from '../store/retrying.js';
import { S3Store } from '../store/s3.js';
import { FaultProxy } from '../testing/fault-proxy.js';
import { makeTestS3Store, skipWithoutS3, testS3Options } from '../testing/s3.js';
import { layHome, type SignInEvent } from './lay.js';
import { LAYING_FILE } from './laying.js';
import { readSession, writeSession, type Session } from './session.js';
import { listDir } from '../agent/testkit.js';

const isPackGet = (req: { method?: string; url?: string }) => req.method === 'GET' && /\/data\//.test(req.url ?? '');

describe('a sign-in lay through a misbehaving network', { skip: skipWithoutS3 }, () => {
  const small = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`note${i}.txt`, `note ${i} `.repeat(200)]));
  const large = randomBytes(3 * 1024 * 1024).toString('base64');
  const template = { Documents: { ...small, 'large.txt': large } };

  async function org(t: { after: (fn: () => unknown) => void }, phase: 'layers' | 'ready') {
    const dir = await mkdtemp(join(tmpdir(), 'strata-lay-faults-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const fixture = await makeTestS3Store({ prefix: '' });
    t.after(fixture.cleanup);
    await initRepository(fixture.store, { packSize: 1 << 20 });
    await writeTree(join(dir, 'template'), template);
    await writeProfile(fixture.store, { version: 1, user: 'alice', displayName: '', layers: [], updated: new Date().toISOString() });
    await preloadUserLayer(await openRepository(fixture.store), 'alice', { from: join(dir, 'template') });
    const proxy = await FaultProxy.start(testS3Options().endpoint as string);
    t.after(() => proxy.close());
    const raw = new S3Store({ ...testS3Options({ prefix: '' }), bucket: fixture.store.bucket, endpoint: proxy.endpoint, timeouts: { connectMs: 2000, idleMs: 300 } });
    t.after(() => raw.client.destroy());
    const store = new RetryingStore(raw, { retries: 2, sleep: async () => {} });
    const home = join(dir, 'home');
    const stateDir = join(dir, 'state');
    const config = parseOrgConfig({ version: 1, org: 'acme', store: { bucket: fixture.store.bucket }, folders: ['Documents'] }, 'test');
    await writeSession(stateDir, { version: 1, source: 'test', org: config, user: 'alice', home, mode: config.mode, device: 'pc1', signedIn: new Date().toISOString() } satisfies Session);
    /** Lays home, queueing `faults` on pack reads once the lay reaches `phase`. */
    const lay = async (fault?: Parameters<FaultProxy['inject']>[0], times = 1000) => {
      const onEvent = (e: SignInEvent) => {
        if (fault && e.type === phase) proxy.inject(fault, { match: isPackGet, times });
      };
      try {
        return await layHome({ store, session: await readSession(stateDir), stateDir, onEvent });
      } finally {
        proxy.clear();
      }
    };
    return { home, stateDir, lay, proxy };
  }

  /** Every file in home is the template's, whole; none is a temp. */
  async function noTornFile(home: string): Promise<number> {
    const files = await listDir(join(home, 'Documents')).catch(() => ({}) as Record<string, string>);
    for (const [name, text] of Object.entries(files)) {
      const want = name === 'large.txt' ? large : small[name];
      assert.ok(want !== undefined, `an unknown file in home: ${name}`);
      assert.ok(text === want, `${name} is torn (${text.length} of ${want.length} bytes)`);
    }
    return Object.keys(files).length;
  }

  for (const phase of ['layers', 'ready'] as const) {
    const half = phase === 'layers' ? 'ready half' : 'rest';
    it(`pack reads reset twice in the ${half}: retried, the lay is whole`, async (t) => {
      const { home, stateDir, lay, proxy } = await org(t, phase);
      await lay({ kind: 'reset', afterBytes: 500 }, 2);
      assert.equal(proxy.seen.filter((s) => s.endsWith(' reset')).length, 2, 'both resets happened');
      assert.equal(await noTornFile(home), 21);
      await assert.rejects(access(join(stateDir, LAYING_FILE)), { code: 'ENOENT' });
      assert.ok((await readSession(stateDir)).laid);
    });

    it(`pack reads that stall for good in the ${half}: the lay fails on one line naming the key, nothing torn, the marker left; the next lay finishes`, async (t) => {
      const { home, stateDir, lay } = await org(t, phase);
      const err = await lay({ kind: 'stall', afterBytes: 500 }).then(
        () => assert.fail('the lay should fail'),
        (e: unknown) => e,
      );
      assert.ok(isStrataError(err, 'E_TRANSIENT') && err.key !== undefined, describeError(err));
      assert.doesNotMatch(describeError(err), /\n/);
      const laidBefore = await noTornFile(home);
      if (phase === 'ready') assert.ok(laidBefore >= 20, 'the ready half stays laid');
      await access(join(stateDir, LAYING_FILE));
      assert.equal((await readSession(stateDir)).laid, undefined);
      await lay();
      assert.equal(await noTornFile(home), 21);
      assert.equal(await readFile(join(home, 'Documents', 'large.txt'), 'utf8'), large);
      await assert.rejects(access(join(stateDir, LAYING_FILE)), { code: 'ENOENT' });
      assert.ok((await readSession(stateDir)).laid);
    });
  }
});
