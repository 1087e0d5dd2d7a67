/**
 * The mass-delete guard (DESIGN §3): a pass that would delete more than half of the files waits
 * for the user. Both directions count — deletes coming from another device onto this disk, and
 * deletes found on this disk going to the layer (a folder emptied by a failing disk or a wrong
 * mount must not empty the layer everywhere).
 *
 * Small folders are exempt below MASS_DELETE_MIN deleted files: deleting 3 of 4 files is a user
 * tidying up, not an accident worth a prompt.
 */
import type { PendingDeletes } from '../../shared/agent-api.js';
import { countFiles, type ApplyPlan, type Node } from '../plan/index.js';

export const MASS_DELETE_MIN = 10;

export type HeldDeletes = PendingDeletes;

function tooMany(deleted: number, of: number): boolean {
  return deleted >= MASS_DELETE_MIN && deleted * 2 > of;
}

/**
 * The deletes to hold, if any: `plan` applied to a disk of `localFiles` files, and the files of
 * this device's head (`ownTree`) that the disk (`mine`) no longer has, except hidden ones.
 */
export function massDelete(plan: ApplyPlan, localFiles: number, ownTree: ReadonlyMap<string, Node>, mine: ReadonlyMap<string, Node>, hidden: (path: string, node: Node) => boolean): HeldDeletes | undefined {
  if (tooMany(plan.summary.deletedFiles, localFiles)) return { direction: 'remote', files: plan.summary.deletedFiles, of: localFiles };
  let gone = 0;
  for (const [p, node] of ownTree) if ((node.type === 'file' || node.type === 'symlink') && !mine.has(p) && !hidden(p, node)) gone++;
  const of = countFiles(ownTree);
  return tooMany(gone, of) ? { direction: 'local', files: gone, of } : undefined;
}
