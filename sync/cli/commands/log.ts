/**
 * `strata log --layer <id> [--limit <n>]`: the snapshots of a layer, newest first, with the devices
 * whose head points at each. Each snapshot shown is one GET: with --limit, only the n written last
 * (by the store listing's dates) are read, and shown newest first by their time. Snapshots or heads that fail validation are reported on stderr and skipped
 * (`strata check` reports them as problems). Without --store, the signed-in user's layer
 * (signed-in.ts).
 *
 * A snapshot whose parent is gone (`admin forget` deleted it) is where the history ends: said
 * under its row (`--json`: `parentsGone`), never left for the reader to guess from an id that
 * leads nowhere. One listing of the layer's snapshot keys tells which parents are there.
 */
import { listSnapshotSizes } from '../../profile/index.js';
import { columns, formatBytes, formatTime, shortId } from '../format.js';
import { PIT_LAYER_OPTION, PIT_STATE_DIR_OPTION, openSource, signedInSession } from '../signed-in.js';
import { stringOption, usageError } from '../args.js';
import type { Command } from './command.js';

export const logCommand: Command = {
  name: 'log',
  summary: 'list the snapshots of a layer, newest first; heads are marked',
  args: '',
  positionals: { min: 0, max: 0 },
  globals: ['store'],
  options: {
    layer: PIT_LAYER_OPTION,
    limit: { type: 'string', value: '<n>', help: 'only the n newest snapshots (only those are read)' },
    'state-dir': PIT_STATE_DIR_OPTION,
  },
  async run(ctx) {
    const raw = stringOption(ctx.args, 'limit');
    const limit = raw === undefined ? undefined : Number(raw);
    if (limit !== undefined && !(/^\d+$/.test(raw ?? '') && limit >= 1)) throw usageError(`--limit must be a whole number of snapshots, 1 or more, got ${JSON.stringify(raw)}`, ctx.command);
    const { layer } = await openSource(ctx, await signedInSession(ctx));
    const repo = await ctx.openRepository({ loadIndex: false });
    const [{ snapshots, errors }, heads, present] = await Promise.all([repo.listSnapshots(layer, limit), repo.listHeads(layer), listSnapshotSizes(repo.store, layer)]);
    const gone = (parents: readonly string[]): string[] => parents.filter((p) => !present.has(p));
    for (const err of [...errors, ...heads.errors]) ctx.warn(err);
    const headsOf = new Map<string, string[]>();
    for (const h of heads.heads) headsOf.set(h.snapshot, [...(headsOf.get(h.snapshot) ?? []), h.device].sort());
    const newestFirst = [...snapshots].reverse();
    if (ctx.json) {
      ctx.printJson({
        layer,
        snapshots: newestFirst.map(({ id, snapshot: s }) => ({
          id,
          time: s.time,
          device: s.device,
          files: s.summary?.files ?? null,
          dirs: s.summary?.dirs ?? null,
          bytes: s.summary?.bytes ?? null,
          parents: s.parents,
          parentsGone: gone(s.parents),
          heads: headsOf.get(id) ?? [],
        })),
        heads: heads.heads.map((h) => ({ device: h.device, snapshot: h.snapshot, time: h.time })),
      });
      return;
    }
    if (newestFirst.length === 0) {
      ctx.print(`layer ${layer} has no snapshots`);
      return;
    }
    const rows = [['ID', 'TIME', 'DEVICE', 'FILES', 'BYTES', 'PARENTS', 'HEADS']];
    for (const { id, snapshot: s } of newestFirst) {
      const marks = headsOf.get(id);
      rows.push([
        shortId(id),
        formatTime(s.time),
        s.device,
        s.summary ? String(s.summary.files) : '-',
        s.summary ? formatBytes(s.summary.bytes) : '-',
        s.parents.length > 0 ? s.parents.map(shortId).join(',') : '-',
        marks ? `* ${marks.join(',')}` : '',
      ]);
    }
    const [header, ...lines] = columns(rows, new Set([3, 4])).map((line) => line.trimEnd());
    ctx.print(header ?? '', ...lines.flatMap((line, i) => [line, ...endLine(gone(newestFirst[i]?.snapshot.parents ?? []))]));
  },
};

/** The line under a snapshot some of whose parents are gone: where its history ends. */
function endLine(gone: readonly string[]): string[] {
  return gone.length === 0 ? [] : [`  history before this was forgotten (${gone.length === 1 ? 'parent' : 'parents'} ${gone.map(shortId).join(', ')} gone)`];
}
