// Property tests for merge3 over random trees and random edits (seeded; see testkit.forSeeds):
// no version lost, symmetry, identities, convergence, well-formed output. The trees hold
// whiteouts too: they are no versions, never become conflict copies and are never invented.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasCaseCollisions, resolveCaseCollisions } from './casefold.js';
import { merge3 } from './merge.js';
import { sameContent } from './nodes.js';
import { contents, edited, forSeeds, freshContents, randomTree, show, versionKey, wellFormedProblem } from './testkit.js';
import type { FlatTree, MergeContext, MergeResult, Node } from './types.js';
import type { Rng } from '../testing/random.js';

const A = 'alpha';
const B = 'bravo';
const C = 'charlie';

/** A random base and two independently edited descendants of it. */
function scenario(rng: Rng, ci: boolean) {
  const fresh = freshContents('n');
  let base: FlatTree = randomTree(rng, fresh);
  // A case-insensitive device only ever scans trees without fold collisions.
  if (ci && rng.chance(0.5)) base = resolveCaseCollisions(base, () => C).tree;
  return { base, x: edited(rng, base, fresh), y: edited(rng, base, fresh), fresh };
}

const isVersion = (n: Node) => n.type === 'file' || n.type === 'symlink';

/** Contents that merge3(base, x, y) must keep: new on a side, or untouched by both sides. */
function mustKeep(base: FlatTree, x: FlatTree, y: FlatTree): Set<string> {
  const keep = new Set<string>();
  for (const side of [x, y]) {
    for (const [p, n] of side) if (isVersion(n) && !sameContent(n, base.get(p))) keep.add(versionKey(n));
  }
  for (const [p, n] of base) {
    if (isVersion(n) && sameContent(x.get(p), n) && sameContent(y.get(p), n)) keep.add(versionKey(n));
  }
  return keep;
}

/** Paths of the tree that a disk would hold (whiteouts never reach one). */
const diskPaths = (t: FlatTree) => [...t].filter(([, n]) => n.type !== 'whiteout').map(([p]) => p);

function checkKept(base: FlatTree, x: FlatTree, y: FlatTree, merged: FlatTree): void {
  const have = contents(merged);
  for (const k of mustKeep(base, x, y)) assert.ok(have.has(k), `version ${k} lost`);
}

function checkShape(merged: FlatTree, ci: boolean): void {
  assert.equal(wellFormedProblem(merged), undefined);
  if (ci) assert.ok(!hasCaseCollisions(diskPaths(merged)), 'names collide case-insensitively');
}

/** No conflict copy of a whiteout, and (case-sensitive) no whiteout where neither side had one. */
function checkWhiteouts(x: FlatTree, y: FlatTree, r: MergeResult, ci: boolean): void {
  for (const c of r.conflicts) assert.notEqual(r.merged.get(c.copy)?.type, 'whiteout', `conflict copy ${c.copy} is a whiteout`);
  if (ci) return; // a whiteout follows its dir when dirs that fold alike are united
  for (const [p, n] of r.merged) {
    if (n.type === 'whiteout') assert.ok(x.get(p)?.type === 'whiteout' || y.get(p)?.type === 'whiteout', `whiteout ${p} invented`);
  }
}

function ctx(mine: string, theirs: string, ci: boolean): MergeContext {
  return { mine, theirs, caseInsensitive: ci };
}

const same = (a: FlatTree, b: FlatTree, why: string) => assert.deepEqual(show(a), show(b), why);
const valid = (t: FlatTree, ci: boolean) => !ci || !hasCaseCollisions(diskPaths(t));

for (const ci of [false, true]) {
  describe(`merge3 properties (${ci ? 'case-insensitive' : 'case-sensitive'})`, () => {
    it('keeps every version, and its output is well-formed, with no whiteout copied or invented', () => {
      forSeeds(`merge3 keeps versions ci=${ci}`, (rng) => {
        const { base, x, y } = scenario(rng, ci);
        const r = merge3(base, x, y, ctx(A, B, ci));
        checkKept(base, x, y, r.merged);
        checkShape(r.merged, ci);
        checkWhiteouts(x, y, r, ci);
      });
    });

    it('is symmetric', () => {
      forSeeds(`merge3 symmetric ci=${ci}`, (rng) => {
        const { base, x, y } = scenario(rng, ci);
        const ab = merge3(base, x, y, ctx(A, B, ci));
        const ba = merge3(base, y, x, ctx(B, A, ci));
        same(ab.merged, ba.merged, 'merged trees differ');
        assert.deepEqual(ab.conflicts, ba.conflicts);
      });
    });

    it('keeps the identities', () => {
      forSeeds(`merge3 identities ci=${ci}`, (rng) => {
        const { base, x, y } = scenario(rng, ci);
        const c = ctx(A, B, ci);
        for (const t of [base, x, y]) if (valid(t, ci)) same(merge3(t, t, t, c).merged, t, 'merge3(t, t, t) != t');
        if (valid(y, ci)) same(merge3(base, base, y, c).merged, y, 'merge3(b, b, y) != y');
        if (valid(x, ci)) same(merge3(base, x, base, c).merged, x, 'merge3(b, x, b) != x');
        const m = merge3(base, x, y, c).merged;
        for (const t of [base, x, y]) {
          const again = merge3(t, m, m, c);
          same(again.merged, m, 'merge3(t, M, M) != M');
          assert.deepEqual(again.conflicts, []);
        }
      });
    });

    it('converges: devices that merge each other in any order agree, and re-merging changes nothing', () => {
      forSeeds(`merge3 converges ci=${ci}`, (rng) => {
        const { base, x: a, y: b, fresh } = scenario(rng, ci);
        const c = edited(rng, base, fresh);
        // A and B merge each other at the same time: the same tree.
        const mA = merge3(base, a, b, ctx(A, B, ci)).merged;
        same(merge3(base, b, a, ctx(B, A, ci)).merged, mA, 'A and B disagree');
        // B then sees A's merge (which descends from b), C merges A's, A and B take C's.
        same(merge3(b, b, mA, ctx(B, A, ci)).merged, mA, 'B re-merging A changed the tree');
        const mC = merge3(base, c, mA, ctx(C, A, ci));
        checkKept(base, c, mA, mC.merged);
        for (const dev of [A, B]) {
          const r = merge3(mA, mA, mC.merged, ctx(dev, C, ci));
          same(r.merged, mC.merged, `${dev} taking C's merge changed it`);
          assert.deepEqual(r.conflicts, []);
        }
        // Every version that A, B or C created (content the base had nowhere) reached the end.
        // (Content the base had may legitimately go: a rename on one side, a delete on another.)
        const all = contents(mC.merged);
        const old = contents(base);
        for (const side of [a, b, c]) for (const k of contents(side)) if (!old.has(k)) assert.ok(all.has(k), `lost ${k}`);
      });
    });
  });
}
