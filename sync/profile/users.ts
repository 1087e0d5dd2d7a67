/**
 * Who and what is in the bucket: users (anyone with a user layer or a profile) and org layers,
 * found from key prefixes. Listing skips past each name's objects (one LIST per name, paging
 * started after the name) instead of paging through every snapshot of every layer.
 */
import { StrataError } from '../errors.js';
import { isLayerId } from '../repo/names.js';
import type { ObjectStore } from '../store/index.js';
import { USERS_PREFIX, isUserId } from './profile.js';

export const USER_LAYERS_PREFIX = 'layers/user/';
export const ORG_LAYERS_PREFIX = 'layers/org/';

/** The character after '/', so `<prefix><name>0` sorts after every `<prefix><name>/…` key. */
const AFTER_SLASH = String.fromCharCode('/'.charCodeAt(0) + 1);

/**
 * The distinct first path segments under `prefix` ("layers/user/alice/heads/x" → "alice"), in key
 * order. A key with no '/' after its segment is not one of ours and is passed to `odd`.
 */
async function namesUnder(store: ObjectStore, prefix: string, odd: (key: string) => void): Promise<string[]> {
  const names: string[] = [];
  let startAfter: string | undefined;
  for (;;) {
    let next: string | undefined;
    for await (const { key } of store.list(prefix, startAfter === undefined ? {} : { startAfter })) {
      const rest = key.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash <= 0) {
        odd(key);
        next = key;
      } else {
        names.push(rest.slice(0, slash));
        next = `${prefix}${rest.slice(0, slash)}${AFTER_SLASH}`;
      }
      break;
    }
    if (next === undefined) return names;
    startAfter = next;
  }
}

export interface Listed {
  names: string[];
  /** Keys that do not belong to a valid name; reported, never fatal. */
  errors: StrataError[];
}

/** Every user with a user layer (`layers/user/<id>/…`) or a profile (`users/<id>/…`), sorted. */
export async function listUsers(store: ObjectStore): Promise<Listed> {
  const errors: StrataError[] = [];
  const found = new Set<string>();
  for (const prefix of [USER_LAYERS_PREFIX, USERS_PREFIX]) {
    const odd = (key: string) => errors.push(new StrataError('E_BAD_OBJECT', `unexpected key under ${prefix}`, { key }));
    for (const name of await namesUnder(store, prefix, odd)) {
      if (isUserId(name)) found.add(name);
      else errors.push(new StrataError('E_BAD_USER', `invalid user id ${JSON.stringify(name)}`, { key: `${prefix}${name}/` }));
    }
  }
  return { names: [...found].sort(), errors };
}

/** Every org layer that has any object (`layers/org/<name>/…`), as layer ids (`org/<name>`), sorted. */
export async function listOrgLayers(store: ObjectStore): Promise<Listed> {
  const errors: StrataError[] = [];
  const odd = (key: string) => errors.push(new StrataError('E_BAD_OBJECT', `unexpected key under ${ORG_LAYERS_PREFIX}`, { key }));
  const names: string[] = [];
  for (const name of await namesUnder(store, ORG_LAYERS_PREFIX, odd)) {
    const layer = `org/${name}`;
    if (isLayerId(layer)) names.push(layer);
    else errors.push(new StrataError('E_BAD_LAYER', `invalid layer id ${JSON.stringify(layer)}`, { key: `${ORG_LAYERS_PREFIX}${name}/` }));
  }
  return { names: names.sort(), errors };
}
