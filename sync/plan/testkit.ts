/**
 * Test helpers for the planner: a compact notation for scenario trees, random trees and edits
 * for the property tests, and a tiny in-memory executor that checks every op of a plan.
 */
import { makeRng, testSeed, type Rng } from '../testing/random.js';
import { ancestorsOf, baseName, compareStrings, joinPath, nodeKey, parentOf } from './nodes.js';
import type { FlatTree, Node } from './types.js';

/** Scenario mtimes count minutes after this instant (2026-11-22 03:15:00 UTC). */
export const T0 = Date.UTC(2026, 10, 22, 3, 15, 0);

/**
 * A flat tree from a compact spec; missing ancestor dirs are added with mode 755.
 *   'a/'            a dir            'a/' : '700'       a dir with mode 700
 *   'f': 'X'        a file, content X, mtime T0, mode 644
 *   'f': 'X@5'      mtime T0 + 5 min  'f': 'X@5#600'    and mode 600
 *   'l': '->t'      a symlink to t    'l': '->t@5'      with mtime T0 + 5 min
 *   'w': '~'        a whiteout
 */
export function tree(spec: Record<string, string> = {}): Map<string, Node> {
  const out = new Map<string, Node>();
  for (const [key, value] of Object.entries(spec)) {
    const path = key.endsWith('/') ? key.slice(0, -1) : key;
    for (const a of ancestorsOf(path)) if (!out.has(a)) out.set(a, { type: 'dir', mode: 0o755 });
    out.set(path, parseNode(key, value));
  }
  return sortTree(out);
}

function parseNode(key: string, value: string): Node {
  if (key.endsWith('/')) return { type: 'dir', mode: value === '' || value === 'dir' ? 0o755 : parseInt(value, 8) };
  if (value === '~') return { type: 'whiteout' };
  const m = /^(->)?([^@#]*)(?:@(-?\d+))?(?:#([0-7]+))?$/.exec(value);
  if (!m) throw new Error(`bad node spec ${JSON.stringify(value)}`);
  const mtimeMs = T0 + Number(m[3] ?? 0) * 60_000;
  if (m[1]) return { type: 'symlink', target: m[2] as string, mtimeMs };
  const content = m[2] as string;
  return { type: 'file', content, size: content.length, mtimeMs, mode: m[4] ? parseInt(m[4], 8) : 0o644 };
}

export function sortTree(t: FlatTree): Map<string, Node> {
  return new Map([...t].sort(([a], [b]) => compareStrings(a, b)));
}

/** A readable, comparable form of a tree: sorted [path, nodeKey] pairs. */
export function show(t: FlatTree): Array<[string, string]> {
  return [...t].map(([p, n]): [string, string] => [p, nodeKey(n)]).sort(([a], [b]) => compareStrings(a, b));
}

/** Content keys (files) and link targets present anywhere in a tree (whiteouts hold none). */
export function contents(t: FlatTree): Set<string> {
  const out = new Set<string>();
  for (const n of t.values()) if (n.type === 'file' || n.type === 'symlink') out.add(versionKey(n));
  return out;
}

export function versionKey(n: Node): string {
  return n.type === 'file' ? `F:${n.content}` : n.type === 'symlink' ? `L:${n.target}` : n.type === 'dir' ? 'D' : 'W';
}

// ---- random trees and edits ------------------------------------------------------------------

const NAMES = ['a', 'b', 'A', 'doc.txt', 'Doc.TXT', 'x.tar.gz', '.rc', '\u00e9', 'e\u0301'];
const POOL = ['c0', 'c1', 'c2', 'c3'];

/** A random node, whiteouts included (strip them with withoutWhiteouts for a disk's tree). */
function randomNode(rng: Rng, fresh: () => string): Node {
  const kind = rng.int(11);
  const mtimeMs = T0 + rng.int(4) * 60_000;
  if (kind < 2) return { type: 'dir', mode: rng.pick([0o755, 0o700]) };
  if (kind < 3) return { type: 'symlink', target: rng.pick(['t1', 't2', fresh()]), mtimeMs };
  if (kind < 4) return { type: 'whiteout' };
  const content = rng.chance(0.3) ? rng.pick(POOL) : fresh();
  return { type: 'file', content, size: content.length, mtimeMs, mode: rng.pick([0o644, 0o600]) };
}

function dirsOf(t: FlatTree): string[] {
  return ['', ...[...t].filter(([, n]) => n.type === 'dir').map(([p]) => p)].sort(compareStrings);
}

function removeSubtree(t: Map<string, Node>, path: string): Array<[string, Node]> {
  const gone: Array<[string, Node]> = [];
  for (const [p, n] of t) if (p === path || p.startsWith(`${path}/`)) gone.push([p, n]);
  for (const [p] of gone) t.delete(p);
  return gone;
}

/** A counter-based source of never-seen contents, so the loss checks can tell versions apart. */
export function freshContents(prefix: string): () => string {
  let n = 0;
  return () => `${prefix}${n++}`;
}

export function randomTree(rng: Rng, fresh: () => string, size = rng.int(14)): Map<string, Node> {
  const t = new Map<string, Node>();
  for (let i = 0; i < size; i++) addRandom(rng, t, fresh);
  return sortTree(t);
}

function addRandom(rng: Rng, t: Map<string, Node>, fresh: () => string): void {
  const dirs = dirsOf(t).filter((d) => d.split('/').length < 3);
  const path = joinPath(rng.pick(dirs), rng.pick(NAMES));
  if (!t.has(path)) t.set(path, randomNode(rng, fresh));
}

/**
 * One random well-formed edit: add, edit, touch, delete, rename, case-rename, change kind or
 * white out (a subtree replaced by a whiteout).
 */
export function randomEdit(rng: Rng, t: Map<string, Node>, fresh: () => string): void {
  const paths = [...t.keys()];
  const kind = rng.int(9);
  if (paths.length === 0 || kind === 0) return addRandom(rng, t, fresh);
  const path = rng.pick(paths);
  const node = t.get(path) as Node;
  if (kind === 1 && node.type === 'file') {
    const content = rng.chance(0.2) ? rng.pick(POOL) : fresh();
    t.set(path, { ...node, content, size: content.length, mtimeMs: node.mtimeMs + rng.int(3) * 60_000 });
  } else if (kind === 2 && (node.type === 'file' || node.type === 'dir')) {
    t.set(path, node.type === 'file' ? { ...node, mtimeMs: node.mtimeMs + 60_000 } : { ...node, mode: 0o750 });
  } else if (kind === 3) {
    removeSubtree(t, path);
  } else if (kind === 4 || kind === 5) {
    const name = kind === 4 ? rng.pick(NAMES) : flipCase(baseName(path));
    const dir = kind === 4 ? rng.pick(dirsOf(t).filter((d) => d !== path && !d.startsWith(`${path}/`))) : parentOf(path);
    const to = joinPath(dir, name);
    if (t.has(to) || to.split('/').length > 3) return;
    for (const [p, n] of removeSubtree(t, path)) t.set(to + p.slice(path.length), n);
  } else if (kind === 6) {
    removeSubtree(t, path);
    t.set(path, randomNode(rng, fresh));
  } else if (kind === 7) {
    removeSubtree(t, path);
    t.set(path, { type: 'whiteout' });
  } else {
    addRandom(rng, t, fresh);
  }
}

function flipCase(name: string): string {
  const up = name.toUpperCase();
  return up === name ? name.toLowerCase() : up;
}

export function edited(rng: Rng, t: FlatTree, fresh: () => string, edits = rng.int(6)): Map<string, Node> {
  const out = new Map(t);
  for (let i = 0; i < edits; i++) randomEdit(rng, out, fresh);
  return sortTree(out);
}

/** Checks that every ancestor of every path is a dir. */
export function wellFormedProblem(t: FlatTree): string | undefined {
  for (const p of t.keys()) {
    const bad = ancestorsOf(p).find((a) => t.get(a)?.type !== 'dir');
    if (bad !== undefined) return `${p} has no dir at ${bad}`;
  }
  return undefined;
}

// ---- seeded property runs -------------------------------------------------------------------

/**
 * Runs `check` for PLAN_SEEDS consecutive seeds (default 2000) starting at testSeed(name). A
 * failure names its own seed: rerun it alone with `SEED=<n> PLAN_SEEDS=1`.
 */
export function forSeeds(name: string, check: (rng: Rng) => void): void {
  const count = Number(process.env.PLAN_SEEDS ?? 2000);
  const first = testSeed(name);
  for (let i = 0; i < count; i++) {
    const seed = (first + i) % 2 ** 32;
    try {
      check(makeRng(seed));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new Error(`${name}: failed for SEED=${seed} PLAN_SEEDS=1\n${message}`, { cause: err });
    }
  }
}
