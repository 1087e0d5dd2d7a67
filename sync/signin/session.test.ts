// The session file (0600, atomic, validated when read back) and the scratch store (reads through,
// never writes through).
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseOrgConfig } from '../../shared/org-config.js';
import { isStrataError } from '../errors.js';
import { MemoryStore } from '../store/memory.js';
import { sessionFolder } from './folder.js';
import { ScratchStore } from './scratch-store.js';
import { deleteSession, readSession, sessionPath, writeSession, type Session } from './session.js';

const ROOT = 'a'.repeat(64);

function session(home: string): Session {
  return {
    version: 1,
    source: '/etc/strata/acme.json',
    org: parseOrgConfig({ version: 1, org: 'acme', mode: 'vdi', store: { bucket: 'acme-strata' } }, 'test'),
    user: 'alice',
    home,
    mode: 'vdi',
    device: 'pc1',
    signedIn: '2024-05-01T10:00:00.000Z',
    laid: { org: [{ layer: 'org/base', snapshot: ROOT, root: ROOT }], time: '2024-05-01T10:01:00.000Z' },
  };
}

describe('session file', () => {
  it('round-trips, is 0600, and is gone after deleteSession', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-session-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const state = join(dir, 'state');
    await writeSession(state, session(dir));
    assert.deepEqual(await readSession(state), session(dir));
    assert.equal((await stat(sessionPath(state))).mode & 0o777, 0o600);
    assert.equal(await deleteSession(state), true);
    assert.equal(await deleteSession(state), false);
    await assert.rejects(readSession(state), (err) => isStrataError(err, 'E_NOT_SIGNED_IN'));
  });

  it('refuses a damaged or foreign file, naming it', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-session-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const bad = async (value: unknown, pattern: RegExp): Promise<void> => {
      await writeFile(sessionPath(dir), typeof value === 'string' ? value : JSON.stringify(value));
      await assert.rejects(readSession(dir), (err) => {
        assert.ok(isStrataError(err, 'E_BAD_SESSION'), String(err));
        assert.equal(err.path, sessionPath(dir));
        assert.match(err.message, pattern);
        return true;
      });
    };
    await bad('{', /not valid JSON/);
    await bad({ ...session(dir), secretAccessKey: 'x' }, /unknown field "secretAccessKey"/);
    await bad({ ...session(dir), home: 'relative/home' }, /home is not an absolute path/);
    await bad({ ...session(dir), org: { version: 2 } }, /org: version: version 2 is not supported/);
    await bad({ ...session(dir), laid: { org: [{ layer: 'user/alice', snapshot: ROOT, root: ROOT }], time: 'now' } }, /laid\.org\[0\]\.layer is not an org layer id/);
  });
});

describe('ScratchStore', () => {
  it('keeps writes in memory, reads through, and lists both in order', async () => {
    const inner = new MemoryStore();
    await inner.put('index/b', new Uint8Array([1]));
    await inner.put('index/d', new Uint8Array([2]));
    const scratch = new ScratchStore(inner);
    await scratch.put('index/c', new Uint8Array([3]));
    await scratch.put('index/d', new Uint8Array([4]));
    await scratch.delete('index/b');
    assert.equal(await inner.head('index/c'), undefined, 'nothing reaches the inner store');
    assert.deepEqual(await inner.get('index/d'), new Uint8Array([2]));
    assert.deepEqual(await scratch.get('index/d'), new Uint8Array([4]));
    assert.deepEqual(await scratch.get('index/b'), new Uint8Array([1]), 'a delete never reaches the inner store');
    const keys: string[] = [];
    for await (const o of scratch.list('index/')) keys.push(o.key);
    assert.deepEqual(keys, ['index/b', 'index/c', 'index/d']);
  });
});

describe('sessionFolder', () => {
  it('covers the org folders of home, over the laid org roots, never the state dir', () => {
    const s = { ...session('/home/alice'), org: parseOrgConfig({ version: 1, org: 'acme', store: { bucket: 'acme-strata' }, policies: { exclude: ['*.iso'] } }, 'test') };
    const inside = sessionFolder(s, '/home/alice/.local/state/strata');
    assert.deepEqual(inside, { root: '/home/alice', layer: 'user/alice', include: [], exclude: ['*.iso', '/.local/state/strata/'], lower: [ROOT], rootKeys: new Map([[ROOT, `layers/org/base/snapshots/${ROOT}`]]) });
    assert.deepEqual(sessionFolder(s, '/var/lib/strata').exclude, ['*.iso']);
    // A name that only starts with two dots is inside home all the same.
    assert.deepEqual(sessionFolder(s, '/home/alice/..strata').exclude, ['*.iso', '/..strata/']);
    const docs = { ...s, org: parseOrgConfig({ version: 1, org: 'acme', store: { bucket: 'acme-strata' }, folders: ['Documents', '.config/app'] }, 'test') };
    assert.deepEqual(sessionFolder(docs, '/tmp/x').include, ['Documents', '.config/app']);
  });
});
