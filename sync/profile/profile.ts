/**
 * The user profile object: what an admin assigned to one user, read by the agent at sign-in.
 *
 *   users/<userId>/profile   { version: 1, user, displayName, layers: ['org/a', …], updated }
 *
 * `layers` are org layers, lowest first (DESIGN §1: org layers in order, then the user layer on
 * top). `displayName` may be '' (none set). The object is written whole by admins only; a user's
 * agent never writes it. Read back it is untrusted like every other object in the bucket.
 */
import { StrataError, isStrataError } from '../errors.js';
import { Invalid, canonicalBytes, expectObject, expectTime, parseJson } from '../repo/json.js';
import { getAtMost } from '../repo/layers.js';
import { isLayerId } from '../repo/names.js';
import type { ObjectStore } from '../store/index.js';

export const PROFILE_VERSION = 1;
/** A profile is a few hundred bytes; anything near this is hostile, and is refused without reading more than this. */
export const MAX_PROFILE_BYTES = 64 * 1024;
export const MAX_PROFILE_LAYERS = 64;
export const MAX_DISPLAY_NAME = 256;

export interface Profile {
  version: typeof PROFILE_VERSION;
  user: string;
  /** '' when the admin set none. */
  displayName: string;
  /** Assigned org layers (`org/<name>`), lowest first, no duplicates. */
  layers: string[];
  /** When an admin last wrote it (ISO-8601 UTC). */
  updated: string;
}

export const USERS_PREFIX = 'users/';

export function profileKey(user: string): string {
  return `${USERS_PREFIX}${checkUserId(user)}/profile`;
}

export function isUserId(user: unknown): user is string {
  return typeof user === 'string' && isLayerId(`user/${user}`);
}

/** A user id is what follows `user/` in a layer id; throws E_BAD_USER. */
export function checkUserId(user: unknown, where: { key?: string } = {}): string {
  if (!isUserId(user)) {
    throw new StrataError('E_BAD_USER', `invalid user id ${JSON.stringify(user)}: must be 1–128 letters, digits, ".", "_", "@" or "-", starting with a letter or digit`, where);
  }
  return user;
}

export function isOrgLayer(layer: unknown): layer is string {
  return isLayerId(layer) && layer.startsWith('org/');
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Validates an untrusted value as the profile of `user`; errors are E_BAD_PROFILE naming `key`. */
export function validateProfile(value: unknown, user: string, key: string): Profile {
  const v = new Invalid('E_BAD_PROFILE', key, 'profile');
  const o = expectObject(value, ['version', 'user', 'displayName', 'layers', 'updated'], v, 'profile');
  if (o.version !== PROFILE_VERSION) throw v.fail(`version ${JSON.stringify(o.version)} is not supported (expected ${PROFILE_VERSION})`, 'E_UNSUPPORTED_FORMAT');
  if (o.user !== user) throw v.fail(`is for user ${JSON.stringify(o.user)}, not ${JSON.stringify(user)}`);
  const name = o.displayName;
  if (typeof name !== 'string' || name.length > MAX_DISPLAY_NAME || CONTROL.test(name)) {
    throw v.fail(`displayName must be a string of at most ${MAX_DISPLAY_NAME} characters without control characters`);
  }
  if (!Array.isArray(o.layers)) throw v.fail('layers is not an array');
  if (o.layers.length > MAX_PROFILE_LAYERS) throw v.fail(`has ${o.layers.length} layers, over the limit of ${MAX_PROFILE_LAYERS}`);
  const seen = new Set<string>();
  for (const [i, layer] of o.layers.entries()) {
    if (!isOrgLayer(layer)) throw v.fail(`layers[${i}] ${JSON.stringify(layer)?.slice(0, 80)} is not an org layer id (org/<name>)`);
    if (seen.has(layer)) throw v.fail(`layers[${i}] ${layer} is listed twice`);
    seen.add(layer);
  }
  const updated = expectTime(o.updated, v, 'updated');
  return { version: PROFILE_VERSION, user, displayName: name, layers: [...seen], updated };
}

/** Parses and validates the bytes of `users/<user>/profile`. */
export function decodeProfile(bytes: Uint8Array, user: string): Profile {
  const key = profileKey(user);
  if (bytes.byteLength > MAX_PROFILE_BYTES) {
    throw new StrataError('E_OBJECT_TOO_LARGE', `profile is ${bytes.byteLength} bytes, over the ${MAX_PROFILE_BYTES}-byte limit`, { key });
  }
  return validateProfile(parseJson(bytes, new Invalid('E_BAD_PROFILE', key, 'profile')), user, key);
}

/**
 * The profile of `user`, or undefined when none was written. A missing profile is not an error:
 * it is a user no admin has assigned anything to, who gets no org layers (only their own layer).
 * `listedSize`: the size a listing gave (listUsers), which refuses a huge one before any GET;
 * without it, one GET capped at the limit (getAtMost).
 */
export async function readProfile(store: ObjectStore, user: string, listedSize?: number): Promise<Profile | undefined> {
  const key = profileKey(user);
  if (listedSize !== undefined && listedSize > MAX_PROFILE_BYTES) {
    throw new StrataError('E_OBJECT_TOO_LARGE', `profile is ${listedSize} bytes, over the ${MAX_PROFILE_BYTES}-byte limit`, { key });
  }
  let bytes: Uint8Array;
  try {
    bytes = await getAtMost(store, key, MAX_PROFILE_BYTES);
  } catch (err) {
    // None, or deleted since the listing: as if it had never been there.
    if (isStrataError(err, 'E_NOT_FOUND')) return undefined;
    if (isStrataError(err, 'E_OBJECT_TOO_LARGE')) throw new StrataError(err.code, `profile is over the ${MAX_PROFILE_BYTES}-byte limit`, { key });
    throw err;
  }
  return decodeProfile(bytes, user);
}

/** The org layers a user gets, lowest first: none without a profile. */
export function assignedLayers(profile: Profile | undefined): string[] {
  return profile ? [...profile.layers] : [];
}

/** Validates and writes a profile (whole; the last admin write wins). */
export async function writeProfile(store: ObjectStore, profile: Profile): Promise<void> {
  const key = profileKey(profile.user);
  const checked = validateProfile(JSON.parse(JSON.stringify(profile)), profile.user, key);
  await store.put(key, canonicalBytes(checked));
}
