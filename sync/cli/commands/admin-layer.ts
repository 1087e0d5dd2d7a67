/**
 * `strata admin layer publish <org/name> --from <dir>`: a new version of an org layer (a snapshot
 * of the folder as the admin device, parent the previous version); prints its snapshot id, or
 * says that nothing was published when the latest version holds the folder already. What the
 * exclusion rules name (built-in, and the org config's with --org) is left out, and listed. A folder
 * without a file over a version with files is refused unless --force (an unmounted share). Under
 * the org config's caseInsensitive, two names of the folder that differ only in case are parted as
 * preload parts them (one kept as a conflict copy), and listed. Entries no layer can hold are named
 * in warnings, and exit 4.
 * `strata admin layer list`: every org layer with its number of versions and its latest one, dated
 * by when the bucket got it (the admin's clock may be off; --json also gives the snapshot's time).
 */
import { isOrgLayer, orgLayerReports, publishOrgLayer, type LayerState } from '../../profile/index.js';
import { usageError } from '../args.js';
import { openChunkPool } from '../chunker.js';
import { columns, formatBytes, formatTime, shortId } from '../format.js';
import { layerFolders } from '../../signin/index.js';
import { adminDevice, keptLine, leftOutCode, openAdmin, openAdminRepository, printExcluded, requiredString, type AdminSub } from './admin-common.js';
import { plural } from '../../../shared/status-text.js';

export const layerPublishSub: AdminSub = {
  name: 'layer publish',
  usage: 'layer publish <org/name> --from <dir>',
  args: '<org/name>',
  positionals: 1,
  options: ['from', 'force'],
  summary: 'publish the folder --from as a new version of an org layer; prints the snapshot id (--force: even a folder without files)',
  async run(ctx, [layer]) {
    if (!isOrgLayer(layer)) throw usageError(`${JSON.stringify(layer)} is not an org layer id (org/<name>)`, ctx.command);
    const from = requiredString(ctx, 'from', 'layer publish');
    const device = adminDevice(ctx);
    const { repo, org } = await openAdmin(ctx, { loadIndex: false });
    const bar = ctx.progress('publish');
    const { snapshotId, snapshot, changed, stats, excluded, kept } = await publishOrgLayer(repo, layer, {
      from,
      device,
      exclude: org?.policies.exclude ?? [],
      ...(org ? { folders: layerFolders(org) } : {}),
      ...(org?.policies.caseInsensitive ? { caseInsensitive: true } : {}),
      refuseEmpty: ctx.args.values.force !== true,
      chunker: openChunkPool(ctx),
      onProgress: (p) => bar?.update({ files: p.files, bytes: p.bytesDone, totalBytes: p.bytes }),
    });
    bar?.done();
    for (const s of stats.skipped) ctx.warn(`skipped ${s.path}: ${s.reason}`);
    if (ctx.json) {
      ctx.printJson({ layer, snapshot: snapshotId, changed, device: snapshot.device, time: snapshot.time, parents: snapshot.parents, files: stats.files, bytes: stats.bytes, bytesAdded: stats.bytesAdded, skipped: stats.skipped, excluded, kept });
      return leftOutCode(stats.skipped);
    }
    if (!changed) ctx.print(`${layer}'s latest version already holds the folder: nothing published (snapshot ${shortId(snapshotId)}, ${plural(stats.files, 'file')}, ${formatBytes(stats.bytes)})`);
    else {
      const parent = snapshot.parents[0];
      ctx.print(
        `published ${layer}: snapshot ${snapshotId}`,
        `  ${plural(stats.files, 'file')}, ${formatBytes(stats.bytes)}, ${formatBytes(stats.bytesAdded)} new; ${parent ? `previous version ${shortId(parent)}` : 'first version'}`,
      );
    }
    for (const k of kept) ctx.print(keptLine(k));
    printExcluded(ctx, excluded, org !== undefined);
    return leftOutCode(stats.skipped);
  },
};

function latestJson(s: LayerState | null) {
  return s && { snapshot: s.snapshot, time: s.time, written: s.written, device: s.device, files: s.files, bytes: s.bytes };
}

export const layerListSub: AdminSub = {
  name: 'layer list',
  usage: 'layer list',
  args: '',
  positionals: 0,
  options: [],
  summary: "list the org layers: versions, latest version (id, when published by the bucket's clock), files and bytes",
  async run(ctx) {
    const repo = await openAdminRepository(ctx, { loadIndex: false });
    const { layers, errors } = await orgLayerReports(repo);
    for (const err of [...errors, ...layers.flatMap((l) => l.problems)]) ctx.warn(err);
    if (ctx.json) {
      ctx.printJson({
        layers: layers.map((l) => ({ layer: l.layer, versions: l.versions, latest: latestJson(l.latest), problems: l.problems.map(String) })),
      });
      return;
    }
    if (layers.length === 0) {
      ctx.print('no org layers');
      return;
    }
    // Published: when the bucket got the version, not what the publishing admin's clock said.
    const rows = [['LAYER', 'VERSIONS', 'LATEST', 'PUBLISHED', 'FILES', 'BYTES']];
    for (const { layer, versions, latest: s } of layers) {
      rows.push([layer, String(versions), s ? shortId(s.snapshot) : '-', s ? formatTime(s.written) : '-', s?.files != null ? String(s.files) : '-', s?.bytes != null ? formatBytes(s.bytes) : '-']);
    }
    ctx.print(...columns(rows, new Set([1, 4])).map((l) => l.trimEnd()));
  },
};
