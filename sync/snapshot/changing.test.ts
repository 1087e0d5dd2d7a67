// Files that change or fail while being read, driven by chunkers that act between the chunker's
// pass and the re-read of missing chunks.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFile, lstat, readFile, utimes, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { StrataError } from '../errors.js';
import { BEFORE_T0, newRepo, T0 } from '../repo/testkit.js';
import type { ChunkerParams } from '../repo/types.js';
import { InProcessChunker } from './chunker.js';
import { MAX_ATTEMPTS } from './file.js';
import { takeSnapshot } from './snapshot.js';
import { listDisk, listTree, withTmp, writeFiles } from './testkit.js';
import type { ChunkedFile, ChunkFileOptions, FileChunker } from './types.js';

const base = { layer: 'user/alice', device: 'laptop', now: () => T0 };

/** Runs `after(path, call)` once a file named `name` has been chunked, before takeSnapshot re-reads it. */
class MeddlingChunker implements FileChunker {
  readonly size = 1;
  calls = 0;
  private readonly inner = new InProcessChunker();
  constructor(
    private readonly name: string,
    private readonly after: (path: string, call: number) => Promise<void>,
  ) {}

  async chunkFile(path: string, params: ChunkerParams, opts?: ChunkFileOptions): Promise<ChunkedFile> {
    const result = await this.inner.chunkFile(path, params, opts);
    if (basename(path) === this.name) await this.after(path, ++this.calls);
    return result;
  }
}

/** `size` bytes of noise, the same for the same `seed`. */
function noise(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let at = 0, n = 0; at < size; n++) at += createHash('sha256').update(`${seed}:${n}`).digest().copy(out, at);
  return out;
}

/**
 * Reads a file named `name` torn, once: its first `keep` bytes as they were, the rest as `next`,
 * written over the file in place meanwhile (same inode, same size) with its mtime set back, as a
 * save with `touch -r` or `rsync -t` landing in the middle of the chunker's read does.
 */
class TearingChunker implements FileChunker {
  readonly size = 1;
  calls = 0;
  private readonly inner = new InProcessChunker();
  constructor(
    private readonly name: string,
    private readonly next: Buffer,
    private readonly keep: number,
    private readonly side: string,
  ) {}

  async chunkFile(path: string, params: ChunkerParams, opts?: ChunkFileOptions): Promise<ChunkedFile> {
    if (basename(path) !== this.name || ++this.calls > 1) return this.inner.chunkFile(path, params, opts);
    const before = await lstat(path);
    await writeFile(this.side, Buffer.concat([(await readFile(path)).subarray(0, this.keep), this.next.subarray(this.keep)]));
    const torn = await this.inner.chunkFile(this.side, params, opts);
    await writeFile(path, this.next);
    // Setting the mtime back leaves only the ctime to show the write: wait for it to have moved.
    while ((await lstat(path)).ctimeMs === before.ctimeMs) await sleep(1).then(() => utimes(path, before.atime, before.mtime));
    await utimes(path, before.atime, before.mtime);
    return torn;
  }
}

describe('takeSnapshot: files that change while being read', () => {
  it('a same-size rewrite with the mtime set back, made while the file is read, is read again, not stored torn', async () => {
    await withTmp(async (side) => {
      await withTmp(async (root) => {
        // A torn read's head is the old version's (its chunks already stored), its tail the new's.
        const [head, middle] = [noise('head', 512 * 1024), noise('middle', 1024 * 1024)];
        const old = Buffer.concat([head, middle, noise('old tail', 256 * 1024)]);
        const next = Buffer.concat([noise('new head', head.length), middle, noise('new tail', 256 * 1024)]);
        await writeFiles(root, { 'seen.bin': old }, BEFORE_T0);
        const { repo } = await newRepo();
        await takeSnapshot(repo, { ...base, root });
        await writeFiles(root, { 'doc.bin': old }, BEFORE_T0);
        const chunker = new TearingChunker('doc.bin', next, head.length + middle.length / 2, join(side, 'torn'));
        const { snapshot, stats } = await takeSnapshot(repo, { ...base, root, chunker });
        assert.deepEqual(stats.skipped, []);
        assert.ok((await readFile(join(root, 'doc.bin'))).equals(next));
        assert.deepEqual(await listTree(repo, snapshot.root), await listDisk(root));
        assert.equal(chunker.calls, 2);
      });
    });
  });

  it('re-chunks a file whose bytes changed after chunking (same size) and stores what is on disk', async () => {
    await withTmp(async (root) => {
      await writeFiles(root, { 'doc.txt': 'version one', 'other.txt': 'o' });
      const chunker = new MeddlingChunker('doc.txt', async (path, call) => {
        if (call === 1) await writeFile(path, 'version two');
      });
      const { repo } = await newRepo();
      const { snapshot, stats } = await takeSnapshot(repo, { ...base, root, chunker });
      assert.equal(chunker.calls, 2);
      assert.deepEqual(stats.skipped, []);
      assert.deepEqual(await listTree(repo, snapshot.root), await listDisk(root));
    });
  });

  it('re-chunks a file that grew after chunking even when the re-read chunks still match', async () => {
    await withTmp(async (root) => {
      await writeFiles(root, { 'log.txt': 'line 1\n' });
      const chunker = new MeddlingChunker('log.txt', async (path, call) => {
        if (call === 1) await appendFile(path, 'line 2\n');
      });
      const { repo } = await newRepo();
      const { snapshot } = await takeSnapshot(repo, { ...base, root, chunker });
      assert.equal(chunker.calls, 2);
      assert.deepEqual(await listTree(repo, snapshot.root), await listDisk(root));
    });
  });

  it(`gives up on a file that keeps changing after ${MAX_ATTEMPTS} attempts and reports it`, async () => {
    await withTmp(async (root) => {
      await writeFiles(root, { 'hot.db': 'v0', 'calm.txt': 'c' });
      const chunker = new MeddlingChunker('hot.db', (path, call) => writeFile(path, `v${call}`));
      const { repo } = await newRepo();
      const { snapshot, stats } = await takeSnapshot(repo, { ...base, root, chunker });
      assert.equal(chunker.calls, MAX_ATTEMPTS);
      assert.deepEqual(stats.skipped.map((s) => s.path), ['hot.db']);
      assert.match(stats.skipped[0]?.reason ?? '', /kept changing/);
      assert.deepEqual(Object.keys(await listTree(repo, snapshot.root)), ['calm.txt']);
    });
  });
});

/**
 * Fails every file named `name` the way the chunker module reports an unreadable file. It chunks
 * by path only (no chunkBuffers), as a file that cannot be opened is chunked: batch.ts leaves it.
 */
class LockedChunker implements FileChunker {
  private readonly inner = new InProcessChunker();
  constructor(private readonly name: string) {}
  async chunkFile(path: string, params: ChunkerParams, opts?: ChunkFileOptions): Promise<ChunkedFile> {
    if (basename(path) !== this.name) return this.inner.chunkFile(path, params, opts);
    const cause = Object.assign(new Error('resource busy or locked'), { code: 'EBUSY' });
    throw new StrataError('E_FILE_READ', 'cannot read file (EBUSY)', { path }, { cause });
  }
}

describe('takeSnapshot: unreadable files', () => {
  it('reports a locked file; without a parent version it is left out', async () => {
    await withTmp(async (root) => {
      await writeFiles(root, { 'mail.pst': 'mailbox', 'note.txt': 'n' });
      const { repo } = await newRepo();
      const { snapshot, stats } = await takeSnapshot(repo, { ...base, root, chunker: new LockedChunker('mail.pst') });
      assert.deepEqual(stats.skipped, [{ path: 'mail.pst', reason: 'cannot be read (EBUSY)' }]);
      assert.deepEqual(Object.keys(await listTree(repo, snapshot.root)), ['note.txt']);
    });
  });

  it('keeps the parent version of a file that is locked now, so it does not look deleted', async () => {
    await withTmp(async (root) => {
      await writeFiles(root, { 'mail.pst': 'mailbox v1', 'note.txt': 'n' });
      const { repo } = await newRepo();
      const first = await takeSnapshot(repo, { ...base, root });
      const before = await listTree(repo, first.snapshot.root);
      await writeFile(join(root, 'mail.pst'), 'mailbox v2, longer');
      await utimes(join(root, 'mail.pst'), T0, T0);
      const second = await takeSnapshot(repo, { ...base, root, chunker: new LockedChunker('mail.pst') });
      assert.equal(second.stats.skipped.length, 1);
      assert.match(second.stats.skipped[0]?.reason ?? '', /EBUSY.*kept the version from the parent snapshot/);
      assert.deepEqual(await listTree(repo, second.snapshot.root), before);
    });
  });

  it('fails the snapshot on an error that is not about one file, and leaves no head', async () => {
    await withTmp(async (root) => {
      await writeFiles(root, { 'a.txt': 'a' });
      const chunker: FileChunker = {
        chunkFile: () => Promise.reject(new StrataError('E_CHUNK_WORKER', 'chunk worker failed: boom')),
      };
      const { repo } = await newRepo();
      await assert.rejects(takeSnapshot(repo, { ...base, root, chunker }), (e: unknown) => e instanceof StrataError && e.code === 'E_CHUNK_WORKER');
      assert.deepEqual((await repo.listHeads('user/alice')).heads, []);
      // The repository stays usable.
      const ok = await takeSnapshot(repo, { ...base, root });
      assert.deepEqual(await listTree(repo, ok.snapshot.root), await listDisk(root));
    });
  });
});
