/**
 * `strata admin gc [--grace <duration>] [--listing-lag <duration>] [--max-indexes <n>] [--dry-run]`:
 * deletes the packs that no index names and that the bucket got at least the grace period ago
 * (default 24h), waiting out the listing lag (default 0s) before its last look at the indexes: what
 * writers that stopped between uploading a pack and indexing it leave (sync/repo/gc.ts says why that
 * is safe without a lock). Packs some index names are never deleted, even when no snapshot uses them
 * any more. Then it consolidates the indexes when more than --max-indexes (default 8) are live, and
 * deletes the indexes a consolidated one covers once the bucket got that one the grace period ago
 * (sync/repo/compact.ts). Then aborts the multipart uploads begun at least the grace period ago
 * (admin-gc-uploads.ts).
 *
 * Prints what it removed (with --dry-run: would remove), as a count and bytes, and what it kept,
 * then what it did with the indexes; exit code 0 when it did what it says, 1 when it stopped (an
 * unreadable index: E_GC_UNSAFE; a request that failed: the message says how many packs were
 * removed before), 2 for a bad --grace, --listing-lag or --max-indexes.
 */
import { DEFAULT_MAX_LIVE, collectGarbage, type GcReport } from '../../repo/index.js';
import { stringOption, usageError } from '../args.js';
import type { Context } from '../context.js';
import { formatBytes } from '../format.js';
import { plural } from '../../../shared/status-text.js';
import { openAdminRepository, type AdminSub } from './admin-common.js';
import { sweepUploads } from '../../repo/uploads-gc.js';
import { printUploads, uploadsJson } from './admin-gc-uploads.js';

export const DEFAULT_GRACE = '24h';
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "24h", "90m", "2d", "0s" → ms; anything else (a number without a unit too) is a usage error. */
export function parseGrace(text: string, command: string, option = 'grace'): number {
  const m = /^(\d{1,9})(s|m|h|d)$/.exec(text);
  if (!m) throw usageError(`--${option} ${JSON.stringify(text)} is not a duration such as 24h, 90m, 2d or 0s`, command);
  return Number(m[1]) * (UNIT_MS[m[2] as string] as number);
}

/** A whole number ≥ 1 of at most 9 digits; anything else is a usage error. */
export function parseCount(text: string, command: string, option: string): number {
  if (!/^[1-9]\d{0,8}$/.test(text)) throw usageError(`--${option} ${JSON.stringify(text)} is not a whole number ≥ 1`, command);
  return Number(text);
}

const bytesOf = (packs: readonly { size: number }[]) => packs.reduce((s, p) => s + p.size, 0);

function printIndexes(ctx: Context, r: GcReport, grace: string): void {
  const ix = r.indexes;
  const merged = ix.written.reduce((s, w) => s + w.merged, 0);
  const wrote = ix.written.length === 0 ? 'wrote none' : `${r.dryRun ? 'would write' : 'wrote'} ${plural(ix.written.length, 'consolidated index', 'consolidated indexes')} merging ${merged}`;
  const deleted = `${r.dryRun ? 'would delete' : 'deleted'} ${ix.deleted.length} superseded`;
  const young = ix.young.length > 0 ? `, kept ${ix.young.length} superseded by an index younger than ${grace} (or the listing lag, if longer)` : '';
  ctx.print(`indexes: read ${ix.read} (${ix.live} live), ${wrote}, ${deleted}${young}`);
}

function printReport(ctx: Context, r: GcReport, grace: string): void {
  const removed = `${plural(r.removed.length, 'unindexed pack')} (${formatBytes(bytesOf(r.removed))})`;
  ctx.print(r.dryRun ? `would remove ${removed}, in no index for at least ${grace}` : `removed ${removed}, in no index for at least ${grace}`);
  if (r.dryRun) for (const p of r.removed) ctx.print(`  ${p.key}  ${formatBytes(p.size)}`);
  const kept = [`${plural(r.indexed, 'indexed pack')}`];
  if (r.young.length > 0) kept.push(`${plural(r.young.length, 'unindexed pack')} (${formatBytes(bytesOf(r.young))}) younger than ${grace}`);
  if (r.unsure.length > 0) kept.push(`${plural(r.unsure.length, 'unindexed pack')} of unknown age or size`);
  if (r.restored.length > 0) kept.push(`${plural(r.restored.length, 'pack')} put back: a writer indexed ${r.restored.length === 1 ? 'it' : 'them'} as gc removed ${r.restored.length === 1 ? 'it' : 'them'}`);
  ctx.print(`kept ${kept.join(', ')}`);
  printIndexes(ctx, r, grace);
  for (const key of r.ignored) ctx.warn(`not a pack key, left alone: ${key}`);
}

export const gcSub: AdminSub = {
  name: 'gc',
  args: '',
  positionals: 0,
  usage: 'gc [--grace <duration>] [--listing-lag <duration>] [--max-indexes <n>] [--dry-run]',
  options: ['grace', 'listing-lag', 'max-indexes', 'dry-run'],
  summary: 'delete packs in no index (left by interrupted writers) older than the grace period; packs an index names stay. Then merge the indexes into few, and delete those merged by an earlier run; abort the uploads left unfinished that long (S3 multipart uploads, a folder store\'s temp files)',
  async run(ctx) {
    const grace = stringOption(ctx.args, 'grace') ?? DEFAULT_GRACE;
    const graceMs = parseGrace(grace, ctx.command);
    const dryRun = ctx.args.values['dry-run'] === true;
    const maxIndexes = stringOption(ctx.args, 'max-indexes');
    const maxLiveIndexes = maxIndexes === undefined ? DEFAULT_MAX_LIVE : parseCount(maxIndexes, ctx.command, 'max-indexes');
    const repo = await openAdminRepository(ctx, { loadIndex: false });
    const listingLagMs = parseGrace(stringOption(ctx.args, 'listing-lag') ?? '0s', ctx.command, 'listing-lag');
    const r = await collectGarbage(repo, { graceMs, dryRun, listingLagMs, maxLiveIndexes });
    const uploads = await sweepUploads(repo.store, { graceMs, dryRun });
    if (ctx.json) {
      ctx.printJson({
        dryRun,
        graceMs,
        removed: { count: r.removed.length, bytes: bytesOf(r.removed), packs: r.removed.map((p) => p.key) },
        kept: { indexed: r.indexed, young: r.young.length, youngBytes: bytesOf(r.young), unsure: r.unsure, restored: r.restored.map((p) => p.key) },
        ignored: r.ignored,
        indexes: {
          read: r.indexes.read,
          live: r.indexes.live,
          written: r.indexes.written,
          deleted: r.indexes.deleted,
          young: r.indexes.young,
        },
        uploads: uploadsJson(uploads),
      });
    } else {
      printReport(ctx, r, grace);
      printUploads(ctx, uploads, grace);
    }
  },
};
