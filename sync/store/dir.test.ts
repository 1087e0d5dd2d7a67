import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { isStrataError, type ErrorCode } from '../errors.js';
import { storeConformance } from './conformance.js';
import { TEMP_PREFIX } from '../fsutil.js';
import { mapFsError, type FsOp } from './dir-errors.js';
import { DirStore } from './dir.js';
import { rerunAsOrdinaryUser } from '../testing/userns.js';
import type { ObjectStore } from './index.js';

async function tempRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'strata-dir-'));
}

async function keys(store: ObjectStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const info of store.list(prefix)) out.push(info.key);
  return out;
}

/** A body that yields `good` bytes and then fails, as a crash or a vanished source would. */
function failingBody(size: number, good: number): { size: number; open: () => Readable; error: Error } {
  const error = new Error('source died half-way');
  return {
    size,
    error,
    open: () =>
      Readable.from(
        (async function* () {
          yield Buffer.alloc(good, 7);
          throw error;
        })(),
      ),
  };
}

storeConformance(
  'DirStore',
  async () => {
    const root = await tempRoot();
    return { store: new DirStore(root), cleanup: () => rm(root, { recursive: true, force: true }) };
  },
  { largeSize: 5 * 1024 * 1024 + 3 },
);

describe('DirStore', () => {
  let root: string;
  let store: DirStore;
  before(async () => {
    root = await tempRoot();
    store = new DirStore(root);
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('names its location as a file URL of the root', () => {
    assert.equal(store.location, `file://${root}`);
  });

  it('keeps the old object when a put fails half-way, and leaves no visible partial object', async () => {
    const old = Buffer.from('the old bytes');
    await store.put('crash/obj', old);
    const body = failingBody(1 << 20, 1 << 16);
    await assert.rejects(store.put('crash/obj', body), (err) => err === body.error);
    await assert.rejects(store.put('crash/new', failingBody(1000, 10)), /source died/);
    assert.deepEqual(Buffer.from(await store.get('crash/obj')), old);
    assert.equal(await store.head('crash/new'), undefined);
    assert.deepEqual(await keys(store, 'crash/'), ['crash/obj']);
    assert.deepEqual((await readdir(join(root, 'crash'))).sort(), ['obj'], 'temp files are removed after a failed put');
  });

  it('refuses a stream body shorter than its declared size, keeping the old object', async () => {
    await store.put('short/obj', Buffer.from('v1'));
    const body = { size: 10, open: () => Readable.from([Buffer.from('abc')]) };
    await assert.rejects(store.put('short/obj', body), (err) => isStrataError(err, 'E_PERMANENT'));
    assert.deepEqual(Buffer.from(await store.get('short/obj')), Buffer.from('v1'));
  });

  it('hides the temp files a crash left behind from listings, and gives them as partial uploads, dated when last written', async () => {
    await store.put('tmp/a', Buffer.from('a'));
    await mkdir(join(root, 'tmp2'));
    const stale = join(root, 'tmp', `${TEMP_PREFIX}dead`);
    await writeFile(stale, 'partial');
    await writeFile(join(root, 'tmp2', `${TEMP_PREFIX}live`), 'partial');
    const hourAgo = new Date(Date.now() - 3_600_000);
    await utimes(stale, hourAgo, hourAgo);
    assert.deepEqual(await keys(store, 'tmp/'), ['tmp/a']);
    const uploads = async (prefix: string) => {
      const out = [];
      for await (const u of store.listUploads(prefix)) out.push(u);
      return out.sort((a, b) => (a.key < b.key ? -1 : 1));
    };
    const found = await uploads('tmp');
    assert.deepEqual(found.map((u) => [u.key, u.uploadId]), [[`tmp/${TEMP_PREFIX}dead`, `${TEMP_PREFIX}dead`], [`tmp2/${TEMP_PREFIX}live`, `${TEMP_PREFIX}live`]]);
    assert.ok(Math.abs(found[0]!.started! - hourAgo.getTime()) <= 1, `started ${found[0]?.started}`);
    assert.deepEqual((await uploads('tmp/')).map((u) => u.key), [`tmp/${TEMP_PREFIX}dead`]);
    await store.abortUpload(found[0]!);
    await store.abortUpload(found[0]!);
    // Nothing but a temp file is an upload: a key an upload names is never deleted.
    await store.abortUpload({ key: 'tmp/a', uploadId: 'a' });
    assert.deepEqual((await readdir(join(root, 'tmp'))).sort(), ['a']);
    assert.deepEqual((await uploads('')).map((u) => u.key), [`tmp2/${TEMP_PREFIX}live`]);
  });

  it('lists in lexicographic key order across folder boundaries, for any prefix', async () => {
    // A folder cannot be an object too, so `ord/a` itself is not among them.
    const all = ['ord/a-b', 'ord/a/x', 'ord/a/y/z', 'ord/a0', 'ord/b', 'ord/a/y-', 'ord/a.', 'ord/B'];
    for (const k of all) await store.put(k, Buffer.from(k));
    const sorted = [...all].sort();
    assert.deepEqual(await keys(store, 'ord/'), sorted);
    assert.deepEqual(await keys(store, 'ord/a'), sorted.filter((k) => k.startsWith('ord/a')));
    assert.deepEqual(await keys(store, 'ord/a/'), ['ord/a/x', 'ord/a/y-', 'ord/a/y/z']);
    assert.deepEqual(await keys(store, 'ord/a/y'), ['ord/a/y-', 'ord/a/y/z']);
    assert.deepEqual(await keys(store, 'ord/nothing/'), []);
    assert.deepEqual(await keys(store, 'or'), sorted);
  });

  it('lists only keys after startAfter, skipping folders that sort before it', async () => {
    const all = ['sa/a/1', 'sa/a/2', 'sa/b-', 'sa/b/1', 'sa/b/2', 'sa/c'];
    for (const k of all) await store.put(k, Buffer.from(k));
    const after = async (startAfter: string): Promise<string[]> => {
      const out: string[] = [];
      for await (const info of store.list('sa/', { startAfter })) out.push(info.key);
      return out;
    };
    assert.deepEqual(await after('sa/a/2'), ['sa/b-', 'sa/b/1', 'sa/b/2', 'sa/c']);
    assert.deepEqual(await after('sa/b/1'), ['sa/b/2', 'sa/c']);
    assert.deepEqual(await after('sa/b'), ['sa/b-', 'sa/b/1', 'sa/b/2', 'sa/c']);
    assert.deepEqual(await after('sa/a/15'), ['sa/a/2', 'sa/b-', 'sa/b/1', 'sa/b/2', 'sa/c']);
    assert.deepEqual(await after('sa/c'), []);
    assert.deepEqual(await after('a'), all);
  });

  it('refuses keys that a folder cannot hold safely', async () => {
    for (const key of [`${TEMP_PREFIX}x`, `a/${TEMP_PREFIX}x`, 'a\\..\\b']) {
      await assert.rejects(store.put(key, Buffer.from('x')), (err) => isStrataError(err, 'E_BAD_KEY'), key);
    }
  });

  it('treats folders as non-objects and reports key conflicts as permanent', async () => {
    await store.put('conf/file', Buffer.from('x'));
    await store.put('conf/dir/inner', Buffer.from('y'));
    await assert.rejects(store.put('conf/file/below', Buffer.from('z')), (err) => isStrataError(err, 'E_PERMANENT'));
    await assert.rejects(store.put('conf/dir', Buffer.from('z')), (err) => isStrataError(err, 'E_PERMANENT'));
    await assert.rejects(store.get('conf/file/below'), (err) => isStrataError(err, 'E_NOT_FOUND'));
    await assert.rejects(store.get('conf/dir'), (err) => isStrataError(err, 'E_NOT_FOUND'));
    assert.equal(await store.head('conf/dir'), undefined);
    await store.delete('conf/dir');
    assert.deepEqual(await keys(store, 'conf/'), ['conf/dir/inner', 'conf/file']);
  });

  it('neither lists nor follows a symlink where an object would be', { skip: process.platform === 'win32' && 'symlinks need privileges' }, async () => {
    const outside = await tempRoot();
    await writeFile(join(outside, 'secret'), 'outside the store');
    await mkdir(join(root, 'link'), { recursive: true });
    await symlink(join(outside, 'secret'), join(root, 'link', 'file'));
    assert.deepEqual(await keys(store, 'link/'), []);
    assert.equal(await store.head('link/file'), undefined);
    await assert.rejects(store.get('link/file'), (err) => isStrataError(err, 'E_NOT_FOUND'));
    await rm(outside, { recursive: true, force: true });
  });

  it('refuses a folder of its layout that is a symlink, for puts, reads and listings alike', { skip: process.platform === 'win32' && 'symlinks need privileges' }, async (t) => {
    const own = await tempRoot();
    const outside = await tempRoot();
    t.after(() => Promise.all([own, outside].map((d) => rm(d, { recursive: true, force: true }))));
    const linked = new DirStore(own);
    await mkdir(join(outside, 'ab'));
    await writeFile(join(outside, 'ab', 'old'), 'outside the store');
    await mkdir(join(own, 'repo'));
    await symlink(outside, join(own, 'repo', 'data'));
    await linked.put('repo/config', Buffer.from('a real object'));
    const refused = (err: unknown): boolean => isStrataError(err, 'E_PERMANENT') && err.message.includes(join(own, 'repo', 'data')) && /symlink/.test(err.message);
    await assert.rejects(linked.put('repo/data/ab/new', Buffer.from('x')), refused);
    assert.deepEqual(await readdir(join(outside, 'ab')), ['old'], 'nothing is written through the link');
    await assert.rejects(linked.get('repo/data/ab/old'), refused);
    await assert.rejects(linked.getStream('repo/data/ab/old'), refused);
    await assert.rejects(linked.head('repo/data/ab/old'), refused);
    await assert.rejects(linked.delete('repo/data/ab/old'), refused);
    assert.deepEqual(await readdir(join(outside, 'ab')), ['old'], 'nothing is deleted through the link');
    await assert.rejects(keys(linked, 'repo/data/'), refused);
    await assert.rejects(keys(linked, 'repo/'), refused);
    await assert.rejects(keys(linked, ''), refused);
  });

  it('maps permission errors to E_PERMANENT', { skip: process.platform === 'win32' && 'needs POSIX modes' }, async (t) => {
    if (await rerunAsOrdinaryUser(t, import.meta.url)) return;
    await mkdir(join(root, 'locked'));
    await chmod(join(root, 'locked'), 0o500);
    try {
      await assert.rejects(store.put('locked/x', Buffer.from('x')), (err) => isStrataError(err, 'E_PERMANENT') && /permission/.test(err.message));
    } finally {
      await chmod(join(root, 'locked'), 0o700);
    }
  });
});

describe('DirStore with a missing root', () => {
  it('fails clearly and never creates the root (it may be an unmounted share)', async () => {
    const parent = await tempRoot();
    const root = join(parent, 'share');
    const store = new DirStore(root);
    const missing = (err: unknown): boolean => isStrataError(err, 'E_PERMANENT') && /missing/.test(err.message);
    await assert.rejects(store.put('a/b', Buffer.from('x')), missing);
    await assert.rejects(store.get('a/b'), missing);
    await assert.rejects(store.head('a/b'), missing);
    await assert.rejects(keys(store, ''), missing);
    assert.deepEqual(await readdir(parent), []);
    await rm(parent, { recursive: true, force: true });
  });
});

describe('mapFsError', () => {
  const errno = (code: string): Error => Object.assign(new Error(`${code}: simulated`), { code });
  const cases: Array<[string, FsOp, ErrorCode]> = [
    ['ENOENT', 'get', 'E_NOT_FOUND'],
    ['ENOTDIR', 'head', 'E_NOT_FOUND'],
    ['EACCES', 'get', 'E_PERMANENT'],
    ['EPERM', 'put', 'E_PERMANENT'],
    ['ENOSPC', 'put', 'E_PERMANENT'],
    ['EROFS', 'delete', 'E_PERMANENT'],
    ['ENOENT', 'put', 'E_PERMANENT'],
    ['EIO', 'get', 'E_TRANSIENT'],
    ['EAGAIN', 'put', 'E_TRANSIENT'],
    ['EBUSY', 'delete', 'E_TRANSIENT'],
    ['ETIMEDOUT', 'list', 'E_TRANSIENT'],
    ['ESTALE', 'get', 'E_TRANSIENT'],
  ];
  for (const [code, op, want] of cases) {
    it(`maps ${code} during ${op} to ${want}, naming the key`, () => {
      const err = mapFsError(errno(code), op, 'k/1', 'file:///s');
      assert.ok(isStrataError(err, want), `${code} gave ${String(err)}`);
      assert.equal(err.key, 'k/1');
    });
  }

  it('says plainly when the disk is full', () => {
    const err = mapFsError(errno('ENOSPC'), 'put', 'k', 'file:///s');
    assert.ok(isStrataError(err) && /no space left/.test(err.message));
  });

  it('passes programming errors and StrataErrors through unchanged', () => {
    const bug = new TypeError('not an errno error');
    assert.equal(mapFsError(bug, 'get', 'k', 'file:///s'), bug);
  });
});

describe('DirStore durability', () => {
  it('a put that creates folders syncs the folder that holds each new one, up to the root', async () => {
    const root = await tempRoot();
    try {
      const synced: string[] = [];
      const store = new DirStore(root, { syncDir: async (dir) => void synced.push(dir) });
      await store.put('data/ab/abcd', Buffer.from('x'));
      // The new file's entry is in data/ab, data/ab's in data, data's in the root.
      assert.deepEqual([...new Set(synced)].sort(), [root, join(root, 'data'), join(root, 'data/ab')].sort());
      synced.length = 0;
      await store.put('data/cd/cdef', Buffer.from('y'));
      assert.deepEqual([...new Set(synced)].sort(), [join(root, 'data'), join(root, 'data/cd')].sort());
      synced.length = 0;
      await store.put('data/cd/cd01', Buffer.from('z'));
      assert.deepEqual(synced, [join(root, 'data/cd')]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
