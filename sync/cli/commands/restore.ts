/**
 * `strata restore <dir> --layer <id> [--snapshot <id>] [--seed <dir>]…`: lays a snapshot of the
 * layer onto a folder (the latest one by default), copying chunks found in the seed folders and
 * in the folder itself instead of downloading them.
 */
import { restoreSnapshot } from '../../restore/index.js';
import { listOption } from '../args.js';
import { openChunkPool, poolChunkFn } from '../chunker.js';
import { formatBytes, shortId } from '../format.js';
import { resolveSnapshot, snapshotOption } from '../resolve.js';
import { LAYER_OPTION, SNAPSHOT_OPTION, secondsSince, type Command } from './command.js';
import { transferLines, transferReport } from './report.js';

export const restoreCommand: Command = {
  name: 'restore',
  summary: 'lay a snapshot of a layer onto a folder (default: the latest snapshot)',
  args: '<dir>',
  positionals: { min: 1, max: 1 },
  options: {
    layer: LAYER_OPTION,
    snapshot: SNAPSHOT_OPTION,
    seed: { type: 'string', multiple: true, value: '<dir>', help: 'a folder whose files may hold needed chunks (repeatable)' },
  },
  async run(ctx) {
    const target = ctx.args.positionals[0] as string;
    const layer = ctx.layer;
    const wanted = snapshotOption(ctx.args, ctx.command);
    const seeds = listOption(ctx.args, 'seed');
    const start = performance.now();
    const repo = await ctx.openRepository();
    const { id } = await resolveSnapshot(repo, layer, wanted);
    const pool = openChunkPool(ctx);
    const bar = ctx.progress('restore');
    const stats = await restoreSnapshot(repo, layer, id, {
      target,
      seeds,
      chunkFile: poolChunkFn(pool),
      onProgress: (p) => bar?.update({ files: p.filesDone, totalFiles: p.files, bytes: p.bytesDone, totalBytes: p.bytes }),
    });
    bar?.done();
    const report = transferReport(stats.files, stats.bytes, stats.bytesSeeded, ctx.requests, secondsSince(start));
    if (ctx.json) {
      ctx.printJson({
        snapshot: id,
        layer,
        target,
        ...report,
        dirs: stats.dirs,
        symlinks: stats.symlinks,
        bytesFetched: stats.bytesDownloaded,
        bytesReused: stats.bytesReused,
        filesSkippedComplete: stats.filesSkippedComplete,
      });
      return;
    }
    ctx.print(
      `restored snapshot ${shortId(id)} of ${layer} to ${target}`,
      `  ${stats.dirs} dirs, ${stats.symlinks} symlinks; ${stats.filesSkippedComplete} files already complete (${formatBytes(stats.bytesReused)})`,
      ...transferLines(report),
    );
  },
};
