/**
 * check, for what admins keep beside the repository: every `users/<id>/profile` must read back
 * valid, since that user's sign-in fails on it (a problem). A profile that assigns an org layer
 * with no version published yet (`admin assign --force`) is a warning: the user gets nothing from
 * that layer until it is published. Other keys under `users/` belong to nothing (a warning), and so
 * does any key outside `config`, `data/`, `index/`, `layers/` and `users/` (found without paging
 * through the packs: the listing skips each known prefix).
 */
import { StrataError } from '../errors.js';
import type { CheckProblem } from '../repo/index.js';
import { keys } from '../repo/types.js';
import { isObjectError, type ObjectStore } from '../store/index.js';
import { MAX_PROFILE_BYTES, USERS_PREFIX, decodeProfile, isUserId } from './profile.js';

const PROFILE_KEY = /^users\/([^/]+)\/profile$/;

export interface ProfilesReport {
  problems: CheckProblem[];
  warnings: CheckProblem[];
  profiles: number;
}

function asProblem(err: unknown): CheckProblem {
  if (!isObjectError(err)) throw err;
  return { code: err.code, key: err.key ?? USERS_PREFIX, message: err.message };
}

export async function checkProfiles(store: ObjectStore): Promise<ProfilesReport> {
  const report: ProfilesReport = { problems: [], warnings: [], profiles: 0 };
  const assigned: { key: string; layers: string[] }[] = [];
  for await (const { key, size } of store.list(USERS_PREFIX)) {
    const user = PROFILE_KEY.exec(key)?.[1];
    if (user === undefined || !isUserId(user)) {
      report.warnings.push({ code: 'E_BAD_OBJECT', key, message: `unexpected key under ${USERS_PREFIX}` });
      continue;
    }
    report.profiles++;
    try {
      if (size > MAX_PROFILE_BYTES) throw new StrataError('E_OBJECT_TOO_LARGE', `profile is ${size} bytes, over the ${MAX_PROFILE_BYTES}-byte limit`, { key });
      assigned.push({ key, layers: decodeProfile(await store.get(key), user).layers });
    } catch (err) {
      report.problems.push(asProblem(err));
    }
  }
  const published = new Map<string, boolean>();
  for (const { key, layers } of assigned) {
    for (const layer of layers) {
      if (!published.has(layer)) published.set(layer, await hasHead(store, layer));
      if (!published.get(layer)) {
        report.warnings.push({ code: 'E_LAYER_NOT_PUBLISHED', key, message: `assigns org layer ${layer}, which has no version published: the user gets nothing from it yet` });
      }
    }
  }
  return report;
}

async function hasHead(store: ObjectStore, layer: string): Promise<boolean> {
  for await (const _ of store.list(keys.heads(layer))) return true;
  return false;
}

const KNOWN = ['config', 'data/', 'index/', 'layers/', USERS_PREFIX];

/** Keys under the store's prefix that belong to none of KNOWN, as warnings. */
export async function strayKeys(store: ObjectStore): Promise<CheckProblem[]> {
  const stray: CheckProblem[] = [];
  let startAfter: string | undefined;
  for (;;) {
    let next: string | undefined;
    for await (const { key } of store.list('', startAfter === undefined ? {} : { startAfter })) {
      const known = KNOWN.find((k) => (k.endsWith('/') ? key.startsWith(k) : key === k));
      if (known === undefined) {
        stray.push({ code: 'E_BAD_OBJECT', key, message: 'unexpected key: not part of a Strata repository' });
        continue;
      }
      // '/' + 1: sorts after every key under `known`.
      next = known.endsWith('/') ? `${known.slice(0, -1)}0` : known;
      break;
    }
    if (next === undefined) return stray;
    startAfter = next;
  }
}
