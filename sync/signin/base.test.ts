// The machine's base: what findBase takes as the image's own paths after a lay, and the record
// the agent reads back (sync/agent/base.ts), with its damage refused.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { folderFiles, folderStateDir, readBase, readRecordedBase, syncOnce, writeBase } from '../agent/index.js';
import { writeTree } from '../cli/testkit.js';
import { isStrataError } from '../errors.js';
import { withoutWhiteouts } from '../plan/index.js';
import { tree } from '../plan/testkit.js';
import { makeExcluder } from '../watch/index.js';
import { parseOrgConfig } from '../../shared/org-config.js';
import { publishOrgLayer, writeProfile } from '../profile/index.js';
import { openRepository } from '../repo/index.js';
import { openAgentState } from '../state/index.js';
import { caseInsensitiveDir } from '../testing/case-insensitive-disk.js';
import { findBase } from './base.js';
import { sessionFolder } from './folder.js';
import { layHome } from './lay.js';
import { readSession, writeSession, type Session } from './session.js';
import { memoryBucket } from './testkit.js';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-base-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('findBase', () => {
  it('takes what first contact found and the paths the layer does not know, nothing laid, excluded or made', async (t) => {
    const home = await tempDir(t);
    await writeTree(home, {
      Documents: { 'laid.txt': 'the layer', 'image.txt': 'the image', 'x.log': 'excluded', 'a.sync-conflict-20260101-000000-dev.txt': 'first contact\'s copy', Old: { 'deep.txt': 'image', Sub: { 'deeper.txt': 'image' } } },
      Apps: { 'tool.cfg': 'image' },
      Music: { 'song.mp3': 'not in the folders' },
      link: { link: 'Apps' },
    });
    const laid = withoutWhiteouts(tree({ 'Documents/laid.txt': 'L', 'Apps/': '' }));
    const exclude = makeExcluder(['/*', '!/Documents/', '!/Apps/', '!/link', '*.log']);
    const base = await findBase({
      home,
      tree: laid,
      found: [['Documents/laid.txt', 'file'], ['Documents', 'dir'], ['Apps', 'dir'], ['Documents/old.log', 'file']],
      exclude,
      made: new Set(['Documents/a.sync-conflict-20260101-000000-dev.txt']),
    });
    assert.deepEqual(Object.fromEntries([...base.paths].sort(([a], [b]) => (a < b ? -1 : 1))), {
      Apps: 'dir',
      'Apps/tool.cfg': 'file',
      Documents: 'dir',
      'Documents/Old': 'dir',
      'Documents/Old/Sub': 'dir',
      'Documents/Old/Sub/deeper.txt': 'file',
      'Documents/Old/deep.txt': 'file',
      'Documents/image.txt': 'file',
      'Documents/laid.txt': 'file',
      link: 'symlink',
    });
  });
  it('on a case-insensitive disk, a folder of the layer named in another case on the disk is the layer\'s: the files laid in it are not the image\'s', async (t) => {
    const home = await tempDir(t);
    // The image's folders are `documents/Sub`; the layer's `Documents/sub`, whose files the lay wrote into them.
    await writeTree(home, { documents: { 'laid.txt': 'the layer', 'image.txt': 'the image', Sub: { 'deep.txt': 'the layer', 'old.txt': 'the image' } } });
    const laid = withoutWhiteouts(tree({ 'Documents/laid.txt': 'L', 'Documents/sub/deep.txt': 'D' }));
    const base = await findBase({ home, tree: laid, found: [['documents', 'dir'], ['documents/Sub', 'dir']], exclude: makeExcluder([]), made: new Set(), caseInsensitive: true });
    assert.deepEqual(Object.fromEntries([...base.paths].sort(([a], [b]) => (a < b ? -1 : 1))), {
      documents: 'dir',
      'documents/Sub': 'dir',
      'documents/Sub/old.txt': 'file',
      'documents/image.txt': 'file',
    });
  });

  it('on a real case-insensitive disk, the files a lay writes into the image\'s folder of another case are not the image\'s', async (t) => {
    const home = await caseInsensitiveDir(t);
    if (home === undefined) return;
    const { dir, store, repo } = await memoryBucket(t, 'base-case');
    // An org layer decides a file the image has too: the image's copy there is covered, not the base.
    await writeTree(join(dir, 'v1'), { Documents: { 'org.txt': 'the org\'s' } });
    await publishOrgLayer(repo, 'org/dept', { from: join(dir, 'v1') });
    await writeProfile(store, { version: 1, user: 'alice', displayName: '', layers: ['org/dept'], updated: new Date().toISOString() });
    // The whole home: the org's folder list is matched by exact name (watch/exclude.ts).
    const org = parseOrgConfig({ version: 1, org: 'acme', mode: 'vdi', store: { bucket: 'acme-strata' }, folders: ['.'] }, 'test');
    const session = async (stateDir: string, at: string): Promise<Session> => {
      const { deviceId } = await openAgentState(stateDir);
      const s: Session = { version: 1, source: 'test', org, user: 'alice', home: at, mode: 'vdi', device: deviceId, signedIn: new Date().toISOString() };
      await writeSession(stateDir, s);
      return s;
    };
    // A first machine puts the user's own file into the layer.
    const first = join(dir, 'a', 'home');
    await writeTree(first, { Documents: { 'mine.txt': 'the user made this' } });
    const a = join(dir, 'a', 'state');
    await layHome({ store, session: await session(a, first), stateDir: a });
    assert.equal((await syncOnce({ stateDir: a, repo: await openRepository(store), folder: sessionFolder(await readSession(a), a) })).status, 'synced');
    // The next machine's image names the folder `documents`.
    await writeTree(home, { documents: { 'image.txt': 'the image', 'ORG.txt': 'the image\'s' } });
    const b = join(dir, 'b', 'state');
    await layHome({ store, session: await session(b, home), stateDir: b, caseInsensitive: true });
    assert.equal(await readFile(join(home, 'documents', 'mine.txt'), 'utf8'), 'the user made this');
    const base = await readBase(folderFiles(folderStateDir(b, sessionFolder(await readSession(b), b))).baseFile);
    assert.deepEqual([...base.paths].sort(), [['documents', 'dir'], ['documents/image.txt', 'file']]);
    assert.deepEqual([...base.covered], [['documents/ORG.txt', 'file']]);
  });
});

describe('the base record', () => {
  it('round-trips, and a missing one is an empty base', async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'folders', 'f', 'base.json');
    assert.equal(await readRecordedBase(file), undefined);
    assert.deepEqual([(await readBase(file)).paths.size, (await readBase(file)).covered.size], [0, 0]);
    const base = { paths: new Map([['Documents', 'dir'], ['Documents/a b.txt', 'file'], ['l', 'symlink']] as const), covered: new Map([['Documents/org.txt', 'file']] as const) };
    await writeBase(file, base);
    const back = await readBase(file);
    assert.deepEqual([[...back.paths], [...back.covered]], [[...base.paths], [...base.covered]]);
    // An older agent's record has no covered paths.
    await writeFile(file, '{"version":1,"paths":[["Documents","dir"]]}');
    assert.deepEqual([[...(await readBase(file)).paths], (await readBase(file)).covered.size], [[['Documents', 'dir']], 0]);
  });

  it('refuses a damaged record, naming it, rather than whiting out what it made up', async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'base.json');
    for (const text of ['{', '{"version":2,"paths":[]}', '{"version":1}', '{"version":1,"paths":[["../etc","file"]]}', '{"version":1,"paths":[["a//b","file"]]}', '{"version":1,"paths":[["a","fifo"]]}', '{"version":1,"paths":[["/a","file"]]}', '{"version":1,"paths":[],"covered":{}}', '{"version":1,"paths":[],"covered":[["../a","file"]]}']) {
      await writeFile(file, text);
      await assert.rejects(readBase(file), (e) => isStrataError(e, 'E_BAD_STATE') && e.path === file && /own files is damaged/.test(e.message), text);
    }
  });
});
