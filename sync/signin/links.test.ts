// Symlinks in the user layer as homes have them — absolute (~/.local/bin/tool -> /opt/tool/bin/tool),
// or climbing above home — are laid at sign-in as links, as live sync lays them; one such link
// failed the whole sign-in before (E_BAD_SYMLINK).
import assert from 'node:assert/strict';
import { mkdir, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { parseOrgConfig } from '../../shared/org-config.js';
import { takeSnapshot } from '../snapshot/index.js';
import { layHome } from './lay.js';
import { readSession, writeSession, type Session } from './session.js';
import { memoryBucket } from './testkit.js';

it('a sign-in lays absolute links and links above home as links', async (t) => {
  const { dir, store, repo } = await memoryBucket(t, 'links');
  const from = join(dir, 'from');
  await mkdir(join(from, '.local/bin'), { recursive: true });
  await writeFile(join(from, 'notes.txt'), 'notes');
  await symlink('/opt/tool/bin/tool', join(from, '.local/bin/tool'));
  await symlink('../../shared/projects', join(from, 'projects'));
  await takeSnapshot(repo, { root: from, layer: 'user/alice', device: 'pc1' });
  const home = join(dir, 'home');
  const stateDir = join(dir, 'state');
  const org = parseOrgConfig({ version: 1, org: 'acme', store: { bucket: 'acme-strata' } }, 'test');
  await writeSession(stateDir, { version: 1, source: 'test', org, user: 'alice', home, mode: org.mode, device: 'pc2', signedIn: new Date().toISOString() } satisfies Session);
  await layHome({ store, session: await readSession(stateDir), stateDir });
  assert.equal(await readlink(join(home, '.local/bin/tool')), '/opt/tool/bin/tool');
  assert.equal(await readlink(join(home, 'projects')), '../../shared/projects');
});
