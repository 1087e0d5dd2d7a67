/**
 * A real case-insensitive, case-preserving folder for tests, as Windows and macOS disks are:
 * `Documents/report.txt` and `documents/REPORT.txt` name one file in it, and a listing shows each
 * name as it was created. Linux gives one to root in two ways, tried in this order:
 *
 * - an ext4 image made with `-O casefold`, loop-mounted, and an empty dir in it marked `chattr +F`
 *   (needs a kernel built with CONFIG_UNICODE: /sys/fs/ext4/features/casefold);
 * - an exFAT image (exfatprogs' mkfs.exfat) loop-mounted with exfat-fuse. exFAT has no symlinks
 *   and ignores chmod: tests on it should use neither.
 *
 * (lowntfs-3g's `ignore_case` is no substitute: it lists every name in lower case.)
 *
 * exfatDir gives the exFAT folder alone, for tests of a disk that refuses hard links (as FAT and
 * exFAT disks and some network shares do).
 * Without either (not root, no loop device or FUSE, no tools) the test is skipped with the reason:
 * suites that use this must also cover the logic on an ordinary disk. The mount, its loop device
 * and its image are removed after the test.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/** Runs a command: its output when it succeeded, else an Error saying what failed. */
function run(cmd: string, args: string[]): string | Error {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  if (r.error) return new Error(`${cmd}: ${r.error.message}`);
  if (r.status === 0) return r.stdout.trim();
  return new Error(`${cmd} failed: ${(r.stderr || r.stdout).trim().split('\n').pop() ?? ''}`);
}

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

function kind(exfatOnly: boolean): 'ext4' | 'exfat' | { skip: string } {
  if (process.platform !== 'linux') return { skip: 'test disks are made on Linux only' };
  if (process.getuid?.() !== 0) return { skip: 'mounting a test disk needs root' };
  if (!existsSync('/dev/loop-control')) return { skip: 'no loop devices for a test disk' };
  if (!exfatOnly && existsSync('/sys/fs/ext4/features/casefold') && onPath('mkfs.ext4') && onPath('chattr')) return 'ext4';
  if (onPath('mkfs.exfat') && onPath('mount.exfat-fuse') && existsSync('/dev/fuse')) return 'exfat';
  if (exfatOnly) return { skip: 'no exFAT test disk: exfatprogs with exfat-fuse are not installed' };
  return { skip: 'no case-insensitive test disk: the kernel has no ext4 casefold (CONFIG_UNICODE), and exfatprogs with exfat-fuse are not installed' };
}

/** An empty case-insensitive folder, or undefined after skipping `t` with the reason. */
export function caseInsensitiveDir(t: TestContext): Promise<string | undefined> {
  return testDisk(t, false);
}

/** An empty folder on an exFAT disk (case-insensitive, no hard links, no symlinks), or undefined after skipping `t` with the reason. */
export function exfatDir(t: TestContext): Promise<string | undefined> {
  return testDisk(t, true);
}

async function testDisk(t: TestContext, exfatOnly: boolean): Promise<string | undefined> {
  const k = kind(exfatOnly);
  if (typeof k === 'object') {
    t.skip(k.skip);
    return undefined;
  }
  const dir = await mkdtemp(join(tmpdir(), 'strata-ci-disk-'));
  const image = join(dir, 'disk.img');
  const mnt = join(dir, 'mnt');
  const held: { loop?: string; mounted?: boolean } = {};
  // Lazily: a hook that closes files on the disk (a device's index) may run after this one. The
  // loop device is then let go when its last user closes it.
  t.after(async () => {
    if (held.mounted) run('umount', ['-l', mnt]);
    if (held.loop !== undefined) run('losetup', ['-d', held.loop]);
    await rm(dir, { recursive: true, force: true });
  });
  const skip = (why: string): undefined => {
    t.skip(`no case-insensitive test disk: ${why}`);
    return undefined;
  };
  await mkdir(mnt);
  await writeFile(image, '');
  await truncate(image, 64 * 1024 * 1024);
  const made = run(k === 'ext4' ? 'mkfs.ext4' : 'mkfs.exfat', k === 'ext4' ? ['-q', '-F', '-O', 'casefold', image] : [image]);
  if (made instanceof Error) return skip(made.message);
  const loop = run('losetup', ['-f', '--show', image]);
  if (loop instanceof Error) return skip(loop.message);
  held.loop = loop;
  const mount = run(k === 'ext4' ? 'mount' : 'mount.exfat-fuse', [loop, mnt]);
  if (mount instanceof Error) return skip(mount.message);
  held.mounted = true;
  const folder = join(mnt, 'ci');
  await mkdir(folder);
  if (k === 'ext4') {
    const f = run('chattr', ['+F', folder]);
    if (f instanceof Error) return skip(f.message);
  }
  await writeFile(join(folder, 'probe'), '');
  const folds = await stat(join(folder, 'PROBE')).then(() => true, () => false);
  await unlink(join(folder, 'probe'));
  return folds ? folder : skip(`the ${k} disk is case-sensitive after all`);
}
