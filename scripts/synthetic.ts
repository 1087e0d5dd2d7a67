// A synthetic bucket for the standalone memory measurements in scripts/: random ids, `perPack`
// blobs of `blobBytes` each a pack (every 50th a tree), `perIndex` blob entries an index object,
// the packs stored (all alike) so that gc and check find each one an index names.
import { initRepository } from '../sync/repo/format.js';
import { encodeIndex, type IndexedPack } from '../sync/repo/indexfile.js';
import { FOOTER_BYTES } from '../sync/repo/pack.js';
import { keys } from '../sync/repo/types.js';
import type { MemoryStore } from '../sync/store/memory.js';
import { makeRng } from '../sync/testing/random.js';

export async function syntheticBucket(store: MemoryStore, entries: number, perIndex: number, perPack = 1000, blobBytes = 10): Promise<void> {
  const format = await initRepository(store, { id: 'bench', hash: 'sha256' });
  const rng = makeRng(1);
  const hex = () => Buffer.from(rng.bytes(32)).toString('hex');
  const packBytes = new Uint8Array(perPack * blobBytes + FOOTER_BYTES);
  for (let first = 0; first < entries; first += perIndex) {
    const packs: IndexedPack[] = [];
    for (let p = first; p < Math.min(entries, first + perIndex); p += perPack) {
      const blobs = [];
      for (let i = 0; i < Math.min(perPack, entries - p); i++) blobs.push({ id: hex(), type: i % 50 === 0 ? ('tree' as const) : ('data' as const), offset: i * blobBytes, length: blobBytes });
      const pack = { id: hex(), size: packBytes.byteLength, blobs };
      await store.put(keys.pack(pack.id), packBytes);
      packs.push(pack);
    }
    const { id, bytes } = encodeIndex(packs, format.hash);
    await store.put(keys.index(id), bytes);
  }
}
