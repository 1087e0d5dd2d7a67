/**
 * What a synced folder (folder.ts) does with what an apply that did not finish left on the disk:
 * the executor's recovery at a start or after a failed pass, the stashes it moved aside, and the
 * seeds (temps of downloads cut off) no apply will take.
 *
 * Must hold: the deletes of the runs the executor's journal holds are recorded (guard.ts) before
 * the journal is cleared; a seed stays named in the journal until the apply that takes or drops it.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { badAncestor, clearJournal, recover, type Seed } from '../exec/index.js';
import { STASH_PREFIX } from '../plan/index.js';
import { deletedBy } from './apply.js';
import type { FolderOptions } from './folder-types.js';
import type { DeleteHistory } from './guard.js';

/**
 * The executor's recovery. The deletes of the runs its journal holds are recorded in `deletes`
 * before the journal is cleared; then the stashes it found go (removeStashes). Returns the seeds
 * it kept, for the next apply.
 */
export async function recoverApply(opts: Pick<FolderOptions, 'root' | 'execJournal' | 'deletesFile'>, deletes: DeleteHistory): Promise<Seed[]> {
  const { runs, stashes, seeds } = await recover(opts.root, opts.execJournal, { keepJournal: true, seeds: true });
  let changed = false;
  for (const r of runs) changed = deletes.recordRun(r.label, deletedBy(r.applied)) || changed;
  if (changed && opts.deletesFile) await deletes.save(opts.deletesFile);
  // The seeds stay named there until the apply that takes them: a crash before leaves them to the next recovery.
  await clearJournal(opts.execJournal, seeds);
  await removeStashes(opts.root, stashes);
  return seeds;
}

/**
 * A stash holds bytes an apply that did not finish (a crash, a fault, a user write it had to stop
 * for) moved aside for a path of the merged tree. The scan never sees stashes (they are the
 * engine's own), so kept they would sit at the root for good. Removing them loses nothing: the
 * scan uploads every local file's bytes before a plan is made, and the pending merge still names
 * the paths that need them, so the next apply fetches them again.
 */
export async function removeStashes(root: string, names?: readonly string[]): Promise<void> {
  const found = names ?? (await readdir(root)).filter((n) => n.startsWith(STASH_PREFIX));
  for (const s of found) await rm(join(root, s), { recursive: true, force: true });
}

/** The seeds no apply will take: taken out of `seeds` and removed, through real dirs only. */
export async function dropSeeds(root: string, seeds: Seed[]): Promise<void> {
  for (const s of seeds.splice(0)) if ((await badAncestor(root, s.tmp)) === undefined) await rm(join(root, s.tmp), { force: true });
}
