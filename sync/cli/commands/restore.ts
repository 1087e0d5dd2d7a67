/**
 * `strata restore <dir> --layer <id> [--snapshot <id>] [--seed <dir>]… [--path <p> [--beside]]`:
 * lays a snapshot of the layer onto a folder (the latest one by default), copying chunks found in
 * the seed folders and in the folder itself instead of downloading them. Onto a folder that already
 * holds things, the snapshot's files replace those at their paths, the rest is left alone, and an
 * entry of another kind in the way (a folder where the snapshot has a file) is moved aside as a
 * conflict copy, as below.
 *
 * Point in time: `--path` restores one file or folder of the snapshot, in place (files the
 * snapshot has are put back; files added since are left alone — nothing is lost: a folder
 * where the snapshot has a file, or a file where it has a folder, is moved aside as
 * `name.sync-conflict-YYYYMMDD-HHMMSS-<device>.ext`, the sync engine's conflict copy, and so is
 * a file it replaces that was changed since the layer's latest snapshot), or with
 * `--beside` next to it as `name.restored-YYYYMMDD-HHMMSS.ext` (the snapshot's time; a folder
 * keeps its whole name: `my.photos.restored-…`; laid first in a temp folder in <dir>, which a later
 * restore there removes if its restore was killed, never while it may still run: restore/beside-temp.ts), leaving the current version untouched; a link or a file where a folder on the way should be is refused (E_BAD_TARGET), never written through. Restoring into a synced folder is an ordinary local edit to the
 * agent, which syncs it like any other.
 *
 * Signed in (no --store: signed-in.ts), `strata restore <path> [--snapshot <id>] [--beside]`
 * restores one file or folder under the session's home from the user's layer (or --layer), with
 * the keychain's credentials; conflict copies are named for the session's device. It reads that
 * one layer: an org file the user never changed is in its org layer, not in theirs (the error says
 * which), and the effective tree of a past time cannot be rebuilt, since a user snapshot does not
 * record the org versions it was made over (the session knows only those laid now, and a profile
 * has no history). Refused while a sign-in is laying home (E_LAYING).
 */
import { lstat, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fsyncDir, isErrno, renameNoReplace } from '../../fsutil.js';
import { conflictStamp, splitExtension, withTail } from '../../plan/conflict-name.js';
import { checkEntryName, type Repository } from '../../repo/index.js';
import type { BlobId } from '../../repo/types.js';
import { BESIDE_TEMP, besideTempPrefix, prepareTarget, restoreSnapshot, tempInUse } from '../../restore/index.js';
import { listOption, stringOption, usageError } from '../args.js';
import type { Context } from '../context.js';
import { openChunkPool, poolChunkFilesFn, poolChunkFn } from '../chunker.js';
import { cancelOnInterrupt } from '../interrupt.js';
import { formatBytes, shortId } from '../format.js';
import { resolveSnapshot, snapshotOption } from '../resolve.js';
import { PIT_LAYER_OPTION, PIT_STATE_DIR_OPTION, homePath, notInUserLayer, openSource, signedInSession } from '../signed-in.js';
import { runningLay } from '../../signin/index.js';
import { asReported, shortenMiddle, StrataError } from '../../errors.js';
import { SNAPSHOT_OPTION, secondsSince, type Command } from './command.js';
import { transferLines, transferReport } from './report.js';
import { plural } from '../../../shared/status-text.js';

export const restoreCommand: Command = {
  name: 'restore',
  summary: 'lay a snapshot of a layer onto a folder (default: the latest snapshot); signed in, without --store: one file or folder under home',
  args: '<dir>|<path>',
  positionals: { min: 1, max: 1 },
  globals: ['store', 'device'],
  globalHelp: { device: "the device named in conflict copies of what is moved aside (default: the signed-in session's device; with --store, derived from the host name)" },
  options: {
    layer: PIT_LAYER_OPTION,
    snapshot: SNAPSHOT_OPTION,
    seed: { type: 'string', multiple: true, value: '<dir>', help: 'a folder whose files may hold needed chunks (repeatable)' },
    path: { type: 'string', value: '<path>', help: 'restore only this file or folder (layer-relative, / separated; or an absolute path inside <dir>)' },
    beside: { type: 'boolean', help: 'with --path (or signed in): restore next to the current version, as name.restored-<time>.ext (a folder: name.restored-<time>)' },
    'state-dir': PIT_STATE_DIR_OPTION,
  },
  async run(ctx) {
    const signed = await signedInSession(ctx);
    const arg = ctx.args.positionals[0] as string;
    const target = signed ? signed.session.home : arg;
    const wanted = snapshotOption(ctx.args, ctx.command);
    const seeds = listOption(ctx.args, 'seed');
    const only = signed ? signedInPath(ctx, signed.session.home, arg, homePath(signed.session, arg, ctx.command)) : pathOption(ctx, target);
    const beside = ctx.args.values.beside === true;
    if (beside && only === undefined) throw usageError('--beside needs --path', ctx.command);
    const device = signed && stringOption(ctx.args, 'device') === undefined ? signed.session.device : ctx.device;
    const source = await openSource(ctx, signed);
    const { layer } = source;
    const laying = signed ? await runningLay(signed.stateDir) : undefined;
    if (laying !== undefined) throw new StrataError('E_LAYING', `a sign-in (process ${laying}) is laying the layer onto home: restore once it has finished`, { path: target });
    const start = performance.now();
    const repo = await ctx.openRepository();
    const snapshot = await resolveSnapshot(repo, layer, wanted);
    const { id } = snapshot;
    const pool = openChunkPool(ctx);
    const bar = ctx.progress('restore');
    // Checked before anything is fetched, and again when the restored version is placed.
    if (beside && only !== undefined) await foldersOnTheWay(target, only, false);
    // Ctrl-C stops the restore cleanly: its temp files (and a --beside temp folder) go. Caught
    // from before the temp folder is made until it is gone (moveBeside): one then finishes the move.
    const interrupt = cancelOnInterrupt(`restore of ${only ?? 'the snapshot'} cancelled; what was not restored yet is as it was (run it again to finish)`);
    let stats;
    let into = target;
    let placed: string | undefined;
    try {
      if (beside) into = await besideDir(target);
      stats = await restoreSnapshot(repo, layer, id, {
        target: into,
        only,
        signal: interrupt.signal,
        // The current version is the one seed that matters (not the whole folder around it).
        seeds: beside && only !== undefined ? [...seeds, join(target, only)] : seeds,
        // In place, nothing of the user's is lost: a folder where the snapshot has a file (or the
        // other way round) holds work done since, and is kept beside as a conflict copy, as is a
        // file replaced whose version is not in the layer's latest snapshot (edited since). The
        // same for a whole snapshot laid onto a folder that already holds things.
        ...(!beside ? { aside: { device, latest: await latestRoot(repo, layer, wanted, snapshot.snapshot.root) } } : {}),
        chunkFile: poolChunkFn(pool),
        chunkFiles: poolChunkFilesFn(pool),
        onProgress: (p) => bar?.update({ files: p.filesDone, totalFiles: p.files, bytes: p.bytesDone, totalBytes: p.bytes }),
      });
    } catch (err) {
      // A failed --beside (a mistyped --path, most often) must not leave its temp folder behind.
      if (into !== target) await rm(into, { recursive: true, force: true });
      interrupt.dispose();
      const failed = notInUserLayer(err, source);
      throw into === target ? failed : besideFailure(failed, into, target);
    }
    bar?.done();
    try {
      if (beside && only !== undefined) placed = await moveBeside(into, target, only, snapshot.snapshot.time);
    } finally {
      interrupt.dispose();
    }
    const report = transferReport(stats.files, stats.bytes, stats.bytesSeeded, ctx.requests, secondsSince(start));
    if (ctx.json) {
      ctx.printJson({
        snapshot: id,
        layer,
        target,
        ...(only === undefined ? {} : { path: only }),
        ...(placed === undefined ? {} : { restoredAs: placed }),
        ...report,
        dirs: stats.dirs,
        symlinks: stats.symlinks,
        bytesFetched: stats.bytesDownloaded,
        bytesReused: stats.bytesReused,
        filesSkippedComplete: stats.filesSkippedComplete,
        ...(beside ? {} : { movedAside: stats.movedAside }),
        tooLong: stats.tooLong,
      });
    } else {
      ctx.print(
        `restored ${only === undefined ? '' : `${only} of `}snapshot ${shortId(id)} of ${layer} to ${placed === undefined ? target : join(target, placed)}`,
        `  ${plural(stats.dirs, 'dir')}, ${plural(stats.symlinks, 'symlink')}; ${plural(stats.filesSkippedComplete, 'file')} already complete (${formatBytes(stats.bytesReused)})`,
        ...transferLines(report),
        ...stats.movedAside.map((m) => `  moved aside: ${m.path} → ${m.copy} (${m.changed ? "changed since the layer's latest snapshot" : 'it was in the way'})`),
      );
    }
    warnTooLong(ctx, target, stats.tooLong);
    // Everything else is restored; the exit says what was not (run.ts).
    return stats.tooLong.length > 0 ? 4 : 0;
  },
};

const TOO_LONG_TO_RESTORE = 'not restored: its path is longer than this system allows (ENAMETOOLONG); restore into a folder higher up, or shorten the names above it';
/** Paths a warning names one by one; the rest are counted (--json lists every one). */
const TOO_LONG_SHOWN = 10;

/** A warning line for each path left out as too long here (restore/plan.ts leaveOutTooLong), the first few. */
function warnTooLong(ctx: Context, target: string, paths: readonly string[]): void {
  for (const p of paths.slice(0, TOO_LONG_SHOWN)) {
    ctx.warn(new StrataError('E_PATH_TOO_LONG', TOO_LONG_TO_RESTORE, { path: shortenMiddle(join(target, p)) }));
  }
  if (paths.length > TOO_LONG_SHOWN) ctx.warn(`E_PATH_TOO_LONG ${paths.length - TOO_LONG_SHOWN} more paths not restored, too long for this system here (--json lists them all)`);
}

/** The root tree of the layer's latest snapshot: `restored`'s when that is the one restored. */
async function latestRoot(repo: Repository, layer: string, wanted: string | undefined, restored: BlobId): Promise<BlobId | undefined> {
  return wanted === undefined ? restored : (await repo.latestSnapshot(layer))?.snapshot.root;
}

/**
 * --path, as a layer-relative path: `/` separated, `.` parts and a trailing `/` dropped; an
 * absolute path (what a shell's completion gives) must lie inside the folder restored into, and
 * is taken relative to it.
 */
function pathOption(ctx: Context, target: string): string | undefined {
  const raw = stringOption(ctx.args, 'path');
  if (raw === undefined) return undefined;
  let rel = raw;
  if (isAbsolute(raw)) {
    rel = relative(resolve(target), resolve(raw)).split(sep).join('/');
    if (rel === '..' || rel.startsWith('../') || isAbsolute(rel)) {
      throw usageError(`--path ${JSON.stringify(raw)} is not inside ${resolve(target)}, the folder restored into`, ctx.command);
    }
  }
  return checkedPath(rel, `--path ${JSON.stringify(raw)}`, ctx.command);
}

/** Signed in, the argument: the file or folder under home to restore (`rel`, home-relative); --path has no place here. */
function signedInPath(ctx: Context, home: string, raw: string, rel: string): string {
  if (stringOption(ctx.args, 'path') !== undefined) {
    throw usageError('signed in, the argument is the file or folder to restore (under home); --path goes with restore <dir> --store <url>', ctx.command);
  }
  if (rel === '') throw usageError(`${JSON.stringify(raw)} is ${home} itself: name a file or folder under it`, ctx.command);
  return checkedPath(rel, JSON.stringify(raw), ctx.command);
}

function checkedPath(rel: string, what: string, command: string): string {
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  try {
    if (parts.length === 0) throw new Error('it is empty');
    for (const p of parts) checkEntryName(p);
  } catch (err) {
    throw usageError(`${what} is not a path inside the layer (${err instanceof Error ? err.message : String(err)})`, command);
  }
  return parts.join('/');
}

/** The temp folder a --beside restore lays into, inside `target` (created if missing, as any restore target is); leftovers of earlier ones there go. */
async function besideDir(target: string): Promise<string> {
  await prepareTarget(target);
  await removeLeftovers(target);
  return mkdtemp(join(target, besideTempPrefix()));
}

async function removeLeftovers(target: string): Promise<void> {
  for (const name of await readdir(target)) {
    if (!name.startsWith(BESIDE_TEMP) || tempInUse(join(target, name), name)) continue;
    // Best effort: one that cannot be removed stays, as it did.
    await rm(join(target, name), { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * An error of a --beside restore into its temp folder `tmp`, as the user knows the place: one that
 * names a path in the temp folder (a full disk there) names the same path in `target`, beside which
 * the version was being restored, and says so; any other is as it was.
 */
function besideFailure(err: unknown, tmp: string, target: string): unknown {
  const reported = asReported(err);
  if (reported === undefined) return err;
  const where = reported.path;
  const inTmp = where !== undefined && (where === tmp || where.startsWith(tmp + sep));
  if (!inTmp && !reported.message.includes(tmp)) return err;
  const message = `not restored beside it: ${reported.message.replaceAll(tmp, target)}`;
  return new StrataError(reported.code, message, inTmp ? { path: target + where.slice(tmp.length) } : {}, { cause: err });
}

/**
 * Checks the folders above `only` in `target` (and makes those missing, if `make`): each must be a
 * real folder. A link there would take the version restored beside out of the target (nothing is
 * ever written through a link), and a file would have to be moved, which --beside never does.
 */
async function foldersOnTheWay(target: string, only: string, make: boolean): Promise<void> {
  let at = resolve(target);
  for (const part of only.split('/').slice(0, -1)) {
    at = join(at, part);
    const st = await lstat(at).catch((err: unknown) => {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    });
    if (st === undefined) {
      if (!make) return;
      await mkdir(at);
      // Its entry durable too: the restored version made durable in it would be lost with it otherwise.
      await fsyncDir(dirname(at));
    } else if (!st.isDirectory()) {
      throw new StrataError('E_BAD_TARGET', `a ${st.isSymbolicLink() ? 'link' : 'file'} stands where the snapshot has a folder: --beside places nothing through or over it (restore in place keeps it as a conflict copy)`, { path: at });
    }
  }
}

/**
 * Moves `only` out of the temp restore dir beside its place, returns that path: a file to
 * `name.restored-<stamp>.ext`, a folder to `name.restored-<stamp>` (a folder's name has no
 * extension: `my.photos` is not a `.photos` file).
 */
async function moveBeside(tmp: string, target: string, only: string, time: string): Promise<string> {
  // Near PATH_MAX, what fits in place may not fit in the temp folder (restore/plan.ts leaves it
  // out) or under its .restored- name: that is said on one line, not as the raw error of a move.
  const tooLong = (err: unknown, also: string[]) => {
    if (!isErrno(err, 'ENAMETOOLONG', ...also)) return err;
    return new StrataError('E_PATH_TOO_LONG', 'not restored beside: with the temp folder it is laid in, or its .restored- name, its path is longer than this system allows (ENAMETOOLONG); restore it in place, or into a folder higher up', { path: shortenMiddle(join(target, only)) });
  };
  try {
    const slash = only.lastIndexOf('/');
    const name = only.slice(slash + 1);
    // Missing: left out as too long (a path the snapshot lacks failed before).
    const st = await lstat(join(tmp, only)).catch((err: unknown) => {
      throw tooLong(err, ['ENOENT']);
    });
    const [stem, ext] = st.isDirectory() ? [name, ''] : splitExtension(name);
    const dir = only.slice(0, slash + 1);
    await foldersOnTheWay(target, only, true);
    // Never over anything, not even what appears meanwhile: a second restore of the same time gets a counter.
    for (let n = 1; ; n++) {
      // Cut as a conflict copy's is when the whole would pass NAME_MAX (conflict-name.ts).
      const name = dir + withTail(stem, ext, `.restored-${conflictStamp(Date.parse(time))}${n > 1 ? `-${n}` : ''}`);
      const moved = await renameNoReplace(join(tmp, only), join(target, name)).catch((err: unknown) => {
        throw tooLong(err, []);
      });
      if (moved) {
        // Durable before it is named as restored: else a power loss could put it back in the temp folder, which the next restore removes.
        await fsyncDir(dirname(join(target, name)));
        return name;
      }
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
