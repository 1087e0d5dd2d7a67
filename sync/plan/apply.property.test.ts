// Property tests for planApply: for random local trees and random merged trees (results of
// merge3 and of random edits, whiteouts included), the in-memory executor (interpret.ts) reaches
// exactly the merged tree without its whiteouts, every op's expected state holds, no needed
// content loses its last copy, and nothing the disk already had is fetched from the store.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planApply } from './apply.js';
import { resolveCaseCollisions } from './casefold.js';
import { withoutWhiteouts } from './flat.js';
import { interpret } from './interpret.js';
import { merge3 } from './merge.js';
import { edited, forSeeds, freshContents, randomTree, show } from './testkit.js';
import type { FlatTree } from './types.js';
import type { Rng } from '../testing/random.js';

function pair(rng: Rng, ci: boolean): { local: FlatTree; merged: FlatTree } {
  const fresh = freshContents('n');
  const clean = (t: FlatTree) => (ci ? resolveCaseCollisions(t, () => 'x').tree : t);
  const base = clean(randomTree(rng, fresh));
  // The scanned disk never holds a whiteout; merged trees may (they mean "nothing here").
  const local = clean(withoutWhiteouts(edited(rng, base, fresh)));
  if (rng.chance(0.5)) return { local, merged: clean(edited(rng, local, fresh, rng.int(10))) };
  const theirs = edited(rng, base, fresh);
  return { local, merged: merge3(base, local, theirs, { mine: 'me', theirs: 'you', caseInsensitive: ci }).merged };
}

function fileContents(t: FlatTree): Set<string> {
  return new Set([...t.values()].flatMap((n) => (n.type === 'file' ? [n.content] : [])));
}

for (const ci of [false, true]) {
  describe(`planApply properties (${ci ? 'case-insensitive' : 'case-sensitive'})`, () => {
    it('reaches the merged tree safely', () => {
      forSeeds(`planApply ci=${ci}`, (rng) => {
        const { local, merged } = pair(rng, ci);
        const plan = planApply(local, merged, { caseInsensitive: ci });
        const result = interpret(local, plan.ops, { caseInsensitive: ci, needed: fileContents(merged) });
        const reached = withoutWhiteouts(merged);
        assert.deepEqual(show(result), show(reached));
        const had = fileContents(local);
        for (const op of plan.ops) if (op.op === 'write') assert.ok(!had.has(op.node.content), `fetches ${op.node.content}, which the disk had`);
        assert.deepEqual(planApply(reached, merged, { caseInsensitive: ci }).ops, [], 'a second pass is not empty');
      });
    });
  });
}
