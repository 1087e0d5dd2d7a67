/**
 * What one pass of a synced folder (folder.ts) does to the disk, and the deletes that counts for
 * the mass-delete guard (guard.ts): the plan from the disk, as the local tree has it, to the
 * effective tree (the user layer over the org layers), less what the pass leaves alone (carry.ts).
 * Made once per pass, and again where putting back held deletes changed the effective tree.
 */
import { countFiles, planApply, type ApplyPlan, type FlatTree, type Node } from '../plan/index.js';
import { planSides, type Hidden } from './carry.js';
import { countDeletes, droppedBySwitch, type DeleteCounts } from './guard.js';

/** What a pass's plan is made against, besides the two trees. */
export interface PlanContext {
  /** The paths the pass leaves alone (carry.ts). */
  hidden: Hidden;
  caseInsensitive?: boolean;
  /** The org layers' effective tree the disk is laid from, and the one a switch is from. */
  lower?: ReadonlyMap<string, Node>;
  lowerBefore?: ReadonlyMap<string, Node>;
  /** This device's head's tree, and the disk as this pass read it (mine.ts), for countDeletes. */
  ownTree: ReadonlyMap<string, Node>;
  disk: ReadonlyMap<string, Node>;
  /** Deletes that are not this device's (guard.ts countDeletes). */
  notMine: Hidden;
}

/** The plan taking the disk (`localFlat`) to `effective`, what it leaves there (`target`), and the deletes it counts. */
export function planPass(localFlat: FlatTree, effective: FlatTree, c: PlanContext): { target: Map<string, Node>; plan: ApplyPlan; deletes: DeleteCounts } {
  const { local: visible, target } = planSides(localFlat, effective, c.hidden);
  const plan = planApply(visible, target, { caseInsensitive: c.caseInsensitive });
  // The untouched org files a switch drops are no part of a mass delete (guard.ts).
  const dropped = c.lowerBefore === undefined ? new Set<string>() : droppedBySwitch(plan, c.lowerBefore, c.lower);
  const deletes = countDeletes(plan, countFiles(localFlat), c.ownTree, c.disk, c.notMine, dropped, target, c.caseInsensitive);
  return { target, plan, deletes };
}
