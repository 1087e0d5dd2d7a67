/**
 * A small tmpfs for tests of a full disk: writes there fail with ENOSPC once its `size` is used, on
 * every machine alike. Linux and root only (mount); CI runs as root.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';

/** The skip of a suite that mounts one: why it cannot here, or false. */
export const NEEDS_MOUNT = process.platform !== 'linux' ? 'tmpfs is Linux only' : process.getuid?.() !== 0 && 'mounting a file system needs root';

/**
 * Runs `body` with a tmpfs of `size` (mount's form: `64k`, `1m`) mounted at `dir` (made if
 * missing), unmounted after it, before the test's own clean-up (which a mount point would stall).
 */
export async function withTmpfs<T>(dir: string, size: string, body: () => Promise<T>): Promise<T> {
  await mkdir(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mount of a tmpfs at ${dir} failed: ${r.stderr.trim()}`);
  try {
    return await body();
  } finally {
    spawnSync('umount', [dir]);
  }
}

/** Fills the file system holding `dir` up: a file there written until the disk refuses more. */
export async function fillUp(dir: string): Promise<void> {
  const fh = await open(join(dir, 'filler'), 'wx');
  const block = Buffer.alloc(4096, 1);
  try {
    for (;;) await fh.write(block);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    await fh.close();
  }
}
