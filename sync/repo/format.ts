/**
 * The format object (`config`): written once by `initRepository`, read and validated by
 * `openRepository` before anything else. A version, hash, encryption or compression this code
 * does not know is refused (E_UNSUPPORTED_FORMAT) rather than guessed at.
 */
import { randomUUID } from 'node:crypto';
import { StrataError, isStrataError } from '../errors.js';
import type { ObjectStore } from '../store/index.js';
import { DEFAULT_CHUNKER, validateChunkerParams } from '../chunker/params.js';
import { DEFAULT_HASH, isHashAlgorithm, type HashAlgorithm } from '../chunker/hash.js';
import { Invalid, canonicalBytes, expectObject, expectSafeInt, expectString, expectTime, parseJson } from './json.js';
import { Repository, type RepositoryOptions } from './repository.js';
import { FORMAT_VERSION, keys, type ChunkerParams, type FormatObject } from './types.js';

export { DEFAULT_CHUNKER };
export const DEFAULT_PACK_SIZE = 8 * 1024 * 1024;
export const MIN_PACK_SIZE = 1024;
export const MAX_PACK_SIZE = 1024 * 1024 * 1024;
const MAX_CONFIG_BYTES = 64 * 1024;

export interface InitOptions {
  chunker?: ChunkerParams;
  /** Id hash (default DEFAULT_HASH); fixed for the repository's whole life. */
  hash?: HashAlgorithm;
  packSize?: number;
  /** Repository id (default: a random UUID). */
  id?: string;
  /** Creation time (default: now). */
  created?: Date;
}

export interface OpenOptions extends RepositoryOptions {
  /** Load all indexes at open (default true); false for commands that only touch heads. */
  loadIndex?: boolean;
}

const FIELDS = ['version', 'id', 'created', 'hash', 'chunker', 'encryption', 'compression', 'packSize'];

function unsupported(what: string, value: unknown): StrataError {
  return new StrataError(
    'E_UNSUPPORTED_FORMAT',
    `repository ${what} ${JSON.stringify(value)} is not supported by this version of Strata (it supports format version ${FORMAT_VERSION})`,
    { key: keys.config },
  );
}

/** Validates a parsed format object; the key named in errors is always `config`. */
export function validateFormat(value: unknown): FormatObject {
  const v = new Invalid('E_BAD_OBJECT', keys.config, 'format object');
  const version = (value as { version?: unknown } | null)?.version;
  if (version !== FORMAT_VERSION) throw unsupported('format version', version);
  const f = expectObject(value, FIELDS, v, 'format object');
  if (!isHashAlgorithm(f.hash)) throw unsupported('hash algorithm', f.hash);
  if (f.encryption !== 'none') throw unsupported('encryption mode', f.encryption);
  if (f.compression !== 'none') throw unsupported('compression', f.compression);
  expectString(f.id, v, 'id', 128);
  expectTime(f.created, v, 'created');
  expectSafeInt(f.packSize, v, 'packSize', MIN_PACK_SIZE, MAX_PACK_SIZE);
  const chunker = validateChunkerParams(f.chunker, { key: keys.config });
  return { ...(f as unknown as FormatObject), chunker };
}

/** Writes a new format object; refuses (E_REPO_EXISTS) when the store already holds one. */
export async function initRepository(store: ObjectStore, opts: InitOptions = {}): Promise<FormatObject> {
  if (await store.head(keys.config)) {
    throw new StrataError('E_REPO_EXISTS', `a repository already exists at ${store.location}`, { key: keys.config });
  }
  const format = validateFormat({
    version: FORMAT_VERSION,
    id: opts.id ?? randomUUID(),
    created: (opts.created ?? new Date()).toISOString(),
    hash: opts.hash ?? DEFAULT_HASH,
    chunker: opts.chunker ?? { ...DEFAULT_CHUNKER },
    encryption: 'none',
    compression: 'none',
    packSize: opts.packSize ?? DEFAULT_PACK_SIZE,
  });
  await store.put(keys.config, canonicalBytes(format));
  return format;
}

function noRepository(store: ObjectStore): StrataError {
  return new StrataError('E_NO_REPOSITORY', `no repository at ${store.location}; run \`strata init\` to create one`, { key: keys.config });
}

/** Reads the format object; E_NO_REPOSITORY when there is none. */
export async function readFormat(store: ObjectStore): Promise<FormatObject> {
  const info = await store.head(keys.config);
  if (!info) throw noRepository(store);
  if (info.size > MAX_CONFIG_BYTES) throw new StrataError('E_BAD_OBJECT', `format object is ${info.size} bytes, over the limit`, { key: keys.config });
  const bytes = await store.get(keys.config).catch((err: unknown) => {
    throw isStrataError(err, 'E_NOT_FOUND') ? noRepository(store) : err;
  });
  return validateFormat(parseJson(bytes, new Invalid('E_BAD_OBJECT', keys.config, 'format object')));
}

/** Opens the repository in `store`: validates the format object and loads the indexes. */
export async function openRepository(store: ObjectStore, opts: OpenOptions = {}): Promise<Repository> {
  const repo = new Repository(store, await readFormat(store), opts);
  if (opts.loadIndex !== false) await repo.loadIndex();
  return repo;
}
