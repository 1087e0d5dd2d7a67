// A hostile layer met by a sync pass: a remote file entry the executor cannot write fails the
// pass with a typed error naming the file's path (DESIGN §2), and nothing of the folder is lost;
// one it can write (however it repeats its chunks) is written, in time linear in its chunks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isStrataError } from '../errors.js';
import { openRepository } from '../repo/index.js';
import { LAYER, twoDevices } from './testkit.js';

describe('a sync pass meets a hostile layer', () => {
  // Bounds a pass that would never end (offsets gathered by copying the list at every chunk).
  it('a remote file of 100,000 repeats of one chunk is written whole', { timeout: 120_000 }, async (t) => {
    const { mem, b } = await twoDevices(t, 'repeats');
    const repo = await openRepository(mem);
    const data = Buffer.from('abcdefg');
    const id = repo.blobId(data);
    await repo.addBlob('data', id, data);
    const n = 100_000;
    const root = await repo.saveTree({ entries: [{ name: 'f.txt', type: 'file', mode: 0o644, mtimeMs: 1, size: n * data.length, chunks: Array<string>(n).fill(id) }] });
    await repo.flush();
    const snap = await repo.saveSnapshot({ version: 1, layer: LAYER, device: 'deva', time: new Date().toISOString(), root, parents: [] });
    await repo.writeHead(LAYER, 'deva', snap);
    assert.equal((await b.pass()).status, 'synced');
    assert.equal(await b.read('f.txt'), 'abcdefg'.repeat(n));
  });

  for (const [what, size, chunks] of [
    ['chunks that do not add up to its size', 9999, 'real'],
    ['a chunk in no index', 5, 'missing'],
    ['100,000 repeats of a chunk and the size of one', 5, 'repeated'],
  ] as const) {
    it(`a remote file with ${what} fails the pass naming the file`, { timeout: 120_000 }, async (t) => {
      const { mem, b } = await twoDevices(t, 'hostile');
      const repo = await openRepository(mem);
      const data = Buffer.from('bytes');
      const id = chunks === 'missing' ? 'e'.repeat(64) : repo.blobId(data);
      if (chunks !== 'missing') await repo.addBlob('data', id, data);
      const list = Array<string>(chunks === 'repeated' ? 100_000 : 1).fill(id);
      const sub = await repo.saveTree({ entries: [{ name: 'f.txt', type: 'file', mode: 0o644, mtimeMs: 1, size, chunks: list }] });
      const root = await repo.saveTree({ entries: [{ name: 'd', type: 'dir', mode: 0o755, mtimeMs: 1, subtree: sub }] });
      await repo.flush();
      const snap = await repo.saveSnapshot({ version: 1, layer: LAYER, device: 'deva', time: new Date().toISOString(), root, parents: [] });
      await repo.writeHead(LAYER, 'deva', snap);
      await b.write('mine.txt', 'mine');
      const err = await b.pass().then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(isStrataError(err), `a StrataError, got ${String(err)}`);
      assert.equal(err.path, 'd/f.txt', err.toString());
      assert.equal(await b.read('mine.txt'), 'mine');
    });
  }
});
