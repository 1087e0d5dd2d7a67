// userView scenarios, as data: the lower tree the disk was laid from, the disk now, the previous
// user layer (optional) → the expected user layer. Every scenario also checks that the layer laid
// over `lower` gives the disk back. Spec notation as in sync/plan/testkit.tree ('~' = whiteout;
// missing parent dirs are added with mode 755).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isStrataError } from '../errors.js';
import { show, tree } from '../plan/testkit.js';
import { overlay } from './overlay.js';
import { userView } from './user-view.js';

type Spec = Record<string, string>;
interface Scenario {
  name: string;
  lower: Spec;
  disk: Spec;
  previous?: Spec;
  user: Spec;
}

const ORG = { 'Documents/guide.pdf': 'GUIDE', '.config/app/a.conf': 'A', '.config/app/b.conf': 'B', 'Templates/t/x': 'X', 'Templates/t/y': 'Y' };

const scenarios: Scenario[] = [
  { name: 'the disk equals lower: an empty layer', lower: ORG, disk: ORG, user: {} },
  { name: 'empty lower: the layer is the disk', lower: {}, disk: { 'a/b': 'X', l: '->t' }, user: { 'a/b': 'X', l: '->t' } },
  {
    name: 'an edited org file is copied up, alone with its parent dirs',
    lower: ORG,
    disk: { ...ORG, '.config/app/a.conf': 'A2@1' },
    user: { '.config/app/a.conf': 'A2@1' },
  },
  { name: 'a touched file (same bytes, new mtime) is copied up', lower: ORG, disk: { ...ORG, 'Documents/guide.pdf': 'GUIDE@3' }, user: { 'Documents/guide.pdf': 'GUIDE@3' } },
  { name: 'a new file is in', lower: ORG, disk: { ...ORG, 'Documents/notes.md': 'N' }, user: { 'Documents/notes.md': 'N' } },
  {
    name: 'a deleted org file becomes a whiteout',
    lower: ORG,
    disk: { 'Documents/guide.pdf': 'GUIDE', '.config/app/a.conf': 'A', 'Templates/t/x': 'X', 'Templates/t/y': 'Y' },
    user: { '.config/app/b.conf': '~' },
  },
  {
    name: 'a deleted dir gets one whiteout, not one per child',
    lower: ORG,
    disk: { 'Documents/guide.pdf': 'GUIDE', '.config/app/a.conf': 'A', '.config/app/b.conf': 'B', 'Templates/': '' },
    user: { 'Templates/t': '~' },
  },
  {
    name: 'a dir replaced by a file: the file, and no whiteouts under it',
    lower: ORG,
    disk: { 'Documents/guide.pdf': 'GUIDE', '.config/app/a.conf': 'A', '.config/app/b.conf': 'B', 'Templates/t': 'F@1' },
    user: { 'Templates/t': 'F@1' },
  },
  {
    name: 'a file replaced by a dir: the dir with all it holds',
    lower: ORG,
    disk: { ...ORG, 'Documents/guide.pdf/': '', 'Documents/guide.pdf/page1': 'P' },
    user: { 'Documents/guide.pdf/page1': 'P' },
  },
  { name: 'a file replaced by a symlink is in', lower: ORG, disk: { ...ORG, '.config/app/b.conf': '->a.conf' }, user: { '.config/app/b.conf': '->a.conf' } },
  {
    name: 'a dir whose mode changed is in, its unchanged children are not',
    lower: ORG,
    disk: { ...ORG, 'Templates/t/': '700' },
    user: { 'Templates/t/': '700' },
  },
  {
    name: 'a parent dir comes in with the mode the disk has',
    lower: { 'p/': '700', 'p/f': 'X' },
    disk: { 'p/': '700', 'p/f': 'X', 'p/g': 'G' },
    user: { 'p/': '700', 'p/g': 'G' },
  },
  {
    name: 'previous: a whiteout that hides nothing on this machine stays',
    lower: { 'Desktop/org.lnk': 'ORG' },
    disk: { 'Desktop/org.lnk': 'ORG' },
    previous: { 'Desktop/other-machine.lnk': '~' },
    user: { 'Desktop/other-machine.lnk': '~' },
  },
  {
    name: 'previous: a copy-up equal to what this machine has below stays',
    lower: { 'app/settings.ini': 'S2' },
    disk: { 'app/settings.ini': 'S2' },
    previous: { 'app/settings.ini': 'S2' },
    user: { 'app/settings.ini': 'S2' },
  },
  {
    name: 'previous: a whiteout whose path the user filled again gives way to the file',
    lower: {},
    disk: { 'Desktop/x.lnk': 'NEW@1' },
    previous: { 'Desktop/x.lnk': '~' },
    user: { 'Desktop/x.lnk': 'NEW@1' },
  },
  {
    name: 'previous: a whiteout whose lower path is back on the disk goes (the user restored it)',
    lower: { f: 'X' },
    disk: { f: 'X' },
    previous: { f: '~' },
    user: {},
  },
  {
    name: 'previous: a whiteout inside a dir the user deleted goes with the dir',
    lower: { 'd/a': 'A' },
    disk: {},
    previous: { 'd/a': 'A', 'd/w': '~' },
    user: { d: '~' },
  },
  {
    name: 'previous: an entry that no longer matches the disk is replaced by what the disk has',
    lower: { f: 'X' },
    disk: { f: 'X' },
    previous: { f: 'MINE@1' },
    user: {},
  },
];

describe('userView scenarios', () => {
  for (const s of scenarios) {
    it(s.name, () => {
      const lower = tree(s.lower);
      const disk = tree(s.disk);
      const previous = s.previous ? tree(s.previous) : undefined;
      const user = userView(disk, lower, previous);
      assert.deepEqual(show(user), show(tree(s.user)));
      assert.deepEqual(show(overlay([lower, user])), show(disk), 'the layer over lower does not give the disk');
    });
  }

  it('deleting a base file under org layers writes a whiteout that hides it again on a reset machine', () => {
    const image = tree({ 'Desktop/base.lnk': 'BASE', 'Desktop/old.lnk': 'OLD', 'Apps/x/a': 'A', 'Apps/x/b': 'B' });
    const org = tree({ 'Desktop/org.lnk': 'ORG' });
    // The image's files were adopted into the layer; the user deleted one file and one folder.
    const previous = tree({ 'Desktop/base.lnk': 'BASE', 'Desktop/old.lnk': 'OLD', 'Apps/x/a': 'A', 'Apps/x/b': 'B' });
    const disk = tree({ 'Desktop/base.lnk': 'BASE', 'Desktop/org.lnk': 'ORG', 'Apps/': '' });
    const user = userView(disk, org, previous, image.keys());
    assert.deepEqual(show(user), show(tree({ 'Desktop/base.lnk': 'BASE', 'Desktop/old.lnk': '~', 'Apps/x': '~' })));
    assert.deepEqual(show(overlay([org, user])), show(disk));
    // The VDI machine is reset to its image: the layer over it gives the same disk again.
    assert.deepEqual(show(overlay([image, org, user])), show(disk));
  });

  it('refuses whiteouts on the disk or in lower, and trees that are not well-formed', () => {
    const bad = (e: unknown, path: string) => isStrataError(e, 'E_OVERLAY_BAD_LAYER') && e.path === path;
    assert.throws(() => userView(tree({ w: '~' }), tree({})), (e) => bad(e, 'w'));
    assert.throws(() => userView(tree({}), tree({ 'd/w': '~' })), (e) => bad(e, 'd/w'));
    const orphan = new Map(tree({ 'd/f': 'X' }));
    orphan.delete('d');
    assert.throws(() => userView(orphan, tree({})), (e) => bad(e, 'd/f'));
    assert.throws(() => userView(tree({}), tree({}), orphan), (e) => bad(e, 'd/f'));
  });
});
