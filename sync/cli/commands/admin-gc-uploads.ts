/**
 * What `strata admin gc` says of its sweep of partial uploads (sync/repo/uploads-gc.ts): multipart
 * uploads left by writers that stopped mid-put, aborted once they began the grace period ago.
 */
import type { UploadsGcReport } from '../../repo/uploads-gc.js';
import type { Context } from '../context.js';
import { plural } from '../../../shared/status-text.js';

export function printUploads(ctx: Context, r: UploadsGcReport, grace: string): void {
  const found = r.removed.length + r.young.length + r.unsure.length;
  if (found === 0) return;
  ctx.print(`${r.dryRun ? 'would abort' : 'aborted'} ${plural(r.removed.length, 'partial upload')}, begun at least ${grace} ago`);
  if (r.dryRun) for (const u of r.removed) ctx.print(`  ${u.key}  upload ${u.uploadId}`);
  const kept = [];
  if (r.young.length > 0) kept.push(`${plural(r.young.length, 'partial upload')} younger than ${grace}`);
  if (r.unsure.length > 0) kept.push(`${plural(r.unsure.length, 'partial upload')} of unknown age`);
  if (kept.length > 0) ctx.print(`kept ${kept.join(', ')}`);
}

export function uploadsJson(r: UploadsGcReport): object {
  return { removed: r.removed.map((u) => ({ key: u.key, uploadId: u.uploadId })), young: r.young.length, unsure: r.unsure.length };
}
