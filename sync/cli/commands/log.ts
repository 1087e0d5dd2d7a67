/**
 * `strata log --layer <id> [--limit <n>] [path]`: the snapshots of a layer, newest first, with the devices
 * whose head points at each. Each snapshot shown is one GET: with --limit, only the n written last
 * (by the store listing's dates) are read, and shown newest first by their time. Snapshots or heads that fail validation are reported on stderr and skipped
 * (`strata check` reports them as problems). Without --store, the signed-in user's layer
 * (signed-in.ts).
 *
 * A snapshot whose parent is gone (`admin forget` deleted it) is where the history ends: said
 * under its row (`--json`: `parentsGone`), never left for the reader to guess from an id that
 * leads nowhere. One listing of the layer's snapshot keys tells which parents are there.
 *
 * Given a path (layer-relative; signed in, under home), only the snapshots that changed it are
 * listed, each with what it did there (added, changed, deleted) and the size of the version it
 * has: the ones to restore it from (path-history.ts).
 */
import { listSnapshotSizes } from '../../profile/index.js';
import type { SnapshotRecord } from '../../repo/index.js';
import { mapLimit } from '../../repo/pool.js';
import { columns, formatBytes, formatTime, shortId } from '../format.js';
import { PathHistory, type PathAt } from '../path-history.js';
import { PIT_LAYER_OPTION, PIT_STATE_DIR_OPTION, homePath, openSource, signedInSession } from '../signed-in.js';
import { stringOption, usageError } from '../args.js';
import type { Context } from '../context.js';
import type { Command } from './command.js';

export const logCommand: Command = {
  name: 'log',
  summary: 'list the snapshots of a layer, newest first; heads are marked; given a path, those that changed it',
  args: '[path]',
  positionals: { min: 0, max: 1 },
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
    const signed = await signedInSession(ctx);
    const path = pathArgument(ctx.args.positionals[0], signed && ((raw) => homePath(signed.session, raw, ctx.command)), ctx.command);
    const { layer } = await openSource(ctx, signed);
    const repo = await ctx.openRepository({ loadIndex: path !== undefined });
    const [{ snapshots, errors }, heads, present] = await Promise.all([repo.listSnapshots(layer, limit), repo.listHeads(layer), listSnapshotSizes(repo.store, layer)]);
    const gone = (parents: readonly string[]): string[] => parents.filter((p) => !present.has(p));
    for (const err of [...errors, ...heads.errors]) ctx.warn(err);
    const headsOf = new Map<string, string[]>();
    for (const h of heads.heads) headsOf.set(h.snapshot, [...(headsOf.get(h.snapshot) ?? []), h.device].sort());
    const at = path === undefined ? undefined : await pathChanges(new PathHistory(repo, layer, path.split('/')), snapshots);
    const newestFirst = [...snapshots].reverse().filter(({ id }) => at === undefined || at.get(id)?.change !== undefined);
    if (ctx.json) {
      ctx.printJson({
        layer,
        ...(path === undefined ? {} : { path }),
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
          ...(at === undefined ? {} : { change: at.get(id)?.change, entry: jsonEntry(at.get(id)) }),
        })),
        heads: heads.heads.map((h) => ({ device: h.device, snapshot: h.snapshot, time: h.time })),
      });
      return;
    }
    if (newestFirst.length === 0) {
      ctx.print(path === undefined || snapshots.length === 0 ? `layer ${layer} has no snapshots` : `no snapshot of ${layer}${limit === undefined ? '' : ` among the ${limit} newest`} has ${path}`);
      return;
    }
    if (at !== undefined) {
      printChanges(ctx, newestFirst, at, headsOf);
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

/** The path argument, layer-relative (`inHome`: signed in, a path under home made home-relative). */
function pathArgument(raw: string | undefined, inHome: ((raw: string) => string) | undefined, command: string): string | undefined {
  if (raw === undefined) return undefined;
  const rel = inHome ? inHome(raw) : raw;
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0) throw usageError(`${JSON.stringify(raw)} names no file or folder in the layer: give one, or no path for every snapshot`, command);
  if (parts.includes('..')) throw usageError(`path ${JSON.stringify(raw)} must not contain ".."`, command);
  return parts.join('/');
}

/** Snapshots whose trees are read at once (what they share is read once: PathHistory). */
const PATH_READS = 8;

/** Each snapshot at the path, by id. */
async function pathChanges(history: PathHistory, snapshots: readonly SnapshotRecord[]): Promise<Map<string, PathAt>> {
  const known = new Map(snapshots.map(({ id, snapshot }) => [id as string, snapshot]));
  const at = await mapLimit(snapshots, PATH_READS, ({ id, snapshot }) => history.of(id, snapshot, known));
  return new Map(snapshots.map(({ id }, i) => [id as string, at[i] as PathAt]));
}

function jsonEntry(at: PathAt | undefined) {
  const e = at?.entry;
  if (e === undefined || e.type === 'whiteout') return null;
  return { type: e.type, size: e.type === 'file' ? e.size : null, mtime: e.type === 'dir' && e.mtimeMs === 0 ? null : new Date(e.mtimeMs).toISOString() };
}

function printChanges(ctx: Context, listed: readonly SnapshotRecord[], at: ReadonlyMap<string, PathAt>, headsOf: ReadonlyMap<string, string[]>): void {
  const rows = [['ID', 'TIME', 'DEVICE', 'CHANGE', 'SIZE', 'HEADS']];
  for (const { id, snapshot: s } of listed) {
    const { entry, change } = at.get(id) ?? {};
    const marks = headsOf.get(id);
    rows.push([shortId(id), formatTime(s.time), s.device, change ?? '', entry?.type === 'file' ? formatBytes(entry.size) : entry?.type === 'dir' ? 'folder' : entry?.type === 'symlink' ? 'link' : '-', marks ? `* ${marks.join(',')}` : '']);
  }
  ctx.print(...columns(rows, new Set([4])).map((line) => line.trimEnd()));
}

/** The line under a snapshot some of whose parents are gone: where its history ends. */
function endLine(gone: readonly string[]): string[] {
  return gone.length === 0 ? [] : [`  history before this was forgotten (${gone.length === 1 ? 'parent' : 'parents'} ${gone.map(shortId).join(', ')} gone)`];
}
