/**
 * Which snapshot a command means: the latest of the layer when none is given, else a full id or
 * a unique prefix of at least 8 hex digits (the short ids `strata log` prints).
 */
import { isBlobId } from '../chunker/hash.js';
import { StrataError } from '../errors.js';
import type { Repository, SnapshotRecord } from '../repo/index.js';
import { keys, type SnapshotId } from '../repo/types.js';
import { stringOption, usageError, type ParsedArgs } from './args.js';

const PREFIX = /^[0-9a-f]{8,63}$/;

/** --snapshot, lower-cased and checked before anything is fetched: a full id or a long enough prefix. */
export function snapshotOption(args: ParsedArgs, command: string): string | undefined {
  const given = stringOption(args, 'snapshot');
  if (given === undefined) return undefined;
  const id = given.toLowerCase();
  if (!isBlobId(id) && !PREFIX.test(id)) {
    throw usageError(`--snapshot ${JSON.stringify(given)} is not a snapshot id or a prefix of at least 8 hex digits`, command);
  }
  return id;
}

/** The snapshot `id` (from snapshotOption) names, or the latest of the layer when it is undefined. */
export async function resolveSnapshot(repo: Repository, layer: string, id: string | undefined): Promise<SnapshotRecord> {
  if (id === undefined) {
    const latest = await repo.latestSnapshot(layer);
    if (!latest) throw new StrataError('E_NO_SNAPSHOT', `layer ${layer} has no snapshot yet`, { key: keys.heads(layer) });
    return latest;
  }
  // A prefix is matched against the listed keys: no snapshot is read but the one it names, whose
  // damage (if any) is then the error, never hidden as "no snapshot", nor by another match.
  const matches = isBlobId(id) ? [id] : (await repo.listSnapshotIds(layer)).filter((s) => s.startsWith(id));
  if (matches.length === 1) {
    const found = matches[0] as SnapshotId;
    return { id: found, snapshot: await repo.loadSnapshot(layer, found) };
  }
  if (matches.length === 0) throw new StrataError('E_SNAPSHOT_NOT_FOUND', `no snapshot of ${layer} starts with ${id}`, { key: keys.snapshots(layer) });
  throw new StrataError('E_SNAPSHOT_AMBIGUOUS', `${matches.length} snapshots of ${layer} start with ${id}; give more digits`, { key: keys.snapshots(layer) });
}
