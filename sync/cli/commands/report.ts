/**
 * The transfer report shared by `snapshot` and `restore`: byte counts, the requests that really
 * went to the store (retries included), and the time taken, as text lines or JSON fields.
 */
import type { RequestCounts } from '../../store/counting.js';
import { formatBytes } from '../format.js';
import { plural } from '../../../shared/status-text.js';

export interface TransferReport {
  files: number;
  bytes: number;
  bytesUploaded: number;
  bytesDownloaded: number;
  bytesSeeded: number;
  requests: { gets: number; puts: number; lists: number; heads: number; deletes: number };
  seconds: number;
}

export function transferReport(files: number, bytes: number, bytesSeeded: number, counts: RequestCounts, seconds: number): TransferReport {
  return {
    files,
    bytes,
    bytesUploaded: counts.bytesUploaded,
    bytesDownloaded: counts.bytesDownloaded,
    bytesSeeded,
    requests: { gets: counts.gets, puts: counts.puts, lists: counts.lists, heads: counts.heads, deletes: counts.deletes },
    seconds,
  };
}

export function transferLines(r: TransferReport): string[] {
  const q = r.requests;
  const rate = r.seconds > 0 ? ` (${formatBytes(r.bytes / r.seconds)}/s)` : '';
  return [
    `  ${plural(r.files, 'file')}, ${formatBytes(r.bytes)} in ${r.seconds.toFixed(2)}s${rate}`,
    `  uploaded ${formatBytes(r.bytesUploaded)}, downloaded ${formatBytes(r.bytesDownloaded)}, seeded ${formatBytes(r.bytesSeeded)}`,
    `  requests: ${q.gets} GET, ${q.puts} PUT, ${q.lists} LIST, ${q.heads} HEAD`,
  ];
}
