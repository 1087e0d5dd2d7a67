// A preload over a user layer that two devices sync, on a real S3 server (Swift's s3api under
// `npm test`; skips locally without one): the devices' heads have diverged, and one of them moves
// while the preload runs. Nothing of the user's may be lost or hidden, the devices' next passes
// bring the template's files in, and a template file that collides with a user's version keeps
// both, the newer at the name (DESIGN §3: no version is lost silently). Skips without a server.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { assertSame, converge, Device, initStore, LAYER } from '../agent/testkit.js';
import { openRepository } from '../repo/index.js';
import { writeFiles } from '../snapshot/testkit.js';
import { BeforeSnapshot } from '../testing/before-snapshot.js';
import { makeTestS3Store, skipWithoutS3 } from '../testing/s3.js';
import { preloadUserLayer } from './index.js';

test('a preload over a layer two devices sync, one moving its head meanwhile: nothing of the user is lost, colliding files keep both versions', { skip: skipWithoutS3 }, async (t) => {
  const { store, cleanup } = await makeTestS3Store();
  const base = await mkdtemp(join(tmpdir(), 'strata-preload-devices-'));
  t.after(async () => {
    await cleanup();
    await rm(base, { recursive: true, force: true });
  });
  await initStore(store);
  const a = await Device.create(base, 'deva', store);
  const b = await Device.create(base, 'devb', store);
  t.after(async () => {
    await a.close();
    await b.close();
  });
  await a.write('docs/guide.txt', 'my own guide', new Date('2024-06-01T09:00:00Z'));
  await a.write('settings/x.ini', 'x=1');
  await a.write('shared.txt', 'same');
  await converge([a, b]);
  // The heads diverge: each device has a change the other has not merged.
  await a.write('from-a.txt', 'a');
  await a.pass();
  await b.write('from-b.txt', 'b');
  await b.pass();

  const template = join(base, 'template');
  await writeFiles(template, { 'docs/guide.txt': 'the company guide', 'welcome.txt': 'welcome', settings: 'a file where the user has a folder', 'shared.txt': 'same' });
  // a moves its head while the preload runs (after it read the layer, before it writes).
  const racing = new BeforeSnapshot(store, LAYER, async () => {
    await a.write('during.txt', 'written during the preload');
    await a.pass();
  });
  const r = await preloadUserLayer(await openRepository(racing), 'alice', { from: template });
  assert.equal(r.changed, true);

  await converge([a, b]);
  const listing = await assertSame([a, b]);
  // Every version is kept: where they collide, the newer at the name (the template's guide, copied
  // just now), the other beside it; a folder keeps its name over a file.
  assert.equal(listing['docs/guide.txt'], 'the company guide');
  assert.equal(listing['settings/x.ini'], 'x=1');
  for (const [path, text] of Object.entries({ 'from-a.txt': 'a', 'from-b.txt': 'b', 'during.txt': 'written during the preload', 'welcome.txt': 'welcome', 'shared.txt': 'same' })) {
    assert.equal(listing[path], text, path);
  }
  const copies = (prefix: string) => Object.entries(listing).filter(([p]) => p.startsWith(prefix) && p.includes('.sync-conflict-'));
  assert.deepEqual(copies('docs/guide').map(([, text]) => text), ['my own guide'], JSON.stringify(listing));
  assert.deepEqual(copies('settings').map(([, text]) => text), ['a file where the user has a folder'], JSON.stringify(listing));
  assert.deepEqual(copies('shared').length, 0);
});
