// Folders at sign-in (lay.ts, restore's folderMetaLater): the ready half creates each folder with
// the layer's mode (owner rwx added, as the umask allows) and leaves the rest of the folder
// metadata to the rest's restore. A private folder is never more open than the layer says, not
// even at ready; once done, every folder has the layer's mode and mtime.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync } from 'node:fs';
import { chmod, lstat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { parseOrgConfig } from '../../shared/org-config.js';
import { writeTree } from '../cli/testkit.js';
import { preloadUserLayer, writeProfile } from '../profile/index.js';
import { layHome, SMALL_FILE_BYTES } from './lay.js';
import { writeSession, type Session } from './session.js';
import { memoryBucket } from './testkit.js';

const DIR_MTIME = new Date('2025-06-01T08:00:00Z');

it('a private folder has its mode at ready, and every folder its mode and mtime when done', async (t) => {
  const { dir, store, repo } = await memoryBucket(t, 'folder-meta');
  const template = join(dir, 'template');
  // big.bin is over the small-file size: it is laid after ready, by the rest's restore.
  await writeTree(template, { '.ssh': { id_ed25519: { mode: 0o600, data: 'private key' } }, Documents: { 'a.txt': 'alpha', 'big.bin': randomBytes(SMALL_FILE_BYTES + 1) } });
  await chmod(join(template, '.ssh'), 0o700);
  await chmod(join(template, 'Documents'), 0o750);
  for (const d of ['.ssh', 'Documents']) await utimes(join(template, d), DIR_MTIME, DIR_MTIME);
  await writeProfile(store, { version: 1, user: 'alice', displayName: '', layers: [], updated: new Date().toISOString() });
  await preloadUserLayer(repo, 'alice', { from: template });

  const home = join(dir, 'home');
  const stateDir = join(dir, 'state');
  const org = parseOrgConfig({ version: 1, org: 'acme', store: { bucket: 'acme-strata' }, folders: ['.ssh', 'Documents'] }, 'test');
  const session: Session = { version: 1, source: 'test', org, user: 'alice', home, mode: org.mode, device: 'pc1', signedIn: new Date().toISOString() };
  await writeSession(stateDir, session);

  // Looked at synchronously in the event: the rest's restore has not started yet.
  let ready: { ssh: number; big: boolean } | undefined;
  await layHome({
    store,
    session,
    stateDir,
    onEvent: (e) => {
      if (e.type === 'ready') ready = { ssh: lstatSync(join(home, '.ssh')).mode & 0o777, big: existsSync(join(home, 'Documents/big.bin')) };
    },
  });
  assert.ok(ready, 'a ready event');
  assert.equal(ready.ssh.toString(8), '700', '.ssh at ready');
  assert.equal(ready.big, false, 'the large file comes after ready');

  for (const [d, mode] of [['.ssh', 0o700], ['Documents', 0o750]] as const) {
    const st = await lstat(join(home, d));
    assert.equal((st.mode & 0o777).toString(8), mode.toString(8), `${d} mode`);
    assert.equal(st.mtimeMs, DIR_MTIME.getTime(), `${d} mtime`);
  }
});
