/**
 * Sparse files: a restore writes runs of zeros as holes, so that a disk image of 20 GiB holding
 * 1 GiB of data takes about 1 GiB where it is laid, with the same bytes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { ChunkerParams } from '../repo/types.js';
import { allocatedBytes, holeDir } from '../testing/holes.js';
import { makeRng } from '../testing/random.js';
import { restoreTree } from './index.js';
import { file, newRepo, saveLayer, type Spec } from './testkit.js';

const MiB = 1 << 20;

/** Zero runs inside chunks too: a chunk may run 4 MiB, and a run of zeros is cut only at that size. */
const LONG_CHUNKS: ChunkerParams = { algorithm: 'fastcdc', minSize: 1024, avgSize: 4096, maxSize: 4 * MiB };

/** `parts` joined: a number is that many random bytes, `{ zeros }` that many zeros. */
function bytesOf(seed: number, parts: (number | { zeros: number })[]): Uint8Array {
  const rng = makeRng(seed);
  return Buffer.concat(parts.map((p) => (typeof p === 'number' ? rng.bytes(p) : new Uint8Array(p.zeros))));
}

function sparseSpec(): Spec {
  return {
    'disk.img': file(bytesOf(1, [64 * 1024, { zeros: 4 * MiB }, 100 * 1024, { zeros: 2 * MiB }, 5000])),
    'ends-in-hole.img': file(bytesOf(2, [20 * 1024, { zeros: 3 * MiB }])),
    'all-zeros.img': file(new Uint8Array(3 * MiB)),
    'small-zeros': file(new Uint8Array(12 * 1024)),
    'no-zeros.bin': file(bytesOf(3, [3 * MiB])),
  };
}

const sha = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** Each file of `spec` under `target` has its bytes, and those with zero runs take blocks for their data only. */
async function assertSparse(t: TestContext, target: string, spec: Spec, holes: boolean): Promise<void> {
  for (const [name, node] of Object.entries(spec)) {
    if (node.type !== 'file') continue;
    const path = join(target, name);
    assert.equal((await stat(path)).size, node.data.byteLength, `${name}: size`);
    assert.equal(sha(await readFile(path)), sha(node.data), `${name}: bytes`);
    if (!holes) continue;
    const zeros = node.data.reduce((n, b) => n + (b === 0 ? 1 : 0), 0);
    const taken = await allocatedBytes(path);
    if (zeros < node.data.byteLength / 2) assert.ok(taken >= node.data.byteLength, `${name}: no holes in data (${taken} of ${node.data.byteLength} bytes allocated)`);
    else assert.ok(taken < node.data.byteLength - zeros + MiB && taken < node.data.byteLength / 2, `${name}: ${taken} bytes allocated for ${node.data.byteLength - zeros} of data in ${node.data.byteLength}`);
  }
  if (!holes) t.skip('no file system here keeps holes (temp dir nor worktree): only the bytes were checked');
}

describe('restore: sparse files', () => {
  for (const [label, chunker] of [
    ['small chunks (zero runs are whole chunks)', undefined],
    ['long chunks (zero runs inside chunks)', LONG_CHUNKS],
  ] as const) {
    it(`leaves runs of zeros as holes, with the same bytes and size: ${label}`, async (t) => {
      const { repo } = await newRepo(chunker ? { chunker } : {});
      const spec = sparseSpec();
      const root = await saveLayer(repo, spec);
      const { dir, holes } = await holeDir(t, 'sparse');
      const target = join(dir, 'out');
      await restoreTree(repo, { target, root });
      await assertSparse(t, target, spec, holes);
    });
  }

  it('leaves holes where the chunks are copied from a seed', async (t) => {
    const { repo } = await newRepo();
    const spec = sparseSpec();
    const root = await saveLayer(repo, spec);
    const { dir, holes } = await holeDir(t, 'sparse-seed');
    await restoreTree(repo, { target: join(dir, 'first'), root });
    const target = join(dir, 'second');
    const stats = await restoreTree(repo, { target, root, seeds: [join(dir, 'first')] });
    assert.equal(stats.bytesDownloaded, 0, 'every chunk came from the seed');
    await assertSparse(t, target, spec, holes);
  });
});
