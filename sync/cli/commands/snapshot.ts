/**
 * `strata snapshot <dir> --layer <id>`: records the folder as a new snapshot of the layer and
 * moves this device's head to it.
 */
import { takeSnapshot } from '../../snapshot/index.js';
import { openChunkPool } from '../chunker.js';
import { shortId, formatBytes } from '../format.js';
import { HOST_DEVICE_HELP } from '../args.js';
import { LAYER_OPTION, secondsSince, type Command } from './command.js';
import { transferLines, transferReport } from './report.js';
import { plural } from '../../../shared/status-text.js';

export const snapshotCommand: Command = {
  name: 'snapshot',
  summary: "record a folder as a new snapshot of a layer and point this device's head at it",
  args: '<dir>',
  positionals: { min: 1, max: 1 },
  globals: ['store', 'device'],
  globalHelp: { device: HOST_DEVICE_HELP },
  options: { layer: LAYER_OPTION },
  async run(ctx) {
    const root = ctx.args.positionals[0] as string;
    const { layer, device } = ctx;
    const start = performance.now();
    const repo = await ctx.openRepository();
    const chunker = openChunkPool(ctx);
    const bar = ctx.progress('snapshot');
    const { snapshotId, snapshot, stats } = await takeSnapshot(repo, {
      root,
      layer,
      device,
      chunker,
      onProgress: (p) => bar?.update({ files: p.files, bytes: p.bytesDone, totalBytes: p.bytes }),
    });
    bar?.done();
    const report = transferReport(stats.files, stats.bytes, 0, ctx.requests, secondsSince(start));
    for (const s of stats.skipped) ctx.warn(`skipped ${s.path}: ${s.reason}`);
    if (ctx.json) {
      ctx.printJson({
        snapshot: snapshotId,
        layer,
        device,
        time: snapshot.time,
        parents: snapshot.parents,
        ...report,
        dirs: stats.dirs,
        symlinks: stats.symlinks,
        bytesRead: stats.bytesRead,
        bytesAdded: stats.bytesAdded,
        blobsAdded: stats.blobsAdded,
        filesUnchanged: stats.filesUnchanged,
        skipped: stats.skipped,
      });
      return;
    }
    ctx.print(
      `snapshot ${shortId(snapshotId)} of ${layer} (device ${device})`,
      `  ${plural(stats.dirs, 'dir')}, ${plural(stats.symlinks, 'symlink')}; ${plural(stats.filesUnchanged, 'file')} unchanged; ${formatBytes(stats.bytesAdded)} new in ${plural(stats.blobsAdded, 'blob')}`,
      ...transferLines(report),
    );
  },
};
