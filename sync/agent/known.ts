/**
 * What a folder's status can show before its bucket is reached (a paused or offline start): read
 * from its state dir alone. The files and the conflicts come from the stat cache, the last sync
 * from `last-sync.json`, which the agent keeps (runtime.ts), and so does `sync --once` (once.ts).
 *
 * Must hold: nothing here reads the bucket; a missing or damaged last-sync file only means the time
 * is unknown ("not in sync yet" until the next synced pass), never a failed start.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileIndex } from '../state/index.js';
import { writeFileAtomic } from '../state/fsutil.js';

export const LAST_SYNC_FILE = 'last-sync.json';

/** The agent saves the last sync when a pass wrote something, at a pause and a stop, else at most this often. */
export const LAST_SYNC_EVERY_MS = 60_000;

/** Files (and symlinks) in the stat cache: the folder as its last scan saw it. */
export function filesIn(index: FileIndex): number {
  let n = 0;
  for (const [, e] of index.entries()) if (e.type !== 'dir') n++;
  return n;
}

/** The last sync time saved in the folder's state dir `dir`, or undefined. */
export async function readLastSync(dir: string): Promise<string | undefined> {
  try {
    const v = JSON.parse(await readFile(join(dir, LAST_SYNC_FILE), 'utf8')) as { lastSync?: unknown } | null;
    const at = v?.lastSync;
    return typeof at === 'string' && !Number.isNaN(Date.parse(at)) ? at : undefined;
  } catch {
    return undefined;
  }
}

export function writeLastSync(dir: string, lastSync: string): Promise<void> {
  return writeFileAtomic(join(dir, LAST_SYNC_FILE), `${JSON.stringify({ lastSync })}\n`);
}
