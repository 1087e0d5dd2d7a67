/**
 * The sync planner (DESIGN §3): pure functions that decide what a sync pass does. The engine
 * loads trees and scans the disk; the planner only compares trees and returns operations.
 *
 *   merge3(base, mine, theirs, ctx)  three-way merge of flat trees → merged tree + conflicts.
 *                                    base is the common ancestor's tree, mine the local side
 *                                    (device ctx.mine), theirs another device's head.
 *   planApply(local, merged)         ordered disk operations turning the scanned tree into merged.
 *   needsConfirmation(plan, count)   the >50 % mass-delete guard.
 *   flatten / directories            Merkle trees (repo) ⇄ flat trees, over already-loaded trees,
 *                                    whiteouts included (WhiteoutEntry ⇄ WhiteoutNode).
 *   withoutWhiteouts(tree)           the tree as a disk would hold it.
 *
 * Merge rules, per path (a "change" is any difference from base; a node's content is a file's
 * bytes or a symlink's target, its metadata mode and mtime):
 * - only one side changed → take it (including a delete, a type change, a metadata change);
 * - both made the same change → take it; same content, other metadata → the newer version's;
 * - one side changed only metadata, the other the content → the content change, no conflict;
 * - both changed the content differently → keep both: the newer version keeps the name, the other
 *   becomes `name.sync-conflict-YYYYMMDD-HHMMSS-<device>.ext` (conflict-name.ts). "Newer" is a
 *   total order: greater mtime, then greater device id, then greater content key;
 * - change vs delete → the change wins (the file is restored);
 * - delete vs delete → gone;
 * - dir vs dir → the union, path by path; a dir whose mode both changed takes the newer's mode;
 * - both changed the kind (file, dir, symlink) differently → keep both: a dir always keeps the
 *   name (its children stay where they are) and the file or symlink becomes the conflict copy;
 *   file vs symlink follows "newer";
 * - a dir deleted on one side while the other changed or added something inside it → the dir
 *   comes back holding what the other side changed; children the other side left untouched stay
 *   deleted. Likewise, a file or symlink that replaced a dir on one side moves to a conflict name
 *   when the other side changed something inside that dir (reason 'parent');
 * - renames are a delete plus an add, so a rename on one side and an edit on the other keep both
 *   the edited old path and the renamed new one;
 * - ctx.caseInsensitive: names equal under case folding + NFC are resolved as in casefold.ts
 *   (dirs united, files after the first renamed to conflict names).
 *
 * Whiteouts (a layer hiding a path of the layers below it, DESIGN §1; sync/overlay) are leaves
 * with one fixed content, so the rules above apply with "whiteout" as a kind of its own:
 * - whiteout vs whiteout → the same; one side wrote a whiteout, the other left the path alone →
 *   the whiteout; whiteout vs a path taken out of the layer → the whiteout;
 * - whiteout vs any other change (an edit, a touch, a new file, a type change) → the change, with
 *   no conflict: the edit-vs-delete rule. The "metadata-only change gives way" rule does not
 *   apply, so a touched file beats a whiteout as it beats a delete;
 * - whiteout vs a dir that was a dir → the whiteout (as delete vs dir); if the other side changed
 *   something inside, pass 2 turns the whiteout back into a dir holding that change. What the
 *   layers below have in that dir then shows through again: merge3 sees one layer only, and
 *   showing too much is the side that loses nothing;
 * - a conflict copy of a whiteout is never made: it carries no data, so where it loses (to a
 *   change, to a dir that must exist, to a surviving node in a united case-insensitive dir) it
 *   just goes;
 * - case-insensitive targets: whiteouts never reach the disk, so they take no part in fold
 *   collisions; one in a dir that was united with another moves with it.
 *
 * Invariants (the property tests check each one over thousands of random trees):
 * - merge3 MUST be symmetric: merge3(b, x, y, {mine: A, theirs: B}) and merge3(b, y, x,
 *   {mine: B, theirs: A}) give identical trees and conflicts, so two devices that merge each
 *   other at the same time converge without further conflicts;
 * - merge3 MUST NOT lose a version: every file content that mine or theirs has and base did not
 *   have at that path, and every base content that neither side deleted, is in the merged tree,
 *   at its path or as a conflict copy (whiteouts are no versions: see above);
 * - merge3 MUST NOT invent a whiteout nor copy one: every whiteout of the merged tree is one that
 *   mine or theirs has (case-insensitive: moved with its united dir), and no conflict copy is one;
 * - for well-formed trees (valid under ctx), merge3(t, t, t) = t, merge3(b, b, y) = y,
 *   merge3(b, x, b) = x and merge3(x, M, M) = M: re-merging a merge changes nothing;
 * - the merged tree MUST be well-formed (every ancestor a dir, so nothing under a whiteout) and,
 *   when ctx.caseInsensitive, free of fold collisions among its non-whiteout paths;
 * - planApply MUST reach exactly withoutWhiteouts(merged) — a whiteout means "nothing on disk
 *   here"; the caller overlays lower layers first (sync/overlay) — MUST refuse a scanned tree that
 *   holds a whiteout, MUST NOT emit an op that carries one, MUST NOT destroy a content the merged
 *   tree needs before it exists elsewhere, and every op's expected state MUST be the state its
 *   target has at that point of the plan;
 * - no I/O, no clock, no randomness: the same inputs give the same outputs on every device.
 */
export type { Conflict, ConflictReason, DirNode, DiskNode, FileNode, FlatTree, MergeContext, MergeResult, Node, SymlinkNode, WhiteoutNode } from './types.js';
export type { ApplyOp, ApplyPlan, ApplySummary } from './ops.js';
export { merge3, DEFAULT_DIR_MODE } from './merge.js';
export { planApply, STASH_PREFIX, type ApplyOptions } from './apply.js';
export { needsConfirmation, deleteRatio } from './ops.js';
export { conflictName, conflictStamp, freeConflictPath, isConflictName } from './conflict-name.js';
export { caseInsensitiveByDefault, caseInsensitiveFor, foldForDisk, foldLayerTree, foldKey, hasCaseCollisions, resolveCaseCollisions } from './casefold.js';
export { flatten, flattenLoaded, directories, contentKey, countFiles, withoutWhiteouts, hasWhiteouts } from './flat.js';
export { sameNode, sameContent, compareVersions } from './nodes.js';
