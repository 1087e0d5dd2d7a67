// The sign-in's lay and the agent keep the repository's index objects in the state dir
// (`<stateDir>/indexes`, repo/index-files.ts): a repeat sign-in and an agent start from the same
// state dir fetch only the indexes written since; a state dir without them (a VDI desktop wiped at
// sign-out) fetches them all, as a first sign-in does. On the memory store and on the S3 server.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { parseOrgConfig } from '../../shared/org-config.js';
import { indexesDir } from '../agent/index.js';
import { waitFor } from '../agent/live-testkit.js';
import { writeTree } from '../cli/testkit.js';
import { preloadUserLayer, publishOrgLayer, writeProfile } from '../profile/index.js';
import { initRepository, keptIndexDir, openRepository } from '../repo/index.js';
import { openAgentState } from '../state/index.js';
import { IndexGets } from '../testing/index-gets.js';
import { skipWithoutS3 } from '../testing/s3.js';
import { freshStores } from '../testing/stores.js';
import { layHome } from './lay.js';
import { startSessionAgent } from './live.js';
import { readSession, writeSession, type Session } from './session.js';
import { listing } from './testkit.js';

const LAID = ['Documents/Forms/a.txt', 'Documents/Mine/m.txt', 'Documents/policy.txt'];

for (const backend of ['memory', 's3'] as const) {
  describe(`index objects kept in the state dir (${backend})`, { skip: backend === 's3' && skipWithoutS3, timeout: 120_000 }, () => {
    const newStore = freshStores(backend, 'keptidx');

    /** alice over org/dept, her machine's index GETs counted. */
    async function setup(t: TestContext) {
      const dir = await mkdtemp(join(tmpdir(), 'strata-kept-indexes-'));
      t.after(() => rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));
      const bucket = await newStore();
      await initRepository(bucket, { packSize: 1 << 20 });
      const repo = await openRepository(bucket);
      await writeTree(join(dir, 'org'), { Documents: { Forms: { 'a.txt': 'form a' }, 'policy.txt': 'policy' } });
      await publishOrgLayer(repo, 'org/dept', { from: join(dir, 'org') });
      await writeTree(join(dir, 'template'), { Documents: { Mine: { 'm.txt': 'mine' } } });
      await preloadUserLayer(repo, 'alice', { from: join(dir, 'template') });
      await writeProfile(bucket, { version: 1, user: 'alice', displayName: '', layers: ['org/dept'], updated: new Date().toISOString() });
      const home = join(dir, 'home');
      const stateDir = join(dir, 'state');
      const { deviceId } = await openAgentState(stateDir);
      const org = parseOrgConfig({ version: 1, org: 'acme', store: { bucket: 'acme-strata' }, folders: ['Documents'] }, 'test');
      await writeSession(stateDir, { version: 1, source: 'test', org, user: 'alice', home, mode: org.mode, device: deviceId, signedIn: new Date().toISOString() } satisfies Session);
      const store = new IndexGets(bucket);
      const indexes = async (): Promise<number> => {
        let n = 0;
        for await (const { key } of bucket.list('index/')) if (key.startsWith('index/')) n++;
        return n;
      };
      /** A lay from the state dir, its index GETs counted from 0. */
      const lay = async (): Promise<void> => {
        store.gets = 0;
        const laid = await layHome({ store, session: await readSession(stateDir), stateDir });
        assert.deepEqual(laid.warnings, []);
        assert.deepEqual(Object.keys(await listing(home)).filter((p) => p.endsWith('.txt')).sort(), LAID);
      };
      const kept = keptIndexDir(indexesDir(stateDir), repo.format);
      return { bucket, store, repo, home, stateDir, kept, indexes, lay };
    }

    it('a repeat sign-in fetches no index, nor does the agent started after it', async (t) => {
      const s = await setup(t);
      const n = await s.indexes();
      assert.ok(n >= 2, `${n} index objects`);
      await s.lay();
      assert.equal(s.store.gets, n, 'the first sign-in fetches them all');
      assert.equal((await readdir(s.kept)).length, n, 'and keeps them');
      await s.lay();
      assert.equal(s.store.gets, 0, 'a repeat sign-in fetches none');

      s.store.gets = 0;
      const agent = await startSessionAgent({ stateDir: s.stateDir, session: await readSession(s.stateDir), openStore: () => s.store, watch: false, pollMs: 3_600_000 });
      t.after(() => agent.stop());
      await waitFor('the first pass', () => (agent.status().folders[0]?.syncedPasses ?? 0) > 0);
      assert.equal(s.store.gets, 0, 'the agent starts fetching none');
    });

    it('an agent start fetches only the index written since the sign-in', async (t) => {
      const s = await setup(t);
      await s.lay();
      await writeTree(join(s.home, '..', 'more'), { Documents: { Mine: { 'm.txt': 'mine', 'n.txt': 'new' } } });
      await preloadUserLayer(s.repo, 'bob', { from: join(s.home, '..', 'more') });
      s.store.gets = 0;
      const agent = await startSessionAgent({ stateDir: s.stateDir, session: await readSession(s.stateDir), openStore: () => s.store, watch: false, pollMs: 3_600_000 });
      t.after(() => agent.stop());
      await waitFor('the first pass', () => (agent.status().folders[0]?.syncedPasses ?? 0) > 0);
      assert.equal(s.store.gets, 1, "bob's layer's index");
      assert.equal((await readdir(s.kept)).length, await s.indexes(), 'every index kept: those fetched, and the one its pass wrote');
    });

    it('a state dir whose kept indexes are gone (a VDI desktop wiped) fetches them all and keeps them again', async (t) => {
      const s = await setup(t);
      await s.lay();
      await rm(indexesDir(s.stateDir), { recursive: true });
      await s.lay();
      assert.equal(s.store.gets, await s.indexes());
      assert.equal((await readdir(s.kept)).length, await s.indexes());
    });
  });
}
