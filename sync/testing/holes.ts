/**
 * Sparse files in tests: a folder on a file system that keeps holes, and what a file takes on the
 * disk. Tests of sparse writes need both: on a file system without holes (FAT, some network
 * shares) a sparse write is right when its bytes are, and a test there says it could not check
 * the blocks rather than passing quietly.
 */
import { mkdir, mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** Bytes of disk a file takes (st_blocks counts 512-byte units on every POSIX system). */
export async function allocatedBytes(path: string): Promise<number> {
  return (await stat(path)).blocks * 512;
}

/** Whether a file of 8 MiB with one byte of data, written in `dir`, takes less than 1 MiB. */
async function keepsHoles(dir: string): Promise<boolean> {
  const probe = join(dir, 'hole-probe');
  const fh = await open(probe, 'wx');
  try {
    await fh.write(Buffer.from('x'), 0, 1, (8 << 20) - 1);
    await fh.sync();
  } finally {
    await fh.close();
  }
  const kept = (await allocatedBytes(probe)) < 1 << 20;
  await rm(probe);
  return kept;
}

/**
 * A new folder (removed after the test) on a file system that keeps holes: under the temp dir, or
 * else under the worktree's `.tmp/` (gitignored); `holes` is false where neither does.
 */
export async function holeDir(t: TestContext, label: string): Promise<{ dir: string; holes: boolean }> {
  const parents = [tmpdir(), join(REPO, '.tmp')];
  let first: string | undefined;
  for (const parent of parents) {
    await mkdir(parent, { recursive: true });
    const dir = await mkdtemp(join(parent, `strata-${label}-`));
    t.after(() => rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));
    if (await keepsHoles(dir)) return { dir, holes: true };
    first ??= dir;
  }
  return { dir: first as string, holes: false };
}
