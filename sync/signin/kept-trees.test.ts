// The lay keeps the trees it read in the folder's tree files (agent/tree-files.ts), so the agent's
// first pass after a sign-in fetches none of them again; keeping them is never worth a failed sign-in.
// A repeat sign-in from the same state dir reads them from there and fetches only the rest; a file
// there that is not its tree is fetched again, and no tree dir is a first sign-in's case.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { parseOrgConfig } from '../../shared/org-config.js';
import { folderFiles, folderStateDir, syncOnce } from '../agent/index.js';
import { writeTree } from '../cli/testkit.js';
import { preloadUserLayer, publishOrgLayer, writeProfile } from '../profile/index.js';
import { blobId } from '../chunker/hash.js';
import { openRepository, type Repository } from '../repo/index.js';
import type { BlobId } from '../repo/types.js';
import { openAgentState } from '../state/index.js';
import { PackGets, treesOf } from '../testing/tree-gets.js';
import { sessionFolder } from './folder.js';
import { layHome, type SignInEvent } from './lay.js';
import { readSession, writeSession, type Session } from './session.js';
import { listing, memoryBucket } from './testkit.js';

/** alice over org/dept, each layer a few folders deep; her machine's bucket reads recorded. */
async function setup(t: TestContext) {
  const { dir, store, repo } = await memoryBucket(t, 'kept-trees');
  await writeTree(join(dir, 'org'), { Documents: { Forms: { 'a.txt': 'form a', Old: { 'b.txt': 'form b' } }, 'policy.txt': 'policy' } });
  await publishOrgLayer(repo, 'org/dept', { from: join(dir, 'org') });
  await writeTree(join(dir, 'template'), { Documents: { Mine: { 'm.txt': 'mine', Deep: { Deeper: { 'd.txt': 'deep' } } }, 'note.txt': 'note' } });
  await preloadUserLayer(repo, 'alice', { from: join(dir, 'template') });
  await writeProfile(store, { version: 1, user: 'alice', displayName: '', layers: ['org/dept'], updated: new Date().toISOString() });
  const home = join(dir, 'home');
  const stateDir = join(dir, 'state');
  const { deviceId } = await openAgentState(stateDir);
  const org = parseOrgConfig({ version: 1, org: 'acme', store: { bucket: 'acme-strata' }, folders: ['Documents'] }, 'test');
  await writeSession(stateDir, { version: 1, source: 'test', org, user: 'alice', home, mode: org.mode, device: deviceId, signedIn: new Date().toISOString() } satisfies Session);
  const gets = new PackGets(store);
  const pass = async () => syncOnce({ stateDir, repo: await openRepository(gets), folder: sessionFolder(await readSession(stateDir), stateDir) });
  /** Every tree of the layers laid. */
  const laidTrees = async (): Promise<Set<BlobId>> => {
    await repo.loadIndex();
    const roots = await Promise.all(['org/dept', 'user/alice'].map(async (l) => (await repo.latestSnapshot(l))!.snapshot.root));
    return new Set((await Promise.all(roots.map((r) => treesOf(repo, r)))).flatMap((s) => [...s]));
  };
  const session = await readSession(stateDir);
  const { treeDir } = folderFiles(folderStateDir(stateDir, sessionFolder(session, stateDir)));
  return { repo, gets, home, stateDir, treeDir, pass, laidTrees };
}

/** The id of the tree at `path` (a dir, '' for the root) of `layer`'s latest snapshot. */
async function treeAt(repo: Repository, layer: string, path: string): Promise<BlobId> {
  await repo.loadIndex();
  let id = (await repo.latestSnapshot(layer))!.snapshot.root;
  for (const name of path.split('/').filter((n) => n !== '')) {
    const e = (await repo.loadTree(id)).entries.find((x) => x.name === name);
    assert.ok(e?.type === 'dir', `${layer} has a dir ${path}`);
    id = e.subtree;
  }
  return id;
}

/** What alice's home holds once laid. */
const LAID = ['Documents/Forms/Old/b.txt', 'Documents/Forms/a.txt', 'Documents/Mine/Deep/Deeper/d.txt', 'Documents/Mine/m.txt', 'Documents/note.txt', 'Documents/policy.txt'];

describe("the agent's first pass after a sign-in", () => {
  it('fetches none of the trees the lay read', async (t) => {
    const { repo, gets, stateDir, pass, laidTrees } = await setup(t);
    const session = await readSession(stateDir);
    const { treeDir } = folderFiles(folderStateDir(stateDir, sessionFolder(session, stateDir)));
    let keptAtReady: string[] | undefined;
    const onEvent = (e: SignInEvent): void => {
      if (e.type === 'ready') keptAtReady = existsSync(treeDir) ? readdirSync(treeDir) : [];
    };
    await layHome({ store: gets, session, stateDir, onEvent });
    assert.deepEqual(keptAtReady, [], 'none written before ready: keeping them never delays it');
    const trees = await laidTrees();
    assert.equal(gets.fetched(repo, trees).size, trees.size, 'the lay read them all from the bucket');
    gets.ranges = [];
    const r = await pass();
    assert.equal(r.status, 'synced');
    assert.deepEqual(gets.fetched(repo, trees), new Set(), 'no tree fetched again');
  });

  it('a tree store that cannot be written costs the sign-in nothing', async (t) => {
    const { gets, home, stateDir, pass } = await setup(t);
    const session = await readSession(stateDir);
    // A file where the folder's trees dir goes: no tree can be kept there.
    const { treeDir } = folderFiles(folderStateDir(stateDir, sessionFolder(session, stateDir)));
    await writeTree(join(treeDir, '..'), {});
    await writeFile(treeDir, 'in the way');
    const laid = await layHome({ store: gets, session, stateDir });
    assert.deepEqual(laid.warnings, []);
    assert.deepEqual(Object.keys(await listing(home)).filter((p) => p.endsWith('.txt')).sort(), LAID);
    const r = await pass();
    assert.equal(r.status, 'synced');
  });
});

describe('a repeat sign-in from the same state dir', () => {
  it('fetches none of the trees kept there', async (t) => {
    const { repo, gets, stateDir, pass, laidTrees } = await setup(t);
    await layHome({ store: gets, session: await readSession(stateDir), stateDir });
    const trees = await laidTrees();
    gets.ranges = [];
    const laid = await layHome({ store: gets, session: await readSession(stateDir), stateDir });
    assert.deepEqual(laid.warnings, []);
    assert.deepEqual(gets.fetched(repo, trees), new Set(), 'no tree fetched');
    assert.deepEqual(gets.ranges, [], 'nothing read from a pack: the files are laid already');
    const r = await pass();
    assert.equal(r.status, 'synced');
    assert.deepEqual(gets.fetched(repo, trees), new Set(), 'nor by the pass after it');
  });

  it('fetches a kept tree whose file is torn or holds another tree, and lays the layer as it is', async (t) => {
    const { repo, gets, home, stateDir, treeDir, laidTrees } = await setup(t);
    await layHome({ store: gets, session: await readSession(stateDir), stateDir });
    const before = await listing(home);
    const forms = await treeAt(repo, 'org/dept', 'Documents/Forms');
    const old = await treeAt(repo, 'org/dept', 'Documents/Forms/Old');
    const deep = await treeAt(repo, 'user/alice', 'Documents/Mine/Deep');
    // Forms' file holds Old's tree (a valid tree, not Forms'); Deep's is cut short.
    await writeFile(join(treeDir, forms), await readFile(join(treeDir, old)));
    await truncate(join(treeDir, deep), 10);
    // Home must be laid again from the trees: a wrong one would lay other files.
    await rm(join(home, 'Documents'), { recursive: true });
    gets.ranges = [];
    const laid = await layHome({ store: gets, session: await readSession(stateDir), stateDir });
    assert.deepEqual(laid.warnings, []);
    const trees = await laidTrees();
    assert.deepEqual(gets.fetched(repo, trees), new Set([forms, deep]), 'the two bad ones fetched, no other');
    assert.deepEqual(await listing(home), before);
    for (const id of [forms, deep]) assert.equal(blobId(await readFile(join(treeDir, id)), repo.format.hash), id, 'the bucket\'s tree kept in its place');
  });

  it('with no tree dir fetches every tree, as a first sign-in does, and keeps them', async (t) => {
    const { repo, gets, home, stateDir, treeDir, laidTrees } = await setup(t);
    await layHome({ store: gets, session: await readSession(stateDir), stateDir });
    await rm(treeDir, { recursive: true });
    gets.ranges = [];
    const laid = await layHome({ store: gets, session: await readSession(stateDir), stateDir });
    assert.deepEqual(laid.warnings, []);
    const trees = await laidTrees();
    assert.equal(gets.fetched(repo, trees).size, trees.size);
    assert.deepEqual(Object.keys(await listing(home)).filter((p) => p.endsWith('.txt')).sort(), LAID);
    assert.deepEqual(new Set(readdirSync(treeDir)), trees);
  });
});
