/**
 * `strata admin preload --user <id> --from <dir>`: fills a user's layer from a template folder
 * before their first sign-in, or merges another template into a layer that has content (files the
 * template lacks stay; the template wins where both have a path until someone signed in, and from
 * then on it merges three-way, as a device does: where the user and the template both changed a
 * file, both versions are kept, each pair listed, as is each pair of names that differ only in
 * case, parted under the org config's caseInsensitive). What the exclusion rules name
 * (built-in, and the org config's with --org) is left out, and listed, as is (with --org) what lies
 * outside the org config's folders. Entries no layer can hold are named in warnings, and exit 4.
 */
import { preloadUserLayer } from '../../profile/index.js';
import { openChunkPool } from '../chunker.js';
import { formatBytes, shortId } from '../format.js';
import { layerFolders } from '../../signin/index.js';
import { adminDevice, keptLine, leftOutCode, openAdmin, printExcluded, requiredString, userOption, type AdminSub } from './admin-common.js';
import { plural } from '../../../shared/status-text.js';

export const preloadSub: AdminSub = {
  name: 'preload',
  usage: 'preload --user <id> --from <template dir>',
  args: '',
  positionals: 0,
  options: ['user', 'from'],
  summary: "create or extend user/<id>'s layer from a template folder (--user, --from)",
  async run(ctx) {
    const user = userOption(ctx, 'preload');
    const from = requiredString(ctx, 'from', 'preload');
    const device = adminDevice(ctx);
    const { repo, org } = await openAdmin(ctx, { loadIndex: false });
    const bar = ctx.progress('preload');
    const r = await preloadUserLayer(repo, user, {
      from,
      device,
      exclude: org?.policies.exclude ?? [],
      ...(org ? { folders: layerFolders(org) } : {}),
      ...(org?.policies.caseInsensitive ? { caseInsensitive: true } : {}),
      chunker: openChunkPool(ctx),
      onProgress: (p) => bar?.update({ files: p.files, bytes: p.bytesDone, totalBytes: p.bytes }),
    });
    bar?.done();
    for (const s of r.stats.skipped) ctx.warn(`skipped ${s.path}: ${s.reason}`);
    const summary = r.snapshot.summary;
    if (ctx.json) {
      ctx.printJson({
        user,
        layer: r.layer,
        snapshot: r.snapshotId,
        changed: r.changed,
        extended: r.extended ?? null,
        device: r.changed ? device : r.snapshot.device,
        time: r.snapshot.time,
        files: summary?.files ?? null,
        bytes: summary?.bytes ?? null,
        template: { files: r.stats.files, bytes: r.stats.bytes, bytesAdded: r.stats.bytesAdded },
        skipped: r.stats.skipped,
        excluded: r.excluded,
        kept: r.kept,
      });
      return leftOutCode(r.stats.skipped);
    }
    const size = summary ? `${plural(summary.files, 'file')}, ${formatBytes(summary.bytes)}` : 'size unknown';
    if (!r.changed) ctx.print(`${r.layer} already holds the template: nothing written (snapshot ${shortId(r.snapshotId)}, ${size})`);
    else {
      ctx.print(
        `${r.extended ? 'extended' : 'created'} ${r.layer}: snapshot ${r.snapshotId} (device ${device})${r.extended ? `, parent ${shortId(r.extended)}` : ''}`,
        `  layer: ${size}; template: ${plural(r.stats.files, 'file')}, ${formatBytes(r.stats.bytes)}, ${formatBytes(r.stats.bytesAdded)} new`,
      );
    }
    for (const k of r.kept) ctx.print(keptLine(k));
    printExcluded(ctx, r.excluded, org !== undefined);
    return leftOutCode(r.stats.skipped);
  },
};
