// Two devices write one layer through one store at the same time, with no coordination
// (DESIGN §2: lock-free). Their requests are interleaved by a seeded scheduler.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore } from '../store/memory.js';
import type { ByteRange, ObjectStore, PutBody } from '../store/index.js';
import { makeRng, testSeed, type Rng } from '../testing/random.js';
import { check } from './check.js';
import { initRepository, openRepository } from './format.js';
import type { Repository } from './repository.js';
import { RecordingStore, T0, file, makeBlobs } from './testkit.js';
import type { BlobId, Tree } from './types.js';

const LAYER = 'user/alice';

/** Delays every request by a seeded number of event-loop turns so two writers interleave. */
class ShuffledStore extends RecordingStore {
  constructor(
    inner: ObjectStore,
    private readonly rng: Rng,
  ) {
    super(inner);
  }
  private async turn() {
    for (let i = this.rng.int(4); i > 0; i--) await new Promise((r) => setImmediate(r));
  }
  override async put(key: string, body: PutBody) {
    await this.turn();
    return super.put(key, body);
  }
  override async get(key: string, range?: ByteRange) {
    await this.turn();
    return super.get(key, range);
  }
  override async getStream(key: string, range?: ByteRange) {
    await this.turn();
    return super.getStream(key, range);
  }
}

async function device(repo: Repository, name: string, seed: number, shared: { id: BlobId; data: Uint8Array }[]) {
  const own = makeBlobs(seed, 20, 700, true);
  let parent: string[] = [];
  let last = '';
  for (let round = 0; round < 3; round++) {
    const chunks = [...shared.slice(round * 5, round * 5 + 10), ...own.slice(round * 6, round * 6 + 6)];
    for (const c of chunks) await repo.addBlob('data', c.id, c.data);
    const sub: Tree = { entries: [file('own.bin', own.slice(round * 6, round * 6 + 6))] };
    const subId = await repo.saveTree(sub);
    const root = await repo.saveTree({ entries: [file('shared.bin', shared.slice(round * 5, round * 5 + 10)), { name: 'mine', type: 'dir', mode: 0o755, mtimeMs: round, subtree: subId }] });
    await repo.flush();
    last = await repo.saveSnapshot({ version: 1, layer: LAYER, device: name, time: new Date(T0.getTime() + round * 1000).toISOString(), root, parents: parent });
    await repo.writeHead(LAYER, name, last);
    parent = [last];
  }
  return last;
}

async function readAllFiles(repo: Repository, root: BlobId): Promise<number> {
  let files = 0;
  const tree = await repo.loadTree(root);
  for (const e of tree.entries) {
    if (e.type === 'dir') files += await readAllFiles(repo, e.subtree);
    if (e.type !== 'file') continue;
    let size = 0;
    await repo.readBlobs(e.chunks, (_id, data) => void (size += data.byteLength));
    assert.equal(size, e.size);
    files++;
  }
  return files;
}

describe('two devices writing concurrently', () => {
  it('leaves both heads valid and every referenced blob readable', async () => {
    const seed = testSeed('repo concurrent writers');
    const rng = makeRng(seed);
    const memory = new MemoryStore();
    await initRepository(memory, { packSize: 2048, created: T0 });
    const a = await openRepository(new ShuffledStore(memory, makeRng(rng.int(2 ** 31))));
    const b = await openRepository(new ShuffledStore(memory, makeRng(rng.int(2 ** 31))));
    const shared = makeBlobs(seed ^ 0x5a5a, 30, 900, true);
    const [snapA, snapB] = await Promise.all([device(a, 'pc-a', seed + 1, shared), device(b, 'pc-b', seed + 2, shared)]);

    const reader = await openRepository(memory);
    const { heads, errors } = await reader.listHeads(LAYER);
    assert.deepEqual(errors, []);
    assert.deepEqual(heads.map((h) => [h.device, h.snapshot]), [['pc-a', snapA], ['pc-b', snapB]]);
    for (const h of heads) {
      const snap = await reader.loadSnapshot(LAYER, h.snapshot);
      assert.equal(await readAllFiles(reader, snap.root), 2);
    }
    const { snapshots } = await reader.listSnapshots(LAYER);
    assert.equal(snapshots.length, 6);
    const report = await check(reader, { readData: true });
    assert.deepEqual(report.problems, []);
  });
});
