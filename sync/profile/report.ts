/**
 * What admins see: per user, the profile, the devices that sync the user layer (with when each
 * last wrote its head) apart from the admins' preloads, the layer's size and its number of
 * snapshots; per org layer, its versions.
 *
 * A broken object of one user (a corrupt profile, a corrupt head) is reported in that user's
 * `problems` and must not hide the other users or the rest of that user's report. Store errors
 * (transient, auth) stop the report: they say nothing about one user.
 */
import { isBlobId } from '../chunker/hash.js';
import type { StrataError } from '../errors.js';
import { mapLimit } from '../repo/pool.js';
import { keys, type Head, type SnapshotId } from '../repo/types.js';
import type { Repository, SnapshotRecord } from '../repo/index.js';
import { isObjectError, type ObjectStore } from '../store/index.js';
import { isAdminDevice } from './preload.js';
import { readProfile, type Profile } from './profile.js';
import { listOrgLayers, listUsers } from './users.js';

const CONCURRENCY = 4;

export interface DeviceSync {
  device: string;
  /**
   * When the device last wrote its head (its last upload to this layer, sign-in or sign-out), by
   * the bucket's clock: a device's own clock may be far off. The head's own time where the store
   * does not tell.
   */
  lastSync: string;
  snapshot: SnapshotId;
  /**
   * Its head is final: the device signed out (a VDI session's end) and lastSync is when. A VDI
   * user's sessions are devices of their own, so most of a long list is signed out.
   */
  signedOut: boolean;
}

/** An admin's write into a user layer (a preload): its head, apart from the user's devices. */
export interface AdminWrite {
  /** The admin device id (`admin`, `admin-<name>`). */
  device: string;
  /** When the bucket got the head (its clock); the head's own time where the store does not tell. */
  at: string;
  snapshot: SnapshotId;
}

export interface LayerState {
  snapshot: SnapshotId;
  /** The snapshot's own time: the clock of the machine that wrote it, which may be far off. */
  time: string;
  /**
   * When the bucket got the first head that points at it, by the bucket's clock (the head's own
   * time where the store does not tell): when it was synced or published.
   */
  written: string;
  device: string;
  /** From the snapshot's summary: regular files, not symlinks (SnapshotSummary); null for a snapshot written without one. */
  files: number | null;
  bytes: number | null;
}

export interface UserReport {
  user: string;
  /** Undefined when no admin wrote a profile (the user then has no org layers). */
  profile: Profile | undefined;
  /** The user's devices: every head but the admins' (an empty list: never signed in, or every head gone). */
  devices: DeviceSync[];
  /** The admins' heads (preloads), never counted as devices. */
  preloads: AdminWrite[];
  /** The newest snapshot a head points at; null when the layer has none. */
  latest: LayerState | null;
  snapshots: number;
  problems: StrataError[];
}

export interface OrgLayerReport {
  layer: string;
  versions: number;
  latest: LayerState | null;
  devices: DeviceSync[];
  problems: StrataError[];
}


/**
 * Runs `fn`; an object error goes to `problems` (once: latestSnapshot throws a broken head the
 * listing already noted when no other head leads to a snapshot) and gives undefined, anything else
 * is thrown.
 */
async function noting<T>(problems: StrataError[], fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (!isObjectError(err)) throw err;
    if (!problems.includes(err)) problems.push(err);
    return undefined;
  }
}

/** A layer's snapshots, by id, with their sizes, from one listing (no request per snapshot). */
export async function listSnapshotSizes(store: ObjectStore, layer: string): Promise<Map<SnapshotId, number>> {
  const prefix = keys.snapshots(layer);
  const sizes = new Map<SnapshotId, number>();
  for await (const { key, size } of store.list(prefix)) if (isBlobId(key.slice(prefix.length))) sizes.set(key.slice(prefix.length), size);
  return sizes;
}

function stateOf(r: SnapshotRecord | undefined, heads: readonly DeviceSync[]): LayerState | null {
  if (!r) return null;
  const s = r.snapshot;
  const written = heads.filter((h) => h.snapshot === r.id).map((h) => h.lastSync).sort()[0] ?? s.time;
  return { snapshot: r.id, time: s.time, written, device: s.device, files: s.summary?.files ?? null, bytes: s.summary?.bytes ?? null };
}

function devicesOf(heads: readonly Head[], written: ReadonlyMap<string, number>): DeviceSync[] {
  const lastSync = (h: Head): string => {
    const ms = written.get(h.device);
    return ms === undefined ? h.time : new Date(ms).toISOString();
  };
  // Newest first: device ids say nothing (an agent's is random), when each last synced does.
  const devices = heads.map((h) => ({ device: h.device, lastSync: lastSync(h), snapshot: h.snapshot, signedOut: h.final === true }));
  return devices.sort((a, b) => Date.parse(b.lastSync) - Date.parse(a.lastSync) || (a.device < b.device ? -1 : 1));
}

/**
 * One listing of the layer's heads gives its devices, their last syncs and which snapshot is the
 * latest; one of its snapshots, listed after the heads (so it names what they point at), their
 * number and the size of the latest, which is then read without a HEAD.
 */
async function layerState(repo: Repository, layer: string, problems: StrataError[]) {
  const heads = await repo.listHeads(layer);
  problems.push(...heads.errors);
  const sizes = await listSnapshotSizes(repo.store, layer);
  const latest = await noting(problems, () => repo.latestSnapshot(layer, heads, sizes));
  const devices = devicesOf(heads.heads, heads.written);
  return { devices, latest: stateOf(latest, devices), snapshots: sizes.size };
}

/** `profileSize`: the size of the user's profile as a listing gave it (listUsers), which spares a HEAD. */
export async function userReport(repo: Repository, user: string, profileSize?: number): Promise<UserReport> {
  const problems: StrataError[] = [];
  const profile = await noting(problems, () => readProfile(repo.store, user, profileSize));
  const { devices: heads, ...state } = await layerState(repo, `user/${user}`, problems);
  const devices = heads.filter((d) => !isAdminDevice(d.device));
  const preloads = heads.filter((d) => isAdminDevice(d.device)).map((d) => ({ device: d.device, at: d.lastSync, snapshot: d.snapshot }));
  return { user, profile, devices, preloads, ...state, problems };
}

/** Every user's report, by user id; `errors` are keys that name no valid user. */
export async function userReports(repo: Repository): Promise<{ users: UserReport[]; errors: StrataError[] }> {
  const { names, errors, profiles } = await listUsers(repo.store);
  return { users: await mapLimit(names, CONCURRENCY, (user) => userReport(repo, user, profiles.get(user))), errors };
}

export async function orgLayerReport(repo: Repository, layer: string): Promise<OrgLayerReport> {
  const problems: StrataError[] = [];
  const { devices, latest, snapshots } = await layerState(repo, layer, problems);
  return { layer, versions: snapshots, latest, devices, problems };
}

/** Every org layer's report, by layer id. */
export async function orgLayerReports(repo: Repository): Promise<{ layers: OrgLayerReport[]; errors: StrataError[] }> {
  const { names, errors } = await listOrgLayers(repo.store);
  return { layers: await mapLimit(names, CONCURRENCY, (layer) => orgLayerReport(repo, layer)), errors };
}

/** Whether a layer was ever published: some device has a head on it. */
export async function isPublished(repo: Repository, layer: string): Promise<boolean> {
  const it = repo.store.list(keys.heads(layer))[Symbol.asyncIterator]();
  try {
    return (await it.next()).done !== true;
  } finally {
    await it.return?.();
  }
}
