// laidLower: which org layer a disk holds, path by path, while a pass switches it from one
// version of the org layers to another. Examples of each rule, then the property the agent relies
// on, over random layers (seeded; rerun one with SEED=<n> PLAN_SEEDS=1): cut off after any number
// of its ops, the switch still ends at the user's layer over the new org layers, and no file the
// user did not write is copied up.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolvePending } from '../agent/pending.js';
import { planApply, STASH_PREFIX } from '../plan/apply.js';
import { withoutWhiteouts } from '../plan/flat.js';
import { interpret } from '../plan/interpret.js';
import { sameNode } from '../plan/nodes.js';
import { edited, forSeeds, freshContents, randomTree, show, tree, wellFormedProblem } from '../plan/testkit.js';
import { overlay } from './overlay.js';
import { laidLower } from './switching.js';
import { userView } from './user-view.js';

describe('laidLower', () => {
  const before = tree({ 'docs/': '', 'docs/kept': 'k', 'docs/changed': 'v1', 'docs/dropped': 'd', 'old/': '', 'old/x': 'x' });
  const after = tree({ 'docs/': '', 'docs/kept': 'k', 'docs/changed': 'v2', 'docs/added': 'a', 'new/': '', 'new/y': 'y' });

  it('reads an unswitched disk against the old version, a switched one against the new', () => {
    assert.deepEqual(show(laidLower(before, before, after)), show(tree({ 'docs/': '', 'docs/changed': 'v1', 'docs/dropped': 'd', 'docs/kept': 'k', 'old/': '', 'old/x': 'x' })));
    // Fully switched, the disk is `after`: every path of it comes from `after`.
    assert.deepEqual(show(laidLower(after, before, after)), show(after));
  });

  it('tells the user\'s deletions and edits from what the switch has not done yet', () => {
    const disk = tree({ 'docs/': '', 'docs/changed': 'mine', 'docs/dropped': 'd', 'old/': '', 'old/x': 'x', 'mine/': '', 'mine/z': 'z' });
    const lower = laidLower(disk, before, after);
    const user = userView(disk, lower);
    // kept is in both versions and gone from the disk: the user deleted it. added is not laid yet,
    // and new/ neither: no whiteouts for them. The edit of changed is the user's.
    assert.deepEqual(show(user), show(tree({ 'docs/': '', 'docs/changed': 'mine', 'docs/kept': '~', 'mine/': '', 'mine/z': 'z' })));
  });
});

describe('laidLower properties', () => {
  it('a switch cut off after any op ends at the user layer over the new org layers, copying up nothing', () => {
    forSeeds('laidLower', (rng) => {
      const fresh = freshContents('n');
      const before = overlay([randomTree(rng, fresh)]);
      const after = rng.chance(0.7) ? withoutWhiteouts(edited(rng, before, fresh, rng.int(10))) : overlay([randomTree(rng, fresh)]);
      // The user layer: the user's edits of a disk laid from `before`.
      const user = userView(withoutWhiteouts(edited(rng, before, fresh, rng.int(6))), before);
      const laid = overlay([before, user]);
      const target = overlay([after, user]);
      const { ops } = planApply(laid, target);
      const cut = rng.int(ops.length + 1);
      // What a crash leaves after `cut` ops, the executor's stashes removed (the folder's recovery),
      // read as the pass after it does: through the pending merge the switch recorded.
      const partial = new Map([...interpret(laid, ops.slice(0, cut))].filter(([p]) => !p.split('/')[0]!.startsWith(STASH_PREFIX)));
      const disk = cut === 0 ? partial : resolvePending(laid, partial, target, 'me').merged;
      const lower = laidLower(disk, before, after);
      assert.equal(wellFormedProblem(lower), undefined, 'laidLower is well-formed');
      assert.ok(![...lower.values()].some((n) => n.type === 'whiteout'), 'laidLower holds no whiteout');
      const mine = userView(disk, lower, user);
      assert.deepEqual(show(overlay([after, mine])), show(target), `cut after ${cut} of ${ops.length} ops`);
      for (const [p, n] of mine) {
        if (n.type === 'file' || n.type === 'symlink') assert.ok(sameNode(n, user.get(p)), `${p} is copied up, but the user never wrote it`);
      }
    });
  });
});
