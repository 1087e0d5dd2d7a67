/**
 * A deliberately broken merge3 for the simulation's self-test: it keeps every conflict's winner
 * and silently drops the losing version (the conflict copy), which is exactly the data loss the
 * survival rule exists to catch. Loaded only through broken-hooks.ts.
 */
import { merge3 as realMerge3 } from '../../plan/merge.js';
import type { FlatTree, MergeContext, MergeResult } from '../../plan/index.js';

export * from '../../plan/merge.js';

export function merge3(base: FlatTree, mine: FlatTree, theirs: FlatTree, ctx: MergeContext): MergeResult {
  const r = realMerge3(base, mine, theirs, ctx);
  for (const c of r.conflicts) r.merged.delete(c.copy);
  return { merged: r.merged, conflicts: [] };
}
