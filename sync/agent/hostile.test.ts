// A hostile layer met by a sync pass: a remote file entry the executor cannot write fails the
// pass with a typed error naming the file's path (DESIGN §2), and nothing of the folder is lost.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isStrataError } from '../errors.js';
import { openRepository } from '../repo/index.js';
import { LAYER, twoDevices } from './testkit.js';

describe('a sync pass meets a hostile layer', () => {
  for (const [what, size, chunks] of [
    ['chunks that do not add up to its size', 9999, 'real'],
    ['a chunk in no index', 5, 'missing'],
  ] as const) {
    it(`a remote file with ${what} fails the pass naming the file`, async (t) => {
      const { mem, b } = await twoDevices(t, 'hostile');
      const repo = await openRepository(mem);
      const data = Buffer.from('bytes');
      const id = chunks === 'real' ? repo.blobId(data) : 'e'.repeat(64);
      if (chunks === 'real') await repo.addBlob('data', id, data);
      const sub = await repo.saveTree({ entries: [{ name: 'f.txt', type: 'file', mode: 0o644, mtimeMs: 1, size, chunks: [id] }] });
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
