/**
 * The end of a simulation: heal the store, run passes until a whole round changes nothing, then
 * check what sim.test.ts promises — one tree everywhere, equal to the layer's heads, with every
 * version the survival rule protects, no bytes no step wrote, and no engine litter on the disks.
 */
import { isDeepStrictEqual } from 'node:util';
import { openRepository } from '../../repo/index.js';
import type { Node } from '../../plan/index.js';
import { LAYER, listDir } from '../testkit.js';
import { TreeCache, type ChunkMap } from '../trees.js';
import { fileKey, linkKey } from './ledger.js';
import { pass } from './steps.js';
import type { World } from './world.js';

const MAX_ROUNDS = 10;

/** Heals every device and runs rounds of passes until one changes nothing; fails otherwise. */
export async function settle(w: World): Promise<void> {
  w.step++;
  w.note('heal the store; converge');
  for (const d of w.devices) d.heal();
  for (let round = 0; round < MAX_ROUNDS; round++) {
    let quiet = true;
    for (const d of w.devices) {
      const r = await pass(w, d);
      if (r.status !== 'synced' || r.snapshot !== undefined) quiet = false;
    }
    if (quiet) return verifyRescan(w);
  }
  w.fail('no-convergence', `the devices did not converge in ${MAX_ROUNDS} rounds after the store healed`);
}

/** A full rescan on every device must find nothing the watcher-driven scans missed. */
async function verifyRescan(w: World): Promise<void> {
  w.note('full rescan on every device');
  for (const d of w.devices) {
    d.folder!.markAllDirty();
    const r = await pass(w, d);
    if (r.status !== 'synced' || r.snapshot !== undefined) w.fail('missed-change', `${d.name}: a full rescan after convergence changed the layer (${r.status}): an incremental scan missed a change`);
  }
}

function diff(a: Record<string, string>, b: Record<string, string>): string {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys
    .filter((k) => a[k] !== b[k])
    .map((k) => `  ${k}: ${JSON.stringify(a[k])} vs ${JSON.stringify(b[k])}`)
    .join('\n');
}

/** The layer's tree as a listing (listDir's format), read back from the store. */
async function headListing(w: World): Promise<Record<string, string>> {
  const repo = await openRepository(w.store);
  const { heads } = await repo.listHeads(LAYER);
  const roots = new Set<string>();
  for (const h of heads) roots.add((await repo.loadSnapshot(LAYER, h.snapshot)).root);
  if (heads.length !== w.devices.length) w.fail('diverged', `${heads.length} heads for ${w.devices.length} devices`);
  if (roots.size !== 1) w.fail('diverged', `the heads name ${roots.size} different trees after convergence`);
  const root = [...roots][0]!;
  const trees = new TreeCache(repo);
  await trees.loadAll(root);
  const chunks: ChunkMap = new Map();
  const flat: Map<string, Node> = trees.flat(root, chunks);
  const out: Record<string, string> = {};
  for (const [p, n] of flat) {
    if (n.type === 'dir') out[`${p}/`] = '';
    else if (n.type === 'symlink') out[p] = `->${n.target}`;
    else if (n.type !== 'file') w.fail('diverged', `${p} is a ${n.type} in the layer; no device writes one`);
    else {
      const ids = chunks.get(n.content) ?? [];
      const parts = new Map<string, Uint8Array>();
      await repo.readBlobs(ids, (id, data) => void parts.set(id, data.slice()));
      out[p] = Buffer.concat(ids.map((id) => parts.get(id)!)).toString('utf8');
    }
  }
  return out;
}

/** Every check on the converged world; fails with the first problem found. */
export async function checkWorld(w: World): Promise<Record<string, string>> {
  const listings = await Promise.all(w.devices.map((d) => listDir(d.root)));
  const first = listings[0]!;
  listings.forEach((l, i) => {
    if (!isDeepStrictEqual(l, first)) w.fail('diverged', `${w.devices[i]!.name} differs from ${w.devices[0]!.name}:\n${diff(l, first)}`);
  });
  const layer = await headListing(w);
  if (!isDeepStrictEqual(layer, first)) w.fail('diverged', `the disks differ from the layer's tree:\n${diff(first, layer)}`);
  const litter = Object.keys(first).filter((p) => p.split('/').some((s) => s.startsWith('.strata-') || s.endsWith('.~sim')));
  if (litter.length > 0) w.fail('corrupt', `engine temp files left on the disks: ${litter.join(', ')}`);

  const present = new Set<string>();
  for (const [p, v] of Object.entries(first)) {
    if (p.endsWith('/')) continue;
    const key = v.startsWith('->') ? linkKey(v.slice(2)) : fileKey(v);
    if (!w.ledger.written.has(key)) w.fail('corrupt', `${p} holds ${JSON.stringify(v)}, which no step wrote (corrupt or partial bytes)`);
    present.add(key);
  }
  const lost = w.ledger.mustSurvive().filter((v) => !present.has(v.key));
  if (lost.length > 0) {
    const list = lost.map((v) => `  ${v.key} (written at step ${v.step} on ${v.device} at ${v.path})`).join('\n');
    w.fail('lost', `versions lost:\n${list}`);
  }
  return first;
}
