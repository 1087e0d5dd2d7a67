/**
 * Which snapshot a command means: the latest of the layer when none is given, else a full id or
 * a unique prefix of at least 8 hex digits (the short ids `strata log` prints).
 */
import { isBlobId } from '../chunker/hash.js';
import { StrataError } from '../errors.js';
import type { Repository, SnapshotRecord } from '../repo/index.js';
import { keys } from '../repo/types.js';
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
  if (isBlobId(id)) return { id, snapshot: await repo.loadSnapshot(layer, id) };
  const { snapshots } = await repo.listSnapshots(layer);
  const matches = snapshots.filter((s) => s.id.startsWith(id));
  if (matches.length === 1) return matches[0] as SnapshotRecord;
  if (matches.length === 0) throw new StrataError('E_SNAPSHOT_NOT_FOUND', `no snapshot of ${layer} starts with ${id}`, { key: keys.snapshots(layer) });
  throw new StrataError('E_SNAPSHOT_AMBIGUOUS', `${matches.length} snapshots of ${layer} start with ${id}; give more digits`, { key: keys.snapshots(layer) });
}
