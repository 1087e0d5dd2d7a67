// Issue #5's sign-in scenarios end to end, on a real S3 server (Swift under `npm test`) with the
// real keychain: an admin's preload for a new hire, org layers with a user's copy-ups and
// whiteouts across machines, a new org layer version, and a VDI desktop wiped between sessions.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { preloadUserLayer, publishOrgLayer, writeProfile } from '../profile/index.js';
import { writeTree } from '../cli/testkit.js';
import { signOut } from './logout.js';
import type { SignInEvent } from './lay.js';
import { latestTree, listing, makeMachine, makeTestOrg, signInAndLay, signInSkipReason, syncPass, type TestOrg } from './testkit.js';

const skip = await signInSkipReason();

async function assign(org: TestOrg, user: string, layers: string[]): Promise<void> {
  await writeProfile(org.store, { version: 1, user, displayName: '', layers, updated: new Date().toISOString() });
}

describe('sign-in scenarios', { skip, timeout: 300_000 }, () => {
  it('a. an admin preloads a template for a new hire, who finds it on a fresh machine', async (t) => {
    const org = await makeTestOrg(t, { folders: ['Desktop', 'Documents'] });
    const tpl = join(org.dir, 'template');
    await writeTree(tpl, { Desktop: { 'welcome.txt': 'welcome aboard' }, Documents: { 'handbook.txt': 'the handbook', forms: { 'expenses.txt': 'form' } } });
    await preloadUserLayer(await org.admin(), 'newhire', { from: tpl });
    const m = await makeMachine(org, 'fresh');
    const events: SignInEvent['type'][] = [];
    const r = await signInAndLay(org, m, 'newhire', { onEvent: (e) => void (e.type === 'progress' || events.push(e.type)) });
    assert.deepEqual(await listing(m.home), await listing(tpl));
    assert.deepEqual(events, ['layers', 'ready', 'done']);
    assert.deepEqual([r.files, r.conflicts, r.removed], [3, [], []]);
    assert.equal(r.session.laid?.user?.layer, 'user/newhire');
  });

  it('b+c. an edit and a delete of org files follow the user to a second machine; org v2 updates only untouched files', async (t) => {
    const org = await makeTestOrg(t, { folders: ['.config/app', 'Documents'] });
    const v1 = join(org.dir, 'org-v1');
    await writeTree(v1, { '.config': { app: { 'app.conf': 'org default', 'bookmarks.html': 'org bookmarks' } }, Documents: { 'readme.txt': 'org readme v1' } });
    const admin = await org.admin();
    await publishOrgLayer(admin, 'org/dept', { from: v1 });
    await assign(org, 'alice', ['org/dept']);

    const m1 = await makeMachine(org, 'pc1');
    await signInAndLay(org, m1, 'alice');
    assert.deepEqual(await listing(m1.home), await listing(v1));
    await writeFile(join(m1.home, '.config/app/app.conf'), 'my settings');
    await unlink(join(m1.home, '.config/app/bookmarks.html'));
    assert.equal((await syncPass(m1)).status, 'synced');
    const user = await latestTree(admin, 'user/alice');
    assert.equal(user.get('.config/app/bookmarks.html')?.type, 'whiteout');
    assert.equal(user.get('.config/app/app.conf')?.type, 'file');
    assert.equal(user.has('Documents/readme.txt'), false, 'an untouched org file is not copied up');

    // The second machine's image already has the org's bookmarks, and a folder outside the layer.
    const m2 = await makeMachine(org, 'pc2');
    await writeTree(m2.home, { '.config': { app: { 'bookmarks.html': 'org bookmarks' }, other: { 'x.conf': 'not ours' } } });
    const r2 = await signInAndLay(org, m2, 'alice');
    const seen2 = await listing(m2.home);
    assert.equal(await readFile(join(m2.home, '.config/other/x.conf'), 'utf8'), 'not ours', 'what is outside the layer is left alone');
    delete seen2['.config/other/'];
    delete seen2['.config/other/x.conf'];
    assert.deepEqual(seen2, await listing(m1.home));
    assert.equal(await readFile(join(m2.home, '.config/app/app.conf'), 'utf8'), 'my settings');
    assert.deepEqual([r2.conflicts, r2.removed], [[], ['.config/app/bookmarks.html']]);
    assert.equal((await latestTree(admin, 'org/dept')).get('.config/app/bookmarks.html')?.type, 'file', 'the org layer keeps the file');

    const v2 = join(org.dir, 'org-v2');
    await writeTree(v2, { '.config': { app: { 'app.conf': 'org default v2', 'bookmarks.html': 'org bookmarks v2' } }, Documents: { 'readme.txt': 'org readme v2', 'new.txt': 'new in v2' } });
    await publishOrgLayer(admin, 'org/dept', { from: v2 });
    // Signing in again on the first machine, and on a third one, shows v2 under the user's changes.
    const m3 = await makeMachine(org, 'pc3');
    for (const m of [m1, m3]) {
      const r = await signInAndLay(org, m, 'alice');
      assert.deepEqual(r.conflicts, [], 'a file laid by an earlier sign-in is no local edit');
      assert.equal(await readFile(join(m.home, 'Documents/readme.txt'), 'utf8'), 'org readme v2');
      assert.equal(await readFile(join(m.home, 'Documents/new.txt'), 'utf8'), 'new in v2');
      assert.equal(await readFile(join(m.home, '.config/app/app.conf'), 'utf8'), 'my settings');
      await assert.rejects(readFile(join(m.home, '.config/app/bookmarks.html')), { code: 'ENOENT' });
    }
    assert.equal((await syncPass(m1)).status, 'synced');
    const after = await latestTree(admin, 'user/alice');
    assert.equal(after.has('Documents/readme.txt'), false, 'v2 files laid at sign-in are not copied up');
    assert.equal(after.has('Documents/new.txt'), false);
    assert.equal(after.get('.config/app/bookmarks.html')?.type, 'whiteout');
  });

  it('d. VDI: wiped between sessions, signing in again gives an identical layer, mostly seeded from the golden image', async (t) => {
    const org = await makeTestOrg(t, { mode: 'vdi', folders: ['Documents'], policies: { hotPaths: ['Documents/hot/'] } });
    const big = [randomBytes(1 << 20), randomBytes(1 << 20), randomBytes(1 << 20)];
    const tpl = join(org.dir, 'template');
    await writeTree(tpl, { Documents: { 'a.bin': big[0]!, 'b.bin': big[1]!, 'c.bin': big[2]!, 'notes.txt': 'notes', hot: { 'todo.txt': 'todo' } } });
    await preloadUserLayer(await org.admin(), 'vdi', { from: tpl });

    const m = await makeMachine(org, 'vdi');
    const first = await signInAndLay(org, m, 'vdi');
    assert.equal(first.bytesSeeded, 0);
    await writeFile(join(m.home, 'Documents/notes.txt'), 'notes, edited in session 1');
    assert.equal((await syncPass(m)).status, 'synced');
    const session1 = await listing(m.home);
    const out = await signOut({ stateDir: m.stateDir, wipe: true });
    assert.deepEqual([out.flushed, out.wiped], ['pass', ['Documents']]);

    // Reset to the golden image: the machine dir is gone; the image holds older copies of the big files.
    await rm(join(org.dir, 'vdi'), { recursive: true, force: true });
    await mkdir(join(m.home, 'Documents'), { recursive: true });
    const changed = Buffer.from(big[0]!);
    changed.fill(7, changed.length - 100);
    await writeFile(join(m.home, 'Documents/a.bin'), changed);
    const golden = join(org.dir, 'golden');
    await writeTree(golden, { 'b.bin': big[1]!, 'c.copy': big[2]! });
    const phases: string[] = [];
    const second = await signInAndLay(org, m, 'vdi', { seeds: [golden], smallFileBytes: 4096, onEvent: (e) => void (e.type === 'ready' && phases.push(`ready:${e.files}`)) });
    assert.deepEqual(await listing(m.home), session1, 'the layer is identical to the end of session 1');
    assert.deepEqual(phases, ['ready:2'], 'ready = the hot path and the small file');
    assert.ok(second.bytesSeeded > second.bytesDownloaded, `seeded ${second.bytesSeeded} vs downloaded ${second.bytesDownloaded}`);
    assert.ok(second.bytesSeeded >= 3 * (1 << 20) - 512 * 1024, `seeded ${second.bytesSeeded}`);
  });
});
