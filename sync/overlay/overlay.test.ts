// overlay scenarios, as data: layers (lowest first) → the effective tree. Spec notation as in
// sync/plan/testkit.tree: 'd/' a dir ('700' for its mode), 'f': 'X@5#600' a file, 'l': '->t' a
// symlink, 'w': '~' a whiteout.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isStrataError } from '../errors.js';
import { show, tree } from '../plan/testkit.js';
import { overlay } from './overlay.js';

type Spec = Record<string, string>;
interface Scenario {
  name: string;
  layers: Spec[];
  effective: Spec;
}

const scenarios: Scenario[] = [
  { name: 'no layers: nothing', layers: [], effective: {} },
  { name: 'one layer without whiteouts: itself', layers: [{ 'a/b': 'X', l: '->t', 'e/': '700' }], effective: { 'a/b': 'X', l: '->t', 'e/': '700' } },
  { name: 'one layer: its whiteouts hide nothing and vanish', layers: [{ 'a/b': 'X', 'a/w': '~', w: '~' }], effective: { 'a/b': 'X' } },
  { name: 'the higher file wins', layers: [{ f: 'ORG' }, { f: 'USER@1' }], effective: { f: 'USER@1' } },
  { name: 'the highest of three wins, whatever is between', layers: [{ f: 'A' }, { f: 'B' }, { f: 'C' }], effective: { f: 'C' } },
  {
    name: 'dirs are the union; the highest dir gives the mode',
    layers: [{ 'd/': '755', 'd/a': 'A', 'd/s/x': 'X' }, { 'd/': '755', 'd/b': 'B' }, { 'd/': '700', 'd/s/y': 'Y' }],
    effective: { 'd/': '700', 'd/a': 'A', 'd/b': 'B', 'd/s/x': 'X', 'd/s/y': 'Y' },
  },
  { name: 'a whiteout hides a lower file', layers: [{ f: 'X', g: 'G' }, { f: '~' }], effective: { g: 'G' } },
  { name: 'a whiteout hides a lower dir and everything under it', layers: [{ 'd/a': 'A', 'd/s/b': 'B', e: 'E' }, { d: '~' }], effective: { e: 'E' } },
  {
    name: 'a layer above a whiteout may put something there again, alone',
    layers: [{ 'd/a': 'A', 'd/b': 'B' }, { d: '~' }, { 'd/c': 'C' }],
    effective: { 'd/c': 'C' },
  },
  { name: 'a whiteout of a path nothing below has: nothing', layers: [{ a: 'A' }, { 'n/w': '~', z: '~' }], effective: { a: 'A', 'n/': '' } },
  { name: 'a higher file over a lower dir hides its children', layers: [{ 'd/a': 'A', 'd/s/b': 'B' }, { d: 'F@1' }], effective: { d: 'F@1' } },
  { name: 'a higher symlink over a lower dir hides its children', layers: [{ 'd/a': 'A' }, { d: '->elsewhere' }], effective: { d: '->elsewhere' } },
  { name: 'a higher dir over a lower file replaces it', layers: [{ d: 'F', g: 'G' }, { 'd/x': 'X' }], effective: { 'd/x': 'X', g: 'G' } },
  {
    name: 'a file between two dirs cuts what is below it',
    layers: [{ 'd/x': 'X' }, { d: 'F' }, { 'd/y': 'Y' }],
    effective: { 'd/y': 'Y' },
  },
  {
    name: 'base, org layers and user: the org hides a base file, the user brings a file back and hides an org one',
    layers: [
      { 'Documents/readme': 'BASE', '.config/app/a.conf': 'BASE_A', '.config/app/b.conf': 'BASE_B' },
      { '.config/app/a.conf': 'ORG_A', '.config/app/b.conf': '~', '.config/app/c.conf': 'ORG_C' },
      { '.config/app/b.conf': 'MINE_B@2', '.config/app/c.conf': '~', 'Documents/readme': '~', 'Documents/notes': 'N' },
    ],
    effective: { '.config/app/a.conf': 'ORG_A', '.config/app/b.conf': 'MINE_B@2', 'Documents/notes': 'N' },
  },
];

describe('overlay scenarios', () => {
  for (const s of scenarios) {
    it(s.name, () => {
      const effective = overlay(s.layers.map((l) => tree(l)));
      assert.deepEqual(show(effective), show(tree(s.effective)));
      assert.deepEqual([...effective.keys()], [...tree(s.effective).keys()], 'the result is sorted by path');
    });
  }

  it('refuses a layer that is not well-formed, naming the layer and the path', () => {
    const orphan = new Map(tree({ 'd/f': 'X' }));
    orphan.delete('d');
    assert.throws(
      () => overlay([tree({ a: 'A' }), orphan]),
      (e) => isStrataError(e, 'E_OVERLAY_BAD_LAYER') && e.path === 'd/f' && e.message.includes('layer 1'),
    );
    const underWhiteout = new Map(tree({ w: '~' }));
    underWhiteout.set('w/x', { type: 'whiteout' });
    assert.throws(() => overlay([underWhiteout]), (e) => isStrataError(e, 'E_OVERLAY_BAD_LAYER') && e.path === 'w/x');
  });
});
