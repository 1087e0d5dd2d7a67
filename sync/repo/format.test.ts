import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore } from '../store/memory.js';
import { DEFAULT_CHUNKER, DEFAULT_PACK_SIZE, initRepository, openRepository } from './format.js';
import { T0, rejectsWith } from './testkit.js';

describe('format object', () => {
  it('init writes it with the defaults and open reads it back', async () => {
    const store = new MemoryStore();
    const written = await initRepository(store, { id: 'r1', created: T0 });
    assert.deepEqual(written, {
      version: 1,
      id: 'r1',
      created: T0.toISOString(),
      hash: 'sha256',
      chunker: { ...DEFAULT_CHUNKER },
      encryption: 'none',
      compression: 'none',
      packSize: DEFAULT_PACK_SIZE,
    });
    const repo = await openRepository(store);
    assert.deepEqual(repo.format, written);
  });

  it('init refuses when a repository exists', async () => {
    const store = new MemoryStore();
    await initRepository(store);
    await rejectsWith(initRepository(store), 'E_REPO_EXISTS', 'config');
  });

  it('open without a repository says to run strata init', async () => {
    const err = await rejectsWith(openRepository(new MemoryStore()), 'E_NO_REPOSITORY', 'config');
    assert.match(err.message, /strata init/);
  });

  const refused: [string, Record<string, unknown>, string][] = [
    ['an unknown hash', { hash: 'md5' }, 'E_UNSUPPORTED_FORMAT'],
    ['encryption', { encryption: 'aes-256-gcm' }, 'E_UNSUPPORTED_FORMAT'],
    ['compression', { compression: 'zstd' }, 'E_UNSUPPORTED_FORMAT'],
    ['a tiny pack size', { packSize: 10 }, 'E_BAD_OBJECT'],
    ['bad chunker parameters', { chunker: { algorithm: 'fastcdc', minSize: 10, avgSize: 5, maxSize: 1 } }, 'E_BAD_CHUNKER_PARAMS'],
    ['an unknown field', { extra: 1 }, 'E_BAD_OBJECT'],
    ['a missing field', { id: undefined }, 'E_BAD_OBJECT'],
  ];
  for (const [name, patch, code] of refused) {
    it(`open refuses a format object with ${name} (${code})`, async () => {
      const store = new MemoryStore();
      const good = await initRepository(store, { created: T0 });
      await store.put('config', Buffer.from(JSON.stringify({ ...good, ...patch })));
      await rejectsWith(openRepository(store), code, 'config');
    });
  }
});
