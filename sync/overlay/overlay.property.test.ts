// Property tests for overlay and userView over random layers (seeded, whiteouts included; see
// sync/plan/testkit.forSeeds: each prints its seed, rerun one with SEED=<n> PLAN_SEEDS=1).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withoutWhiteouts } from '../plan/flat.js';
import { compareStrings, parentOf, sameNode } from '../plan/nodes.js';
import { edited, forSeeds, freshContents, randomTree, show, wellFormedProblem } from '../plan/testkit.js';
import type { FlatTree, Node } from '../plan/types.js';
import type { Rng } from '../testing/random.js';
import { overlay } from './overlay.js';
import { userView } from './user-view.js';

/** The rules read literally: lay the layers on one at a time, removing what each one hides. */
function layOneByOne(layers: readonly FlatTree[]): Map<string, Node> {
  const out = new Map<string, Node>();
  for (const layer of layers) {
    for (const p of [...layer.keys()].sort(compareStrings)) {
      const n = layer.get(p) as Node;
      if (n.type === 'dir' && out.get(p)?.type === 'dir') {
        out.set(p, n);
        continue;
      }
      for (const q of [...out.keys()]) if (q === p || q.startsWith(`${p}/`)) out.delete(q);
      if (n.type !== 'whiteout') out.set(p, n);
    }
  }
  return out;
}

/** 0–3 random layers; each may be a fresh tree or an edit of the one below (heavy overlap). */
function randomLayers(rng: Rng, fresh: () => string): Map<string, Node>[] {
  const layers: Map<string, Node>[] = [];
  for (let n = rng.int(4); n > 0; n--) {
    const below = layers[layers.length - 1];
    layers.push(below !== undefined && rng.chance(0.6) ? edited(rng, below, fresh, rng.int(8)) : randomTree(rng, fresh));
  }
  return layers;
}

/** A lower tree (the effective tree of random layers) and a disk edited from it. */
function lowerAndDisk(rng: Rng) {
  const fresh = freshContents('n');
  const lower = overlay(randomLayers(rng, fresh));
  const disk = withoutWhiteouts(edited(rng, lower, fresh, rng.int(8)));
  return { lower, disk, fresh };
}

const same = (a: FlatTree, b: FlatTree, why: string) => assert.deepEqual(show(a), show(b), why);

/** No entry of a previous-less userView is there without a reason. */
function checkMinimal(user: FlatTree, lower: FlatTree, disk: FlatTree, base: ReadonlySet<string> = new Set()): void {
  const keys = [...user.keys()];
  for (const [p, n] of user) {
    if (n.type === 'whiteout') {
      assert.ok((lower.has(p) || base.has(p)) && !disk.has(p), `whiteout ${p} hides nothing missing`);
      const parent = parentOf(p);
      assert.ok(parent === '' || disk.get(parent)?.type === 'dir', `whiteout ${p} is not the topmost missing path`);
    } else if (n.type === 'dir') {
      const needed = keys.some((k) => k.startsWith(`${p}/`));
      assert.ok(needed || !sameNode(n, lower.get(p)), `unchanged dir ${p} is in for nothing`);
    } else {
      assert.ok(!sameNode(n, lower.get(p)), `unchanged ${p} is copied up`);
    }
  }
}

describe('overlay properties', () => {
  it('equals laying the layers on one by one, and is well-formed without whiteouts', () => {
    forSeeds('overlay reference', (rng) => {
      const layers = randomLayers(rng, freshContents('n'));
      const effective = overlay(layers);
      same(effective, layOneByOne(layers), 'overlay differs from laying the layers on one by one');
      assert.equal(wellFormedProblem(effective), undefined);
      assert.ok(![...(effective as FlatTree).values()].some((n) => n.type === 'whiteout'), 'a whiteout in the effective tree');
      same(overlay([overlay(layers.slice(0, 2)), ...layers.slice(2)]), effective, 'overlaying in two steps differs');
    });
  });
});

describe('userView properties', () => {
  it('gives the disk back over lower, and is well-formed and minimal', () => {
    forSeeds('userView round trip', (rng) => {
      const { lower, disk } = lowerAndDisk(rng);
      const user = userView(disk, lower);
      same(overlay([lower, user]), disk, 'overlay([lower, userView(disk, lower)]) != disk');
      assert.equal(wellFormedProblem(user), undefined);
      checkMinimal(user, lower, disk);
    });
  });

  it('with a base (the machine\'s own paths), also whites out the missing ones, and only those', () => {
    forSeeds('userView with base', (rng) => {
      const { lower, disk, fresh } = lowerAndDisk(rng);
      // The machine had some of the disk's paths and some that are gone now.
      const base = new Set([...randomTree(rng, fresh).keys(), ...[...disk.keys()].filter(() => rng.chance(0.3))]);
      const user = userView(disk, lower, new Map(), base);
      same(overlay([lower, user]), disk, 'overlay([lower, userView(disk, lower, ∅, base)]) != disk');
      assert.equal(wellFormedProblem(user), undefined);
      checkMinimal(user, lower, disk, base);
      for (const p of base) {
        const parent = parentOf(p);
        if (!disk.has(p) && (parent === '' || disk.get(parent)?.type === 'dir')) assert.equal(user.get(p)?.type, 'whiteout', `base path ${p} is gone without a whiteout`);
      }
    });
  });

  it('gives the disk back for any previous user layer', () => {
    forSeeds('userView with previous', (rng) => {
      const { lower, disk, fresh } = lowerAndDisk(rng);
      const previous = rng.chance(0.5) ? randomTree(rng, fresh) : edited(rng, lower, fresh, rng.int(8));
      const user = userView(disk, lower, previous);
      same(overlay([lower, user]), disk, 'overlay([lower, userView(disk, lower, previous)]) != disk');
      assert.equal(wellFormedProblem(user), undefined);
    });
  });

  it('re-derives a user layer unchanged from a disk laid from it', () => {
    forSeeds('userView fixpoint', (rng) => {
      const fresh = freshContents('n');
      const lower = overlay(randomLayers(rng, fresh));
      const user = rng.chance(0.5) ? randomTree(rng, fresh) : edited(rng, lower, fresh, rng.int(8));
      const disk = overlay([lower, user]);
      same(userView(disk, lower, user), user, 'userView(overlay([lower, U]), lower, U) != U');
      // Without `previous` the minimal layer still lays out the same disk.
      same(overlay([lower, userView(disk, lower)]), disk, 'the minimal layer gives another disk');
    });
  });
});
