// The lay's two restores and home's walk (lay.ts): the rest takes what the ready half's walk of
// home learned, and looks again only at what the ready half wrote; a seed the user changed
// between the two is only a failed seed (its chunks are verified at copy time), never wrong bytes.
import assert from 'node:assert/strict';
import fs, { writeFileSync } from 'node:fs';
import { cp, readFile, utimes } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join, relative } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { parseOrgConfig } from '../../shared/org-config.js';
import { writeTree, type Spec } from '../cli/testkit.js';
import { preloadUserLayer, writeProfile } from '../profile/index.js';
import { makeRng, testSeed } from '../testing/random.js';
import { layHome, type LayOptions } from './lay.js';
import { writeSession, type Session } from './session.js';
import { memoryBucket } from './testkit.js';

const MTIME = new Date('2026-03-01T10:00:00Z');
const SMALL = 4096;

/** Documents/d0..d3, each with small files and one large file (above SMALL: the rest's). */
function layerSpec(seed: string): { spec: Spec; large: Map<string, Buffer> } {
  const rng = makeRng(testSeed(seed));
  const large = new Map<string, Buffer>();
  const docs: Spec = {};
  for (let d = 0; d < 4; d++) {
    const folder: Spec = { sub: { 'note.txt': `note ${d}` } };
    for (let f = 0; f < 3; f++) folder[`s${f}.txt`] = `small file ${d}/${f}`;
    const big = Buffer.from(rng.bytes(64 * 1024));
    large.set(`Documents/d${d}/big.bin`, big);
    folder['big.bin'] = big;
    docs[`d${d}`] = folder;
  }
  return { spec: { Documents: docs }, large };
}

function filesOf(spec: Spec, at = ''): string[] {
  return Object.entries(spec).flatMap(([name, v]) => (typeof v === 'string' || Buffer.isBuffer(v) ? [at + name] : filesOf(v as Spec, `${at}${name}/`)));
}

async function setup(t: TestContext, seed: string) {
  const { dir, store, repo } = await memoryBucket(t, 'rest-walk');
  const { spec, large } = layerSpec(seed);
  const template = join(dir, 'template');
  await writeTree(template, spec);
  for (const rel of filesOf(spec)) await utimes(join(template, rel), MTIME, MTIME);
  await writeProfile(store, { version: 1, user: 'alice', displayName: '', layers: [], updated: new Date().toISOString() });
  await preloadUserLayer(repo, 'alice', { from: template });
  const home = join(dir, 'home');
  const stateDir = join(dir, 'state');
  const org = parseOrgConfig({ version: 1, org: 'acme', store: { bucket: 'acme-strata' }, folders: ['Documents'] }, 'test');
  const session: Session = { version: 1, source: 'test', org, user: 'alice', home, mode: org.mode, device: 'pc1', signedIn: new Date().toISOString() };
  await writeSession(stateDir, session);
  const lay = (more: Partial<LayOptions> = {}) => layHome({ store, session, stateDir, smallFileBytes: SMALL, ...more });
  return { dir, template, home, large, lay };
}

type Counts = Map<string, number>;

/** Counts readdirSync and lstatSync calls by path while `work` runs (the restore's walk and folder checks are synchronous). */
async function counting<T>(work: () => Promise<T>): Promise<{ result: T; readdirs: Counts; lstats: Counts }> {
  const readdirs: Counts = new Map();
  const lstats: Counts = new Map();
  // node:fs's types declare its functions read-only; the module object takes the replacement all the same.
  const writable = fs as { lstatSync: typeof fs.lstatSync; readdirSync: typeof fs.readdirSync };
  const { lstatSync, readdirSync } = fs;
  const counted = <F>(fn: F, calls: Counts): F =>
    ((path: fs.PathLike, ...rest: unknown[]) => {
      calls.set(String(path), (calls.get(String(path)) ?? 0) + 1);
      return (fn as (...a: unknown[]) => unknown)(path, ...rest);
    }) as F;
  writable.lstatSync = counted(lstatSync, lstats);
  writable.readdirSync = counted(readdirSync, readdirs);
  syncBuiltinESMExports();
  try {
    return { result: await work(), readdirs, lstats };
  } finally {
    writable.lstatSync = lstatSync;
    writable.readdirSync = readdirSync;
    syncBuiltinESMExports();
  }
}

/** The calls under `home`, by path relative to it, where more than `most`. */
function over(calls: Counts, home: string, paths: readonly string[], most: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of paths) {
    const n = calls.get(join(home, p)) ?? 0;
    if (n > most) out[relative(home, join(home, p))] = n;
  }
  return out;
}

describe('sign-in: the rest restore and the ready half walk', () => {
  it('the rest takes the ready half walk of home: each folder is listed once in the lay, each file it did not write looked at once', async (t) => {
    const { template, home, large, lay } = await setup(t, 'rest walk counts');
    // A golden image holding the layer's files as laid (the quick check takes them), but for the
    // large file of d0 (the rest writes it) and a small file of d1 (the ready half writes it).
    await cp(template, home, { recursive: true });
    const files: string[] = [];
    const folders = ['Documents'];
    for (let d = 0; d < 4; d++) {
      folders.push(`Documents/d${d}`, `Documents/d${d}/sub`);
      files.push(`Documents/d${d}/sub/note.txt`, `Documents/d${d}/big.bin`, ...[0, 1, 2].map((f) => `Documents/d${d}/s${f}.txt`));
    }
    for (const f of files) await utimes(join(home, f), MTIME, MTIME);
    await utimes(join(home, 'Documents/d0/big.bin'), new Date(), new Date());
    writeFileSync(join(home, 'Documents/d1/s0.txt'), 'not the layer file');
    const { readdirs, lstats, result } = await counting(() => lay());
    for (const [rel, data] of large) assert.deepEqual(await readFile(join(home, rel)), data, rel);
    assert.equal(await readFile(join(home, 'Documents/d1/s0.txt'), 'utf8'), 'small file 1/0');
    assert.ok(result.bytesReused > 0);
    // First contact lists each folder; d1 changed there (s0.txt's conflict copy), so the ready walk lists it again.
    const listedOnce = folders.filter((f) => f !== 'Documents/d1');
    const untouched = files.filter((f) => f !== 'Documents/d0/big.bin' && f !== 'Documents/d1/s0.txt');
    assert.deepEqual(
      { readdirs: over(readdirs, home, listedOnce, 1), fileLstats: over(lstats, home, untouched, 1) },
      { readdirs: {}, fileLstats: {} },
      `readdir ${JSON.stringify(Object.fromEntries([...readdirs].filter(([p]) => p.startsWith(home)).map(([p, n]) => [relative(home, p), n])))} lstat ${JSON.stringify(Object.fromEntries([...lstats].filter(([p]) => p.startsWith(home)).map(([p, n]) => [relative(home, p), n])))}`,
    );
  });
});
