// What the user (or an app starting in their session) writes into home while a sign-in lays the
// layer, between the restore's walk of home and the rename that puts a file in place: a file made
// at a path the walk saw empty, a file changed at a path the walk saw, a folder (with files) made
// where the layer has a file. Nothing of it is lost: the layer's version takes the name, as first
// contact gives it the name under either policy, and the user's is kept beside it as a conflict
// copy, reported with first contact's. Held at two points: the ready half's first progress event
// (its walk is done, nothing renamed yet) and the `ready` event (the rest takes the ready half's
// walk and does not look at home again).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { lutimes, readFile, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseOrgConfig } from '../../shared/org-config.js';
import { writeTree } from '../cli/testkit.js';
import { preloadUserLayer, writeProfile } from '../profile/index.js';
import { layHome } from './lay.js';
import { writeSession, type Session } from './session.js';
import { memoryBucket } from './testkit.js';

const SMALL = 1000;
const big = (): string => randomBytes(SMALL).toString('hex');

describe('a file written into home while the lay runs', () => {
  for (const policy of ['layer-wins', 'keep-both'] as const) {
    it(`${policy}: is kept beside the layer's version as a conflict copy, whether it appeared or changed, before ready or after`, async (t) => {
      const { dir, store, repo } = await memoryBucket(t, 'lay-race');
      const layer: Record<string, string> = {
        'new.txt': 'the layer: new',
        'image.txt': 'the layer: image',
        'seeded.txt': 'the layer: seeded from a copy in home',
        'plain.txt': 'the layer: plain',
        'link.txt': 'the layer: a file where the image has a link',
        'dir-in-way.txt': 'the layer: a file',
        'big.bin': big(),
        'big-image.bin': big(),
      };
      await writeTree(join(dir, 'template'), { Documents: layer });
      await writeProfile(store, { version: 1, user: 'alice', displayName: '', layers: [], updated: new Date().toISOString() });
      await preloadUserLayer(repo, 'alice', { from: join(dir, 'template') });
      const home = join(dir, 'home');
      const docs = join(home, 'Documents');
      // The machine's own files: seeded.txt's content under another name (a seed: its file is finished on the async path).
      await writeTree(home, { Documents: { 'image.txt': 'the image', 'plain.txt': 'the image: plain', 'link.txt': { link: 'plain.txt' }, 'big-image.bin': big(), 'copy.txt': layer['seeded.txt'] as string } });
      const stateDir = join(dir, 'state');
      const org = parseOrgConfig({ version: 1, org: 'acme', store: { bucket: 'acme-strata' }, policies: { firstContact: policy }, folders: ['Documents'] }, 'test');
      const session: Session = { version: 1, source: 'test', org, user: 'alice', home, mode: org.mode, device: 'pc1', signedIn: new Date().toISOString() };
      await writeSession(stateDir, session);

      const user: Record<string, string> = {};
      const write = (name: string, text: string) => {
        writeFileSync(join(docs, name), text);
        user[name] = text;
      };
      let held = false;
      const r = await layHome({
        store,
        session,
        stateDir,
        smallFileBytes: SMALL,
        onEvent: (e) => {
          if (e.type === 'progress' && e.phase === 'ready' && !held) {
            held = true;
            write('new.txt', 'the user: made during the lay');
            write('image.txt', 'the user: changed during the lay');
            write('seeded.txt', 'the user: made during the lay, seeded');
            mkdirSync(join(docs, 'dir-in-way.txt'));
            writeFileSync(join(docs, 'dir-in-way.txt', 'inside.txt'), 'the user: in a folder made during the lay');
          }
          if (e.type === 'ready') {
            write('big.bin', 'the user: made after ready');
            write('big-image.bin', 'the user: changed after ready');
          }
        },
      });
      assert.ok(held, 'the lay was held after its walk');

      const names = await readdir(docs);
      for (const [name, text] of Object.entries(layer)) assert.equal(await readFile(join(docs, name), 'utf8'), text, `${name} is the layer's`);
      const copiesOf = (name: string) => {
        const dot = name.lastIndexOf('.');
        const copy = new RegExp(`^${name.slice(0, dot)}\\.sync-conflict-\\d{8}-\\d{6}-pc1(-\\d+)?\\${name.slice(dot)}$`);
        return names.filter((n) => copy.test(n));
      };
      for (const [name, text] of Object.entries(user)) {
        const kept = await Promise.all(copiesOf(name).map((c) => readFile(join(docs, c), 'utf8')));
        assert.ok(kept.includes(text), `the user's ${name} is kept as a conflict copy: ${names.join(', ')}`);
      }
      const [folderCopy, ...more] = copiesOf('dir-in-way.txt');
      assert.ok(folderCopy !== undefined && more.length === 0, `the folder is kept as one conflict copy: ${names.join(', ')}`);
      assert.equal(await readFile(join(docs, folderCopy, 'inside.txt'), 'utf8'), 'the user: in a folder made during the lay');
      // No copy of what nobody touched during the lay (layer-wins: the image's file or link is replaced); keep-both keeps the image's at first contact.
      const expected = new Set([...Object.keys(user), 'dir-in-way.txt', ...(policy === 'keep-both' ? ['plain.txt', 'link.txt'] : [])]);
      for (const name of Object.keys(layer)) if (!expected.has(name)) assert.deepEqual(copiesOf(name), [], `no copy of ${name}`);
      const reported = new Set(r.conflicts.map((c) => c.path));
      for (const name of expected) assert.ok(reported.has(`Documents/${name}`), `${name}'s copy is reported: ${[...reported].join(', ')}`);
    });
  }
});

// A link the user swaps in at a path where the layer has a link and home had one when the restore
// walked it: only the link the walk saw there is replaced, under either policy; another one is the
// user's, kept as a conflict copy. One pointing where the layer's does is the layer's already.
describe('a link swapped in while the lay runs', () => {
  for (const policy of ['layer-wins', 'keep-both'] as const) {
    it(`${policy}: the user's link is kept beside the layer's as a conflict copy; one to the layer's target is not`, async (t) => {
      const { dir, store, repo } = await memoryBucket(t, 'lay-race-link');
      await writeTree(join(dir, 'template'), { Documents: { 'same.lnk': { link: 'layer-same' }, 'other.lnk': { link: 'layer-other' }, 'equal.lnk': { link: 'layer-equal' } } });
      await writeProfile(store, { version: 1, user: 'alice', displayName: '', layers: [], updated: new Date().toISOString() });
      await preloadUserLayer(repo, 'alice', { from: join(dir, 'template') });
      const home = join(dir, 'home');
      const docs = join(home, 'Documents');
      // same.lnk: the layer's target at another time (keep-both leaves it too); the others: the image's own targets.
      await writeTree(home, { Documents: { 'same.lnk': { link: 'layer-same' }, 'other.lnk': { link: 'image-other' }, 'equal.lnk': { link: 'image-equal' } } });
      await lutimes(join(docs, 'same.lnk'), 1_000_000, 1_000_000);
      const stateDir = join(dir, 'state');
      const org = parseOrgConfig({ version: 1, org: 'acme', store: { bucket: 'acme-strata' }, policies: { firstContact: policy }, folders: ['Documents'] }, 'test');
      const session: Session = { version: 1, source: 'test', org, user: 'alice', home, mode: org.mode, device: 'pc1', signedIn: new Date().toISOString() };
      await writeSession(stateDir, session);

      const swap = (name: string, target: string) => {
        rmSync(join(docs, name), { force: true });
        symlinkSync(target, join(docs, name));
      };
      let held = false;
      const r = await layHome({
        store,
        session,
        stateDir,
        onEvent: (e) => {
          if (e.type === 'progress' && e.phase === 'ready' && !held) {
            held = true;
            swap('same.lnk', 'user-same');
            swap('other.lnk', 'user-other');
            swap('equal.lnk', 'layer-equal');
          }
        },
      });
      assert.ok(held, 'the lay was held after its walk');

      for (const name of ['same', 'other', 'equal']) assert.equal(await readlink(join(docs, `${name}.lnk`)), `layer-${name}`, `${name}.lnk is the layer's`);
      const names = await readdir(docs);
      const copiesOf = async (name: string) => Promise.all(names.filter((n) => n.startsWith(`${name}.sync-conflict-`)).map((n) => readlink(join(docs, n))));
      assert.deepEqual(await copiesOf('same'), ['user-same'], `the user's same.lnk is kept: ${names.join(', ')}`);
      assert.deepEqual((await copiesOf('other')).sort(), policy === 'keep-both' ? ['image-other', 'user-other'] : ['user-other'], `the user's other.lnk is kept: ${names.join(', ')}`);
      assert.deepEqual(await copiesOf('equal'), policy === 'keep-both' ? ['image-equal'] : [], `no copy of a link to the layer's target: ${names.join(', ')}`);
      const reported = new Set(r.conflicts.map((c) => c.path));
      for (const name of ['same', 'other']) assert.ok(reported.has(`Documents/${name}.lnk`), `${name}.lnk's copy is reported: ${[...reported].join(', ')}`);
    });
  }
});
