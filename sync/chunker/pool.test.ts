import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isStrataError } from '../errors.js';
import { makeRng, testSeed } from '../testing/random.js';
import { DEFAULT_CHUNKER } from './params.js';
import { ChunkPool } from './pool.js';
import { chunkBytes, type Chunk } from './stream.js';

const p = DEFAULT_CHUNKER;

describe('chunk pool', () => {
  let dir: string;
  let pool: ChunkPool;
  const files = new Map<string, Buffer>();

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'strata-chunker-'));
    const rng = makeRng(testSeed('chunk pool'));
    for (const [name, size] of [['empty', 0], ['small', 10_000], ['medium', 200_000], ['large', 5 << 20], ['large2', 3 << 20]] as const) {
      files.set(name, Buffer.from(rng.bytes(size)));
      writeFileSync(join(dir, name), files.get(name)!);
    }
    pool = new ChunkPool({ size: 2 });
  });
  after(async () => {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives the same ids as the in-process chunker, for both hashes', async () => {
    for (const hash of ['blake3', 'sha256'] as const) {
      const results = await Promise.all([...files.keys()].map((name) => pool.chunkFile(join(dir, name), p, { hash })));
      [...files.values()].forEach((data, i) => assert.deepEqual(results[i], chunkBytes(data, p, hash).file));
    }
  });

  it('chunks a batch of files in memory as chunkFile chunks them, inline below inlineBelow and in a worker above', async () => {
    // Views into one larger buffer, as a caller's may be: only their own bytes are chunked.
    const backing = Buffer.concat([Buffer.from('xx'), ...files.values()]);
    let at = 2;
    const views = [...files.values()].map((f) => backing.subarray(at, (at += f.length)));
    for (const hash of ['blake3', 'sha256'] as const) {
      const want = [...files.values()].map((data) => chunkBytes(data, p, hash).file);
      assert.deepEqual(await pool.chunkBuffers(views, p, { hash }), want);
      assert.deepEqual(await pool.chunkBuffers([views[1]!], p, { hash }), [want[1]], 'a batch below inlineBelow');
    }
    assert.equal(backing.subarray(2, 2 + files.get('empty')!.length + files.get('small')!.length).equals(Buffer.concat([files.get('empty')!, files.get('small')!])), true, 'the caller keeps its bytes');
  });

  it('hands back the bytes of the wanted chunks only, verified and in order', async () => {
    const data = files.get('large')!;
    const all = chunkBytes(data, p).file.chunks;
    const skip = new Set([all[0]!.id, all[2]!.id]);
    const got: Chunk[] = [];
    const result = await pool.chunkFileWithData(join(dir, 'large'), p, async (c) => void got.push(c), { want: (id) => !skip.has(id) });
    assert.deepEqual(result.chunks, all);
    assert.deepEqual(got.map((c) => c.offset), all.filter((c) => !skip.has(c.id)).map((c) => c.offset));
    for (const c of got) assert.ok(c.data.equals(data.subarray(c.offset, c.offset + c.length)));
  });

  it('hands back small files inline', async () => {
    const got: Chunk[] = [];
    await pool.chunkFileWithData(join(dir, 'small'), p, async (c) => void got.push(c));
    assert.equal(got.length, 1);
    assert.ok(got[0]!.data.equals(files.get('small')!));
  });

  it('refuses chunks of a file that changed after it was chunked', async () => {
    const path = join(dir, 'changing');
    writeFileSync(path, files.get('large')!);
    const err = await pool
      .chunkFileWithData(path, p, async (c) => {
        if (c.offset === 0) await writeFile(path, files.get('large2')!);
      })
      .catch((e: unknown) => e);
    assert.ok(isStrataError(err, 'E_FILE_CHANGED') && err.path === path, String(err));
  });

  it('reports a missing file with its path and errno, inline and in a worker', async () => {
    const path = join(dir, 'missing');
    for (const opts of [{}, { size: 1 << 20 }]) {
      const err = await pool.chunkFile(path, p, opts).catch((e: unknown) => e);
      assert.ok(isStrataError(err, 'E_FILE_READ') && err.path === path, String(err));
      assert.equal((err.cause as NodeJS.ErrnoException).code, 'ENOENT');
    }
  });

  it('refuses bad parameters before reading', async () => {
    const err = await pool.chunkFile(join(dir, 'large'), { ...p, maxSize: 1 }).catch((e: unknown) => e);
    assert.ok(isStrataError(err, 'E_BAD_CHUNKER_PARAMS'));
  });

  it('fails requests after close', async () => {
    const closed = new ChunkPool({ size: 1 });
    await closed.close();
    const err = await closed.chunkFile(join(dir, 'large'), p).catch((e: unknown) => e);
    assert.ok(isStrataError(err, 'E_POOL_CLOSED'));
  });

  it('does not keep an idle process alive (run under node --import tsx)', () => {
    const poolUrl = new URL('./pool.ts', import.meta.url).href;
    const script = join(dir, 'idle.mjs');
    writeFileSync(
      script,
      `const { ChunkPool } = await import(${JSON.stringify(poolUrl)});
      const r = await new ChunkPool().chunkFile(${JSON.stringify(join(dir, 'large'))}, ${JSON.stringify(p)});
      console.log(r.chunks.length);`,
    );
    const child = spawnSync(process.execPath, ['--import', 'tsx', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(child.status, 0, child.stderr);
    assert.equal(Number(child.stdout.trim()), chunkBytes(files.get('large')!, p).file.chunks.length);
  });
});
