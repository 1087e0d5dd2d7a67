// A sign-in on a machine whose own head is far behind (a PC not used for weeks while others synced):
// the walks from its head to the layer's latest (layers.ts pastRoots, device-head.ts) read the
// history in bulk and share their reads, instead of two HEAD+GET round trips per snapshot each.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { parseOrgConfig } from '../../shared/org-config.js';
import { BULK_AFTER } from '../agent/history.js';
import { writeProfile } from '../profile/index.js';
import { initRepository, openRepository } from '../repo/index.js';
import { FORMAT_VERSION, keys, type SnapshotId } from '../repo/types.js';
import { CountingStore } from '../store/counting.js';
import { ForwardingStore } from '../store/forwarding.js';
import type { ByteRange } from '../store/index.js';
import { MemoryStore } from '../store/memory.js';
import { layHome } from './lay.js';
import { writeSession, type Session } from './session.js';

const SNAPSHOTS = 200;

/** A temp folder (removed after the test) and a repository in memory. */
async function newRepository(t: TestContext) {
  const dir = await mkdtemp(join(tmpdir(), 'strata-long-history-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const memory = new MemoryStore();
  await initRepository(memory, { packSize: 1 << 20 });
  return { dir, memory, repo: await openRepository(memory) };
}

describe('sign-in after a long absence', () => {
  it(`reads the ${SNAPSHOTS} snapshots since this machine's head in bulk, and moves its head to the laid one`, async (t) => {
    const { dir, memory, repo } = await newRepository(t);
    const layer = 'user/alice';
    const data = Buffer.from('the latest plan');
    const chunk = repo.blobId(data);
    await repo.addBlob('data', chunk, data);
    const docs = await repo.saveTree({ entries: [{ name: 'plan.txt', type: 'file', mode: 0o644, mtimeMs: Date.UTC(2026, 0, 1), size: data.byteLength, chunks: [chunk] }] });
    const root = await repo.saveTree({ entries: [{ name: 'Documents', type: 'dir', mode: 0o755, mtimeMs: 0, subtree: docs }] });
    await repo.flush();
    let parent: SnapshotId | undefined;
    for (let i = 0; i < SNAPSHOTS; i++) {
      const device = i === 0 ? 'old-pc' : 'desktop';
      const time = new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
      const id: SnapshotId = await repo.saveSnapshot({ version: FORMAT_VERSION, layer, device, time, root, parents: parent ? [parent] : [] });
      if (i === 0) await repo.writeHead(layer, 'old-pc', id);
      parent = id;
    }
    await repo.writeHead(layer, 'desktop', parent as SnapshotId);
    await writeProfile(memory, { version: 1, user: 'alice', displayName: '', layers: [], updated: new Date().toISOString() });

    const home = join(dir, 'home');
    const stateDir = join(dir, 'state');
    const org = parseOrgConfig({ version: 1, org: 'acme', store: { bucket: 'acme-strata' }, folders: ['Documents'] }, 'test');
    const session: Session = { version: 1, source: 'test', org, user: 'alice', home, mode: org.mode, device: 'old-pc', signedIn: new Date().toISOString() };
    await writeSession(stateDir, session);
    const store = new CountingStore(memory);
    await layHome({ store, session, stateDir });

    assert.equal(await readFile(join(home, 'Documents/plan.txt'), 'utf8'), 'the latest plan');
    const own = (await repo.listHeads(layer)).heads.find((h) => h.device === 'old-pc');
    assert.equal((await repo.loadSnapshot(layer, own?.snapshot as SnapshotId)).parents[0], parent, 'the head moved to a record of the laid snapshot');
    // A snapshot read alone costs a HEAD and a GET; in bulk, a GET. Two separate walks read one at
    // a time made 2 × 200 HEADs.
    assert.ok(store.counts.heads <= BULK_AFTER + 12, `HEAD requests: ${store.counts.heads}`);
  });

  it('reads the user layer\'s latest snapshot once, though this machine\'s head points at it (a repeat sign-in)', async (t) => {
    const { dir, memory, repo } = await newRepository(t);
    const layer = 'user/alice';
    const root = await repo.saveTree({ entries: [] });
    await repo.flush();
    const id = await repo.saveSnapshot({ version: FORMAT_VERSION, layer, device: 'pc', time: new Date(Date.UTC(2026, 0, 1)).toISOString(), root, parents: [] });
    await repo.writeHead(layer, 'pc', id);
    await writeProfile(memory, { version: 1, user: 'alice', displayName: '', layers: [], updated: new Date().toISOString() });
    const org = parseOrgConfig({ version: 1, org: 'acme', store: { bucket: 'acme-strata' }, folders: ['Documents'] }, 'test');
    const session: Session = { version: 1, source: 'test', org, user: 'alice', home: join(dir, 'home'), mode: org.mode, device: 'pc', signedIn: new Date().toISOString() };
    await writeSession(join(dir, 'state'), session);
    const gets: string[] = [];
    const store = new (class extends ForwardingStore {
      override get(key: string, range?: ByteRange): Promise<Uint8Array> {
        gets.push(key);
        return super.get(key, range);
      }
    })(memory);
    await layHome({ store, session, stateDir: join(dir, 'state') });
    assert.deepEqual(gets.filter((k) => k === keys.snapshot(layer, id)), [keys.snapshot(layer, id)]);
  });
});
