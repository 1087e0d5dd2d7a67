/**
 * One op on the real disk (semantics in sync/plan/ops.ts). Each function re-checks the op's
 * expected states itself, right before the step that could destroy something, and throws
 * TargetChanged instead of acting on a disk that moved since the scan.
 *
 * Replacing a file is always temp + rename in the same dir, so the target holds the old bytes or
 * the new ones, never a mix; the temp is fsynced with its final mode and mtime before the rename.
 * A write is three steps (fillWrite, sealTemp, commitWrite) so that the executor can fill the
 * temps of many small files side by side, fsync them side by side, then rename each in plan order
 * (writes.ts).
 */
import { constants, fchmodSync, fstatSync, futimesSync, renameSync, rmSync, type Stats } from 'node:fs';
import { lutimes, mkdir, open, rename, rm, rmdir, symlink, unlink, type FileHandle } from 'node:fs/promises';
import { StrataError } from '../errors.js';
import type { ApplyOp, FileNode, Node } from '../plan/index.js';
import { MODE_MASK } from '../restore/assembly.js';
import { isErrno, NOFOLLOW, openRegular } from '../fsutil.js';
import { copyRegular } from '../sparse.js';
import { badAncestor, describeStat, lstatOrNull } from './check.js';
import { TargetChanged, type ExecContext } from './context.js';
import type { MovedStat } from './journal.js';

type Op<K extends ApplyOp['op']> = Extract<ApplyOp, { op: K }>;

/**
 * Gives an open file the node's mode (unless `mode`, its mode now, is that already) and mtime.
 * Synchronous calls on the descriptor: each only changes the inode in memory (the fsync after
 * makes it durable), where a round trip through the thread pool costs several times more.
 */
function setFileMeta(fh: FileHandle, node: FileNode, mode?: number): void {
  // MODE_MASK drops setuid/setgid: a peer must not be able to plant a setuid file here.
  if (mode !== (node.mode & MODE_MASK)) fchmodSync(fh.fd, node.mode & MODE_MASK);
  futimesSync(fh.fd, node.mtimeMs / 1000, node.mtimeMs / 1000);
}

/** A file's size and permission bits, through its descriptor (a local call: see setFileMeta). */
function statOf(fh: FileHandle): { size: number; mode: number } {
  const st = fstatSync(fh.fd);
  return { size: st.size, mode: st.mode & 0o7777 };
}

/** Re-checks the target, renames the finished temp over it; the temp is removed if that fails. */
async function commit(ctx: ExecContext, rel: string, expect: Node | null, tmpAbs: string): Promise<void> {
  try {
    await ctx.check(rel, expect);
    if (expect !== null) await ctx.flushDirs();
    await rename(tmpAbs, ctx.abs(rel));
  } catch (err) {
    await rm(tmpAbs, { force: true });
    throw err;
  }
  await ctx.touched(ctx.abs(rel));
}

/**
 * Runs `fill` on the temp file (created here with mode `create`, less the umask, unless copyRegular
 * made it) and returns it still open, not yet fsynced (sealTemp does that); the temp is removed on
 * failure.
 * O_NOFOLLOW: the temp's name must not already be a link to somewhere else.
 */
async function fillTemp(tmpAbs: string, create: number | undefined, fill: (fh: FileHandle) => Promise<void>): Promise<FileHandle> {
  let fh: FileHandle | undefined;
  try {
    const flags = create !== undefined ? constants.O_RDWR | constants.O_CREAT | constants.O_EXCL : constants.O_RDWR;
    fh = await open(tmpAbs, flags | NOFOLLOW, create);
    await fill(fh);
    return fh;
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await rm(tmpAbs, { force: true });
    throw err;
  }
}

/** Makes a filled temp durable (bytes, mode, mtime) and closes it; removes it if that fails. */
export async function sealTemp(fh: FileHandle, tmpAbs: string): Promise<void> {
  try {
    await fh.sync();
    await fh.close();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmpAbs, { force: true });
    throw err;
  }
}

/**
 * A write's first step: the target re-checked, its temp filled with mode and mtime set, left open.
 * `inTurn` runs the fetch when the writes before this one have fetched (the fetcher reads ahead in
 * plan order).
 */
export async function fillWrite(ctx: ExecContext, op: Op<'write'>, tmp: string, inTurn: (fetch: () => Promise<void>) => Promise<void>): Promise<FileHandle> {
  ctx.checkNow(op.path, op.expect);
  const tmpAbs = ctx.abs(tmp);
  // Created with its final mode, but writable by its owner only while it is filled: the chmod is
  // needed only where that or the umask took bits away.
  return fillTemp(tmpAbs, op.node.mode & MODE_MASK & ~0o022, async (fh) => {
    const old = op.expect?.type === 'file' ? { path: ctx.abs(op.path), node: op.expect } : undefined;
    // In the target's folder, just checked to be a real dir: the temp is opened without following a link.
    const kept = ctx.seeds.get(op.path);
    const seed = kept === undefined ? undefined : { path: ctx.abs(kept.tmp), node: kept.node };
    await inTurn(() => ctx.fetch(op.node, fh, tmpAbs, old, seed));
    const { size, mode } = statOf(fh);
    if (size !== op.node.size) {
      throw new StrataError('E_EXEC_FETCH_SIZE', `fetched ${size} bytes for content ${op.node.content}, expected ${op.node.size}`, { path: op.path });
    }
    setFileMeta(fh, op.node, mode);
  });
}

/** Removes a temp the run will not rename, reached through real dirs only (a dir may have been swapped for a link). */
export async function discardTemp(ctx: ExecContext, tmp: string): Promise<void> {
  if ((await badAncestor(ctx.root, tmp)) === undefined) await rm(ctx.abs(tmp), { force: true });
}

/**
 * A write's last step, once its temp is sealed: the target re-checked, the temp renamed over it
 * (removed if that fails). From the check to the rename the calls are synchronous (checkNow): a
 * batch commits its writes one after the other, each a few local calls. `flush`: the dir entries
 * created so far are made durable first, as before anything is destroyed (the batch asks it for
 * its first replace, writes.ts).
 */
export async function commitWrite(ctx: ExecContext, op: Op<'write'>, tmp: string, flush: boolean): Promise<void> {
  const tmpAbs = ctx.abs(tmp);
  try {
    if (flush) await ctx.flushDirs();
    ctx.checkNow(op.path, op.expect);
    renameSync(tmpAbs, ctx.abs(op.path));
  } catch (err) {
    rmSync(tmpAbs, { force: true });
    throw err;
  }
  await ctx.touched(ctx.abs(op.path));
}

/**
 * Runs `step`, which opens the user's file at `rel` with openRegular (copyRegular, fixMeta): a FIFO
 * or link swapped in there since the check is a change, neither waited on nor followed.
 */
async function onFileAt(ctx: ExecContext, rel: string, step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (err) {
    if (isErrno(err, 'ENOTREG', 'ELOOP')) throw new TargetChanged(rel, describeStat(await lstatOrNull(ctx.abs(rel))));
    throw err;
  }
}

export async function copy(ctx: ExecContext, op: Op<'copy'>, tmp: string): Promise<void> {
  await ctx.check(op.from, op.expectFrom);
  await ctx.check(op.path, op.expect);
  const tmpAbs = ctx.abs(tmp);
  await onFileAt(ctx, op.from, () => copyRegular(ctx.abs(op.from), tmpAbs));
  const fh = await fillTemp(tmpAbs, undefined, async (fh) => {
    // A source edited during the copy may have given the temp a mix of versions.
    await ctx.check(op.from, op.expectFrom);
    const { size, mode } = statOf(fh);
    if (size !== op.expectFrom.size) throw new TargetChanged(op.from, 'a different size while copying');
    setFileMeta(fh, op.node, mode);
  });
  await sealTemp(fh, tmpAbs);
  await commit(ctx, op.path, op.expect, tmpAbs);
}

/**
 * Renames, then sets the mode and mtime. `record` (the journal's moved lines) is told the file's
 * inode before the rename, and its inode and ctime before each later step, so that recovery
 * finishes them only on the file as this left it (recover.ts).
 */
export async function move(ctx: ExecContext, op: Op<'move'>, record: (st: MovedStat) => Promise<void>): Promise<void> {
  const source = (await ctx.check(op.from, op.expectFrom)) as Stats;
  await ctx.check(op.path, op.expect, source);
  await ctx.flushDirs();
  await record({ ino: source.ino });
  await rename(ctx.abs(op.from), ctx.abs(op.path));
  await ctx.touched(ctx.abs(op.from));
  await ctx.touched(ctx.abs(op.path));
  await onFileAt(ctx, op.path, () => fixMeta(ctx.abs(op.path), op.node, record));
}

/**
 * Sets a file's mode and mtime through a descriptor that cannot follow a planted link nor wait on
 * a FIFO (openRegular: ENOTREG, ELOOP where no regular file stands); `record` is told its stat
 * before the chmod, if one is needed, and before the utimes.
 */
export async function fixMeta(abs: string, node: FileNode, record?: (st: MovedStat) => Promise<void>): Promise<void> {
  const fh = await openRegular(abs);
  try {
    if (record === undefined) setFileMeta(fh, node);
    else {
      const st = fstatSync(fh.fd);
      await record({ ino: st.ino, ctimeMs: st.ctimeMs });
      const mode = st.mode & 0o7777;
      if (mode !== (node.mode & MODE_MASK)) {
        fchmodSync(fh.fd, node.mode & MODE_MASK);
        await record({ ino: st.ino, ctimeMs: fstatSync(fh.fd).ctimeMs });
      }
      setFileMeta(fh, node, node.mode & MODE_MASK);
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function makeSymlink(ctx: ExecContext, op: Op<'symlink'>, tmp: string): Promise<void> {
  await ctx.check(op.path, op.expect);
  const tmpAbs = ctx.abs(tmp);
  await symlink(op.node.target, tmpAbs);
  try {
    if (op.node.mtimeMs !== undefined) await lutimes(tmpAbs, op.node.mtimeMs / 1000, op.node.mtimeMs / 1000);
  } catch (err) {
    await rm(tmpAbs, { force: true });
    throw err;
  }
  await commit(ctx, op.path, op.expect, tmpAbs);
}

export async function makeDir(ctx: ExecContext, op: Op<'mkdir'>): Promise<void> {
  await ctx.check(op.path, op.expect);
  await mkdir(ctx.abs(op.path), 0o700);
  await ctx.setDirMode(op.path, op.node.mode);
  await ctx.touched(ctx.abs(op.path));
}

export async function setMeta(ctx: ExecContext, op: Op<'setmeta'>): Promise<void> {
  await ctx.check(op.path, op.expect);
  const node = op.node;
  if (node.type === 'file') await onFileAt(ctx, op.path, () => fixMeta(ctx.abs(op.path), node));
  else if (node.type === 'dir') await ctx.setDirMode(op.path, node.mode);
  else if (node.mtimeMs !== undefined) await lutimes(ctx.abs(op.path), node.mtimeMs / 1000, node.mtimeMs / 1000);
}

export async function remove(ctx: ExecContext, op: Op<'delete'>): Promise<void> {
  await ctx.check(op.path, op.expect);
  await ctx.flushDirs();
  if (op.expect.type === 'dir') {
    await rmdir(ctx.abs(op.path));
    ctx.forgetDir(op.path);
  } else {
    await unlink(ctx.abs(op.path));
  }
  await ctx.touched(ctx.abs(op.path));
}
