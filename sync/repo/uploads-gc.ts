/**
 * Sweep of partial uploads: multipart uploads a writer began and never completed nor aborted
 * (killed mid-put, or paused while its CreateMultipartUpload awaited an answer that never came:
 * sync/store/s3-multipart.ts), and in a folder store the temp files of puts killed before their
 * rename. Their parts cost storage, and no listing of objects shows them.
 *
 * Why no lock is needed: no writer ever resumes an upload; a put makes its own and completes or
 * aborts it within the deadlines of its requests. An upload older than the grace period is one
 * whose writer is gone. Were it still in use after all, aborting it fails that put alone, which the
 * writer makes again whole later; nothing it wrote before is touched.
 *
 * What must hold:
 * - Only uploads under the repository's prefix are listed, and only those the server says began
 *   at least `graceMs` before gc's clock are aborted; one whose start the store cannot tell is
 *   kept.
 * - The time is taken before anything is listed.
 * - A dry run aborts nothing and reports exactly what a real run would abort then.
 */
import { StrataError } from '../errors.js';
import type { ObjectStore, PartialUpload } from '../store/index.js';

export interface UploadsGcOptions {
  /** An upload is aborted once it began at least this long ago (ms, by the server's clock). */
  graceMs: number;
  /** Report only; abort nothing. */
  dryRun: boolean;
  /** gc's clock, ms since the epoch (default: the system clock). */
  now?: () => number;
}

export interface UploadsGcReport {
  dryRun: boolean;
  /** Uploads past the grace period: aborted (a dry run: would be). */
  removed: PartialUpload[];
  /** Uploads within the grace period (a writer may still be at work): kept. */
  young: PartialUpload[];
  /** Uploads whose start the store did not give: kept. */
  unsure: PartialUpload[];
}

export async function sweepUploads(store: ObjectStore, opts: UploadsGcOptions): Promise<UploadsGcReport> {
  const now = (opts.now ?? Date.now)();
  const report: UploadsGcReport = { dryRun: opts.dryRun, removed: [], young: [], unsure: [] };
  const doomed: PartialUpload[] = [];
  for await (const upload of store.listUploads('')) {
    if (upload.started === undefined) report.unsure.push(upload);
    else if (now - upload.started >= opts.graceMs) doomed.push(upload);
    else report.young.push(upload);
  }
  if (opts.dryRun) return { ...report, removed: doomed };
  for (const upload of doomed) {
    try {
      await store.abortUpload(upload);
    } catch (err) {
      const code = err instanceof StrataError ? err.code : 'E_PERMANENT';
      throw new StrataError(code, `gc stopped after aborting ${report.removed.length} partial uploads: ${String(err)}`, { key: upload.key }, { cause: err });
    }
    report.removed.push(upload);
  }
  return report;
}
