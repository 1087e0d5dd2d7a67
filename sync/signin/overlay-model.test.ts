// Randomized differential test of the layer overlay and first contact (DESIGN §1, §4): random org
// layers and a user layer — files, folders, symlinks and whiteouts, a path's kind differing from
// layer to layer — are laid by the real layHome (memory store, temp dir) onto a home that already
// holds random files, and the disk is compared with a model written from DESIGN's words:
//
// - the effective tree: the org layers in assigned order, then the user layer; for each path the
//   highest layer that mentions it wins; a whiteout hides the path and all below it; directory
//   listings are the union of the layers minus whiteouts; only the org config's folders are laid;
// - first contact: paths the layer knows win (layer-wins), or the local version is kept as a conflict
//   copy (keep-both: nothing lost; a local version some layer holds at that path is no loss);
//   paths the layer does not know are kept; whiteouts remove (keep-both: a local version no layer
//   holds goes aside instead);
// - then a sync pass adopts what first contact kept: the layers' overlay is the disk; the user edits
//   and deletes files, and a pass copies edited org files up and writes whiteouts for deleted ones,
//   leaving untouched org files out of the user layer; a new version of the org layers laid again
//   (on this machine and on a fresh one) updates the files the user left alone, and the user's
//   copies and deletes keep their word.
//
// OVERLAY_SEEDS=n runs n seeds (default 12) from OVERLAY_FROM (default random, printed); SEED=n
// replays one.
import assert from 'node:assert/strict';
import { lstat, mkdir, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it, type TestContext } from 'node:test';
import { parseOrgConfig, type FirstContactPolicy, type OrgConfig } from '../../shared/org-config.js';
import { syncOnce } from '../agent/index.js';
import { writeFlatTree } from '../agent/trees.js';
import { writeProfile } from '../profile/index.js';
import { contentKey, type Node } from '../plan/index.js';
import { openRepository, type Repository } from '../repo/index.js';
import { FORMAT_VERSION, type SnapshotId } from '../repo/types.js';
import { openAgentState } from '../state/index.js';
import type { MemoryStore } from '../store/memory.js';
import { makeRng, type Rng } from '../testing/random.js';
import { sessionFolder } from './folder.js';
import { layHome, type LayResult } from './lay.js';
import { readSession, writeSession, type Session } from './session.js';
import { latestTree, memoryBucket } from './testkit.js';

/** A path's entry, as the model sees it: 'dir', 'f:<text>', 'l:<target>', or 'w' (a whiteout). */
type V = string;
type Tree = Map<string, V>;

const FOLDER = 'Documents';
const NAMES = ['a', 'b', 'c'];
const TEXTS = ['one', 'two', 'six', 'ten'];
const TARGETS = ['t1', 't2'];

function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : Number(v);
}

function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

function under(p: string, dir: string): boolean {
  return p === dir || p.startsWith(`${dir}/`);
}

function sorted(t: Tree): Tree {
  return new Map([...t].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function show(t: Tree): string[] {
  return [...sorted(t)].map(([p, v]) => `${p} ${v}`);
}

// ---- the model, from DESIGN's words ----

/** DESIGN §1: each layer over the ones below; a path it mentions replaces what was there (a dir over a dir: their union), a whiteout removes it and all below. */
function overlayModel(layers: readonly Tree[]): Tree {
  const out: Tree = new Map();
  for (const layer of layers) {
    for (const [p, v] of sorted(layer)) {
      if (v === 'dir' && out.get(p) === 'dir') continue;
      for (const q of [...out.keys()]) if (under(q, p)) out.delete(q);
      if (v !== 'w') out.set(p, v);
    }
  }
  return out;
}

function inFolder(t: Tree): Tree {
  return new Map([...t].filter(([p]) => under(p, FOLDER)));
}

interface Expected {
  disk: Tree;
  /** Conflict copies by the path they were at: what they hold, relative to it ('' is the copy itself). */
  copies: Map<string, Tree>;
}

/**
 * DESIGN §4's first contact of `local` with the effective tree `effective` of `layers`. A local
 * version is "held" when some layer has that very version at that path (laid from the layer, it is
 * no local edit, and nothing is lost if it goes).
 */
function firstContactModel(layers: readonly Tree[], effective: Tree, local: Tree, policy: FirstContactPolicy): Expected {
  const held = (p: string, v: V): boolean => v !== 'dir' && layers.some((l) => l.get(p) === v);
  const whiteouts = new Set(layers.flatMap((l) => [...l].filter(([, v]) => v === 'w').map(([p]) => p)));
  const disk: Tree = new Map(effective);
  const copies = new Map<string, Tree>();
  const gone: string[] = [];
  /** keep-both: the local `p` goes aside unless a layer holds it; a dir with only what no layer holds in it, if anything. */
  const keepAside = (p: string): void => {
    const v = local.get(p) as V;
    if (v !== 'dir') {
      if (!held(p, v)) copies.set(p, new Map([['', v]]));
      return;
    }
    const kept: Tree = new Map();
    for (const [q, u] of local) {
      if (!q.startsWith(`${p}/`) || u === 'dir' || held(q, u)) continue;
      kept.set(q.slice(p.length + 1), u);
      for (let d = parentOf(q); d !== p; d = parentOf(d)) kept.set(d.slice(p.length + 1), 'dir');
    }
    if (kept.size > 0) copies.set(p, kept);
  };
  for (const [p, v] of sorted(local)) {
    if (gone.some((g) => under(p, g))) continue;
    if (!under(p, FOLDER)) {
      disk.set(p, v);
      continue;
    }
    const e = effective.get(p);
    if (e !== undefined) {
      if (e === 'dir' && v === 'dir') continue;
      gone.push(p);
      if (e !== v && policy === 'keep-both') keepAside(p);
    } else if (whiteouts.has(p)) {
      gone.push(p);
      if (policy === 'keep-both') keepAside(p);
    } else {
      disk.set(p, v);
    }
  }
  return { disk, copies };
}

// ---- random layers and disks ----

/** A random tree under FOLDER (and, now and then, outside it): files, dirs, links, and whiteouts if `whiteouts`. */
function randomTree(rng: Rng, whiteouts: boolean): Tree {
  const t: Tree = new Map([[FOLDER, 'dir']]);
  const fill = (dir: string, depth: number): void => {
    for (const name of NAMES) {
      if (!rng.chance(depth === 1 ? 0.7 : 0.45)) continue;
      const p = `${dir}/${name}`;
      const roll = rng.next();
      if (roll < 0.4) t.set(p, `f:${rng.pick(TEXTS)}`);
      else if (roll < 0.65 && depth < 3) {
        t.set(p, 'dir');
        fill(p, depth + 1);
      } else if (roll < 0.75) t.set(p, `l:${rng.pick(TARGETS)}`);
      else if (whiteouts) t.set(p, 'w');
      else t.set(p, `f:${rng.pick(TEXTS)}`);
    }
  };
  fill(FOLDER, 1);
  if (rng.chance(0.2)) {
    t.set('Other', 'dir');
    t.set('Other/a', `f:${rng.pick(TEXTS)}`);
  }
  return t;
}

/** A random change of `t`: some files get new texts, some paths go, some come. */
function edited(rng: Rng, t: Tree, fresh: () => string): Tree {
  const out: Tree = new Map(t);
  for (const [p, v] of t) {
    if (!out.has(p) || p === FOLDER) continue;
    const roll = rng.next();
    if (roll < 0.25 && v.startsWith('f:')) out.set(p, `f:${fresh()}`);
    else if (roll < 0.35) for (const q of [...out.keys()]) if (under(q, p)) out.delete(q);
  }
  const more = randomTree(rng, true);
  for (const [p, v] of more) if (!out.has(p) && out.get(parentOf(p)) === 'dir' && rng.chance(0.3)) out.set(p, v);
  return out;
}

// ---- the real thing ----

interface World {
  dir: string;
  store: MemoryStore;
  repo: Repository;
  /** content key → text, for every text written. */
  texts: Map<string, string>;
  /** Snapshot times go up by one second from here. */
  clock: number;
  /** Files written to layers so far: each gets an mtime of its own (a quick check takes equal size and mtime for equal content). */
  files: number;
}

/** The content key of `text` as one chunk (every text is shorter than a chunk); it is remembered. */
function known(w: World, text: string): string {
  const key = contentKey([w.repo.blobId(Buffer.from(text))]);
  w.texts.set(key, text);
  return key;
}

async function keyOf(w: World, text: string): Promise<string> {
  const key = known(w, text);
  await w.repo.addBlob('data', key, Buffer.from(text));
  return key;
}

/** Writes `t` as the layer's latest snapshot (an admin's). */
async function writeLayer(w: World, layer: string, t: Tree, parent?: SnapshotId): Promise<SnapshotId> {
  const flat = new Map<string, Node>();
  const chunks = new Map<string, string[]>();
  for (const [p, v] of sorted(t)) {
    if (v === 'dir') flat.set(p, { type: 'dir', mode: 0o755 });
    else if (v === 'w') flat.set(p, { type: 'whiteout' });
    else if (v.startsWith('l:')) flat.set(p, { type: 'symlink', target: v.slice(2), mtimeMs: 0 });
    else {
      const key = await keyOf(w, v.slice(2));
      chunks.set(key, [key]);
      flat.set(p, { type: 'file', size: Buffer.byteLength(v.slice(2)), mtimeMs: Date.UTC(2020, 0, 1) + 1000 * w.files++, mode: 0o644, content: key });
    }
  }
  const root = await writeFlatTree(w.repo, flat, chunks);
  await w.repo.flush();
  const time = new Date((w.clock += 1000)).toISOString();
  const id = await w.repo.saveSnapshot({ version: FORMAT_VERSION, layer, device: 'admin', time, root, parents: parent ? [parent] : [] });
  await w.repo.writeHead(layer, 'admin', id, time);
  return id;
}

function modelOf(w: World, t: ReadonlyMap<string, Node>): Tree {
  const out: Tree = new Map();
  for (const [p, n] of t) {
    if (n.type === 'dir') out.set(p, 'dir');
    else if (n.type === 'whiteout') out.set(p, 'w');
    else if (n.type === 'symlink') out.set(p, `l:${n.target}`);
    else out.set(p, `f:${w.texts.get(n.content) ?? `?${n.content}`}`);
  }
  return out;
}

async function writeDisk(home: string, t: Tree): Promise<void> {
  await mkdir(home, { recursive: true });
  for (const [p, v] of sorted(t)) {
    if (v === 'dir') await mkdir(join(home, p));
    else if (v.startsWith('l:')) await symlink(v.slice(2), join(home, p));
    else await writeFile(join(home, p), v.slice(2));
  }
}

async function readDisk(root: string, rel = '', out: Tree = new Map()): Promise<Tree> {
  for (const name of await readdir(join(root, rel))) {
    const p = rel === '' ? name : `${rel}/${name}`;
    const st = await lstat(join(root, p));
    if (st.isDirectory()) {
      out.set(p, 'dir');
      await readDisk(root, p, out);
    } else if (st.isSymbolicLink()) out.set(p, `l:${await readlink(join(root, p))}`);
    else out.set(p, `f:${await readFile(join(root, p), 'utf8')}`);
  }
  return out;
}

/** The disk with the conflict copies of `r` taken out, and those copies by the path they were at. */
function splitCopies(disk: Tree, conflicts: LayResult['conflicts']): Expected {
  const rest: Tree = new Map(disk);
  const copies = new Map<string, Tree>();
  for (const { path, copy } of conflicts) {
    assert.equal(parentOf(copy), parentOf(path), `the copy ${copy} of ${path} is beside it`);
    assert.match(copy.slice(copy.lastIndexOf('/') + 1), /\.sync-conflict-\d{8}-\d{6}-/);
    const held: Tree = new Map();
    for (const [p, v] of disk) {
      if (!under(p, copy)) continue;
      held.set(p === copy ? '' : p.slice(copy.length + 1), v);
      rest.delete(p);
    }
    if (held.get('') === 'dir') held.delete('');
    copies.set(path, held);
  }
  return { disk: rest, copies };
}

function showCopies(c: Map<string, Tree>): string[] {
  return [...c].sort(([a], [b]) => (a < b ? -1 : 1)).flatMap(([p, t]) => show(t).map((l) => `${p} :: ${l}`));
}

interface Machine {
  home: string;
  stateDir: string;
  lay: () => Promise<LayResult>;
  pass: () => Promise<void>;
}

async function machine(w: World, org: OrgConfig, name: string): Promise<Machine> {
  const home = join(w.dir, name, 'home');
  const stateDir = join(w.dir, name, 'state');
  await mkdir(home, { recursive: true });
  const { deviceId } = await openAgentState(stateDir);
  await writeSession(stateDir, { version: 1, source: 'test', org, user: 'alice', home, mode: org.mode, device: deviceId, signedIn: new Date().toISOString() } satisfies Session);
  return {
    home,
    stateDir,
    lay: async () => layHome({ store: w.store, session: await readSession(stateDir), stateDir }),
    pass: async () => {
      const r = await syncOnce({ stateDir, repo: await openRepository(w.store), folder: sessionFolder(await readSession(stateDir), stateDir) });
      assert.equal(r.status, 'synced', JSON.stringify(r));
    },
  };
}

async function oneSeed(t: TestContext, seed: number, trace: string[]): Promise<void> {
  const rng = makeRng(seed);
  const { dir, store, repo } = await memoryBucket(t, `overlay-${seed}`);
  const w: World = { dir, store, repo, texts: new Map(), clock: Date.now(), files: 0 };
  let n = 0;
  const fresh = (): string => {
    const text = `edit-${seed}-${n++}`;
    known(w, text);
    return text;
  };
  for (const text of TEXTS) known(w, text);

  const policy: FirstContactPolicy = rng.pick(['keep-both', 'layer-wins'] as const);
  const orgs: Tree[] = [];
  for (let i = rng.int(4); i > 0; i--) orgs.push(randomTree(rng, rng.chance(0.5)));
  const user = rng.chance(0.8) ? randomTree(rng, true) : undefined;
  const local = rng.chance(0.85) ? randomTree(rng, false) : new Map<string, V>();
  trace.push(`policy ${policy}`, ...orgs.map((o, i) => `org/o${i}: ${show(o).join(', ')}`), `user: ${user ? show(user).join(', ') : '(none)'}`, `local: ${show(local).join(', ')}`);

  const orgIds: SnapshotId[] = [];
  for (const [i, o] of orgs.entries()) orgIds.push(await writeLayer(w, `org/o${i}`, o));
  if (user) await writeLayer(w, 'user/alice', user);
  await writeProfile(store, { version: 1, user: 'alice', displayName: '', layers: orgs.map((_, i) => `org/o${i}`), updated: new Date().toISOString() });
  const org = parseOrgConfig({ version: 1, org: 'acme', store: { bucket: 'acme-strata' }, policies: { firstContact: policy }, folders: [FOLDER] }, 'test');

  // 1. First contact.
  const layers = [...orgs, ...(user ? [user] : [])];
  const effective = inFolder(overlayModel(layers));
  const m = await machine(w, org, 'pc1');
  await writeDisk(m.home, local);
  const r = await m.lay();
  const want = firstContactModel(layers, effective, local, policy);
  const got = splitCopies(await readDisk(m.home), r.conflicts);
  assert.deepEqual(show(got.disk), show(want.disk), 'the disk after first contact');
  assert.deepEqual(showCopies(got.copies), showCopies(want.copies), 'the conflict copies of first contact');

  // 2. A pass adopts what first contact kept: the layers' overlay is the disk.
  await m.pass();
  const overlayNow = async (): Promise<Tree> => inFolder(overlayModel([...(await Promise.all(orgs.map((_, i) => latestTree(repo, `org/o${i}`)))).map((l) => modelOf(w, l)), modelOf(w, await latestTree(repo, 'user/alice'))]));
  const inHome = async (): Promise<Tree> => inFolder(await readDisk(m.home));
  assert.deepEqual(show(await overlayNow()), show(await inHome()), 'after the first pass, the overlay is the disk');

  // 3. The user edits and deletes files; a pass copies edits of org files up and hides deleted ones.
  const orgOnly = inFolder(overlayModel(orgs));
  const userBefore = modelOf(w, await latestTree(repo, 'user/alice'));
  const disk = await inHome();
  const touched = new Set<string>();
  for (const [p, v] of disk) {
    if (!v.startsWith('f:') || [...touched].some((q) => under(p, q))) continue;
    const roll = rng.next();
    if (roll < 0.2) {
      await writeFile(join(m.home, p), fresh());
      touched.add(p);
    } else if (roll < 0.35) {
      await rm(join(m.home, p));
      touched.add(p);
    }
  }
  trace.push(`touched: ${[...touched].join(', ')}`);
  await m.pass();
  const after = await inHome();
  assert.deepEqual(show(await overlayNow()), show(after), 'after the edits, the overlay is the disk');
  const userAfter = modelOf(w, await latestTree(repo, 'user/alice'));
  for (const p of touched) {
    const was = orgOnly.get(p);
    if (was === undefined || userBefore.has(p)) continue;
    if (after.has(p)) assert.equal(userAfter.get(p), after.get(p), `the edit of the org file ${p} is copied up`);
    else assert.equal(userAfter.get(p), 'w', `the delete of the org file ${p} is a whiteout`);
  }
  for (const [p, v] of after) {
    if (v.startsWith('f:') && orgOnly.get(p) === v && !userBefore.has(p)) assert.equal(userAfter.has(p), false, `the untouched org file ${p} is not copied up`);
  }

  // 4. New org versions: laid again here and on a fresh machine, they show under the user's word.
  for (const [i, o] of orgs.entries()) {
    orgs[i] = edited(rng, o, fresh);
    await writeLayer(w, `org/o${i}`, orgs[i], orgIds[i]);
  }
  trace.push(...orgs.map((o, i) => `org/o${i} v2: ${show(o).join(', ')}`));
  const wantV2 = inFolder(overlayModel([...orgs, userAfter]));
  const again = await m.lay();
  assert.deepEqual(again.conflicts, [], 'no conflict copy when signing in again');
  assert.deepEqual(show(await inHome()), show(wantV2), 'signed in again after new org versions');
  const m2 = await machine(w, org, 'pc2');
  const fresh2 = await m2.lay();
  assert.deepEqual(fresh2.conflicts, []);
  assert.deepEqual(show(inFolder(await readDisk(m2.home))), show(wantV2), 'a fresh machine after new org versions');
}

const single = process.env.SEED !== undefined && process.env.SEED !== '';
const from = single ? envInt('SEED', 0) : envInt('OVERLAY_FROM', Math.floor(Math.random() * 2 ** 31));
const count = single ? 1 : envInt('OVERLAY_SEEDS', 12);

it(`the overlay and first contact match DESIGN's model (seeds ${from}..${from + count - 1})`, { timeout: 60_000 + count * 10_000 }, async (t) => {
  console.log(`overlay-model: seeds ${from}..${from + count - 1} (OVERLAY_FROM=${from} OVERLAY_SEEDS=${count} replays this run; SEED=n replays one seed)`);
  for (let seed = from; seed < from + count; seed++) {
    const trace: string[] = [];
    try {
      await oneSeed(t, seed, trace);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new Error(`overlay-model: failed for SEED=${seed}\n${trace.join('\n')}\n${message}`, { cause: err });
    }
  }
});
