/**
 * The layer model of DESIGN §1, as pure functions over the planner's flat trees (sync/plan):
 * how a stack of layers makes the tree a machine shows, and which user layer a disk amounts to.
 *
 *   overlay(layers)                  the effective tree of layers given lowest first, e.g.
 *                                    [base, org/a, org/b, user/<id>].
 *   userView(disk, lower, previous?) the user layer that, laid over `lower`, gives `disk`.
 *
 * Overlay rules, per path:
 * - the highest layer that mentions the path wins (its node, a dir's mode included);
 * - a whiteout hides the path and everything under it in the layers below; a layer above the
 *   whiteout may put something there again;
 * - dirs are the union of the layers' dirs; a file or symlink over a lower dir hides the dir and
 *   its children; a dir over a lower file or symlink replaces it (what layers below that file
 *   had under the path stays hidden);
 * - names are compared exactly: fold collisions (case-insensitive disks) are for the caller to
 *   resolve on the effective tree before it is laid out (sync/plan casefold).
 *
 * userView rules (what a user's edits on the effective tree write into their layer):
 * - a path where the disk equals `lower` is left out — not copied up — unless the layer needs it
 *   as the parent dir of something that is in, or `previous` already holds exactly that node;
 * - a changed or new path is in (copy-up), including a touch (same bytes, new mtime), a mode
 *   change and a change of kind (file, dir, symlink);
 * - a path of `lower` missing on the disk becomes a whiteout, only the topmost missing one: a
 *   deleted dir gets one whiteout, not one per child;
 * - a whiteout of `previous` at a path that neither `lower` nor the disk has here is kept (when
 *   its parent dir is on the disk): see "base" below.
 * `lower` must be the effective tree below the user layer that the disk was last laid from — not
 * a newer one: against a newly published org layer, every file not yet updated on the disk would
 * look like a user edit and be copied up, pinning the old version. While a pass switches the disk
 * to new org layers, that tree is a mix of both, path by path: laidLower(disk, before, after).
 *
 * Base. The machine's own files (the OS image, a golden VDI image) are the lowest layer, but one
 * whose content is not in the bucket: nothing can lay it, so it is never part of `lower`. First
 * contact leaves them in place and live sync adopts them into the user layer (DESIGN §4). On a
 * VDI machine, reset to its image at every logoff, the paths the image had when the layer was
 * laid are userView's `base`: deleting one writes a whiteout, as deleting an org file does, so
 * the next session's first contact removes the image's copy again instead of adopting it back.
 * Because the base differs from machine to machine, a user layer can hold entries that mean
 * nothing on this machine: a whiteout of a file only another machine's base has, a copy-up equal
 * to what this machine's base has anyway. `previous` keeps those, so a pass on one machine does not
 * undo what the user did on another.
 *
 * Invariants (property-tested over thousands of seeded random trees):
 * - overlay's result MUST be well-formed and hold no whiteout, for any well-formed layers; it
 *   equals laying the layers on one at a time, lowest first;
 * - overlay([lower, userView(disk, lower, previous)]) MUST equal `disk` (every node the same,
 *   dirs by mode) for any well-formed, whiteout-free disk and lower and any well-formed previous;
 * - userView's result MUST be well-formed, with whiteouts only as leaves;
 * - userView(overlay([lower, U]), lower, U) MUST equal U for every well-formed user layer U:
 *   re-deriving the layer from a disk laid from it changes nothing;
 * - without `previous`, userView MUST be minimal: no file, symlink or unneeded dir equal to
 *   `lower`'s, and every whiteout hides a path of `lower` or `base` whose parent is a dir on the disk;
 * - no I/O, no clock, no randomness. Malformed input fails with E_OVERLAY_BAD_LAYER naming the path.
 */
export { overlay, checkWellFormed, checkNoWhiteouts } from './overlay.js';
export { userView } from './user-view.js';
export { laidLower } from './switching.js';
