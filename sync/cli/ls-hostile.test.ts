// `strata ls` against hostile trees: a small DAG of shared subtrees can name billions of paths,
// and a chain of trees can nest deeper than any real folder. ls must refuse them as restore does
// (E_BAD_TREE, one line, exit 1) instead of running out of memory.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { initRepository, openRepository } from '../repo/format.js';
import type { Repository } from '../repo/repository.js';
import type { TreeEntry } from '../repo/types.js';
import { DirStore } from '../store/dir.js';
import { cleanEnv, describeRun, strata } from './testkit.js';

const MTIME = 1_700_000_000_000;

async function saveAsLayer(repo: Repository, layer: string, root: string): Promise<void> {
  await repo.flush();
  const id = await repo.saveSnapshot({ version: 1, layer, device: 'evil', time: new Date(MTIME).toISOString(), root, parents: [] });
  await repo.writeHead(layer, 'evil', id);
}

describe('strata ls refuses hostile trees', () => {
  let tmp: string;
  let store: string;
  // A heap far below what listing a bomb would take: without the limits the child dies of it.
  const ls = (layer: string) => strata(['--store', store, 'ls', '--layer', layer], cleanEnv({ NODE_OPTIONS: '--max-old-space-size=256' }));

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'strata-ls-hostile-'));
    const dir = join(tmp, 'store');
    store = pathToFileURL(dir).href;
    await mkdir(dir);
    await initRepository(new DirStore(dir));
    const repo = await openRepository(new DirStore(dir));
    // 2^40 paths from 41 trees: every level names the level below twice.
    let bomb = await repo.saveTree({ entries: [] });
    for (let i = 0; i < 40; i++) {
      const entries: TreeEntry[] = ['a', 'b'].map((name) => ({ name, type: 'dir', mode: 0o755, mtimeMs: MTIME, subtree: bomb }));
      bomb = await repo.saveTree({ entries });
    }
    await saveAsLayer(repo, 'user/bomb', bomb);
    let deep = await repo.saveTree({ entries: [] });
    for (let i = 0; i < 600; i++) deep = await repo.saveTree({ entries: [{ name: 'd', type: 'dir', mode: 0o755, mtimeMs: MTIME, subtree: deep }] });
    await saveAsLayer(repo, 'user/deep', deep);
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  for (const [what, layer] of [
    ['shared subtrees that name 2^40 paths', 'user/bomb'],
    ['folders nested 600 deep', 'user/deep'],
  ] as const) {
    it(`${what}: E_BAD_TREE, one line, exit 1`, async () => {
      const r = await ls(layer);
      assert.equal(r.code, 1, describeRun(r));
      assert.equal(r.stdout, '', describeRun(r));
      assert.match(r.stderr, /^strata: E_BAD_TREE data\/[0-9a-f]{2}\/[0-9a-f]{64}: [^\n]+\n$/, describeRun(r));
    });
  }
});
