/**
 * Who and what is in the bucket: users (anyone with a user layer or a profile) and org layers,
 * found from key prefixes. Listing reads on through the names' objects while they are few (a
 * page of a listing holds many users' heads and snapshots at no extra request) and skips past a
 * name with many (a new LIST started after it) instead of paging through every snapshot of every
 * layer; `users/`, which holds one profile per user, is listed whole (a page gives a thousand users).
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
 * Keys read past a name's first before skipping to the next name: about one page of an S3 listing.
 * The next name is usually on the page already fetched (no request); one LIST per name, sent one
 * after another, took 68 s for a thousand users on Swift. A name with more costs one LIST more.
 */
const READ_ON = 1000;

/**
 * The distinct first path segments under `prefix` ("layers/user/alice/heads/x" → "alice"), in key
 * order. A key with no '/' after its segment is not one of ours and is passed to `odd`.
 */
async function namesUnder(store: ObjectStore, prefix: string, odd: (key: string) => void): Promise<string[]> {
  const names: string[] = [];
  let startAfter: string | undefined;
  for (;;) {
    let skipTo: string | undefined;
    let read = 0;
    for await (const { key } of store.list(prefix, startAfter === undefined ? {} : { startAfter })) {
      const rest = key.slice(prefix.length);
      const slash = rest.indexOf('/');
      const name = rest.slice(0, slash);
      if (slash <= 0) {
        odd(key);
      } else if (name !== names.at(-1)) {
        names.push(name);
        read = 0;
      } else if (++read >= READ_ON) {
        // A name's keys are contiguous: every key between two of `<name>/…` starts with it.
        skipTo = `${prefix}${name}${AFTER_SLASH}`;
        break;
      }
    }
    if (skipTo === undefined) return names;
    startAfter = skipTo;
  }
}

export interface Listed {
  names: string[];
  /** Keys that do not belong to a valid name; reported, never fatal. */
  errors: StrataError[];
}

export interface ListedUsers extends Listed {
  /** The size of each listed user's profile (`users/<id>/profile`), as the listing gave it. */
  profiles: Map<string, number>;
}

/** Every user with a user layer (`layers/user/<id>/…`) or a profile (`users/<id>/…`), sorted. */
export async function listUsers(store: ObjectStore): Promise<ListedUsers> {
  const errors: StrataError[] = [];
  const odd = (prefix: string) => (key: string) => errors.push(new StrataError('E_BAD_OBJECT', `unexpected key under ${prefix}`, { key }));
  const named = (prefix: string, names: Iterable<string>): string[] => {
    const valid = [];
    for (const name of names) {
      if (isUserId(name)) valid.push(name);
      else errors.push(new StrataError('E_BAD_USER', `invalid user id ${JSON.stringify(name)}`, { key: `${prefix}${name}/` }));
    }
    return valid;
  };
  const found = new Set(named(USER_LAYERS_PREFIX, await namesUnder(store, USER_LAYERS_PREFIX, odd(USER_LAYERS_PREFIX))));
  const profiles = new Map<string, number>();
  const underUsers = new Set<string>();
  for await (const { key, size } of store.list(USERS_PREFIX)) {
    const rest = key.slice(USERS_PREFIX.length);
    const slash = rest.indexOf('/');
    if (slash <= 0) {
      odd(USERS_PREFIX)(key);
      continue;
    }
    const name = rest.slice(0, slash);
    underUsers.add(name);
    if (rest === `${name}/profile`) profiles.set(name, size);
  }
  for (const name of named(USERS_PREFIX, underUsers)) found.add(name);
  return { names: [...found].sort(), errors, profiles };
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
