/**
 * The end of a simulation: heal the store, switch every device to the org layer's latest version
 * (if the world has one), run passes until a whole round changes nothing, then check what
 * sim.test.ts promises — one tree everywhere, equal to the layer's heads (over the org layer),
 * with every version the survival rule protects, no bytes no step wrote, no engine litter on the
 * disks, and in the user layer no org file a user did not adopt and no whiteout no user made.
 */
import { isDeepStrictEqual } from 'node:util';
import { openRepository } from '../../repo/index.js';
import type { Node } from '../../plan/index.js';
import { ancestorsOf } from '../../plan/nodes.js';
import { LAYER, listDir } from '../testkit.js';
import { TreeCache, type ChunkMap } from '../trees.js';
import { fileKey, linkKey } from './ledger.js';
import { overlay } from '../../overlay/index.js';
import { pass, switchOrg } from './steps.js';
import type { World } from './world.js';

const MAX_ROUNDS = 10;

/** Heals every device and runs rounds of passes until one changes nothing; fails otherwise. */
export async function settle(w: World): Promise<void> {
  w.step++;
  w.note('heal the store; converge');
  w.lag = 0;
  for (const d of w.devices) d.heal();
  const latest = w.org?.latest;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    // A device still in a switch gets the next one once a pass has synced it.
    for (const d of w.devices) switchOrg(w, d);
    let quiet = !w.devices.some((d) => (latest !== undefined && d.lower[0] !== latest) || d.lowerBefore !== undefined);
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

/**
 * The layer's tree, read back from the store: its listing (listDir's format), over the org layer's
 * latest version if the world has one, and the user layer itself.
 */
async function headListing(w: World): Promise<{ listing: Record<string, string>; user: Map<string, Node> }> {
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
  const user: Map<string, Node> = trees.flat(root, chunks);
  let flat = user;
  if (w.org) {
    await trees.loadAll(w.org.latest);
    flat = overlay([trees.flat(w.org.latest, chunks), user]);
  }
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
  return { listing: out, user };
}

/**
 * Over an org layer, the user layer may hold an org version at a path only where a user adopted it
 * (moved or touched it: a copy-up), and a whiteout only where a user removed something there or
 * above: anything else is the sync's own doing — an untouched org file taken for the user's,
 * pinning its old version, or a new version hidden by a deletion nobody made.
 */
function checkUserLayer(w: World, user: ReadonlyMap<string, Node>, listing: Record<string, string>): void {
  for (const [p, n] of user) {
    if (n.type === 'whiteout') {
      // Removing or moving away a dir removes everything under it.
      if (![p, ...ancestorsOf(p)].some((a) => w.ledger.removedAt.has(a))) w.fail('corrupt', `the user layer has a whiteout at ${p}, where no user step removed anything`);
    } else if (n.type === 'file' && !p.includes('.sync-conflict-')) {
      // A user layer file is on top: the listing shows its text at its path. (A conflict copy of
      // an org version pins nothing: races of a merge make one, as pending.ts says, losing nothing.)
      const key = fileKey(listing[p] ?? '');
      if (w.ledger.org.has(key) && !w.ledger.adopted.has(key)) {
        w.fail('corrupt', `the user layer holds the org version ${JSON.stringify(listing[p])} at ${p}, which no user step moved or touched (a copy-up nobody made)`);
      }
    }
  }
}

/** Every check on the converged world; fails with the first problem found. */
export async function checkWorld(w: World): Promise<Record<string, string>> {
  const listings = await Promise.all(w.devices.map((d) => listDir(d.root)));
  const first = listings[0]!;
  listings.forEach((l, i) => {
    if (!isDeepStrictEqual(l, first)) w.fail('diverged', `${w.devices[i]!.name} differs from ${w.devices[0]!.name}:\n${diff(l, first)}`);
  });
  const { listing: layer, user } = await headListing(w);
  if (!isDeepStrictEqual(layer, first)) w.fail('diverged', `the disks differ from the layer's tree${w.org ? ' over the org layer' : ''}:\n${diff(first, layer)}`);
  if (w.org) checkUserLayer(w, user, layer);
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
