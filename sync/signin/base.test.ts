// The machine's base: what findBase takes as the image's own paths after a lay, and the record
// the agent reads back (sync/agent/base.ts), with its damage refused.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { readBase, writeBase } from '../agent/index.js';
import { writeTree } from '../cli/testkit.js';
import { isStrataError } from '../errors.js';
import { withoutWhiteouts } from '../plan/index.js';
import { tree } from '../plan/testkit.js';
import { makeExcluder } from '../watch/index.js';
import { findBase } from './base.js';

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
    assert.deepEqual(Object.fromEntries([...base].sort(([a], [b]) => (a < b ? -1 : 1))), {
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
});

describe('the base record', () => {
  it('round-trips, and a missing one is an empty base', async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'folders', 'f', 'base.json');
    assert.equal((await readBase(file)).size, 0);
    const base = new Map([['Documents', 'dir'], ['Documents/a b.txt', 'file'], ['l', 'symlink']] as const);
    await writeBase(file, base);
    assert.deepEqual([...(await readBase(file))], [...base]);
  });

  it('refuses a damaged record, naming it, rather than whiting out what it made up', async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'base.json');
    for (const text of ['{', '{"version":2,"paths":[]}', '{"version":1}', '{"version":1,"paths":[["../etc","file"]]}', '{"version":1,"paths":[["a//b","file"]]}', '{"version":1,"paths":[["a","fifo"]]}', '{"version":1,"paths":[["/a","file"]]}']) {
      await writeFile(file, text);
      await assert.rejects(readBase(file), (e) => isStrataError(e, 'E_BAD_STATE') && e.path === file && /own files is damaged/.test(e.message), text);
    }
  });
});
