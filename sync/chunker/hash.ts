/**
 * Content ids. A blob's id is the lowercase hex hash of its bytes; the algorithm is recorded in
 * the repository's format object and must never change for an existing repository.
 *
 * Both algorithms give 32-byte digests, so ids look alike (ID_PATTERN); the format object, not
 * the id, says which one a repository uses. The chunker module's header (index.ts) records the
 * SHA-256 vs BLAKE3 measurement behind DEFAULT_HASH.
 *
 * BLAKE3 comes from a native addon (@napi-rs/blake-hash). It is loaded on first use, not at
 * import, so that a platform without a prebuilt binary can still use SHA-256 repositories and
 * gets a clear E_HASH_UNAVAILABLE for BLAKE3 ones.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { StrataError } from '../errors.js';

export type HashAlgorithm = 'sha256' | 'blake3';

export const HASH_ALGORITHMS: readonly HashAlgorithm[] = ['sha256', 'blake3'];

export const DEFAULT_HASH: HashAlgorithm = 'blake3';

/** An incremental hash: feed the pieces of one blob in order, then take its id once. */
export interface Hasher {
  update(bytes: Uint8Array): void;
  /** Hex id of everything fed so far; the hasher must not be used afterwards. */
  digestHex(): string;
}

interface Blake3Module {
  blake3(input: Uint8Array): Buffer;
  Blake3Hasher: new () => { update(input: Uint8Array): unknown; digest(format?: string): string };
}

let blake3Module: Blake3Module | undefined;

function loadBlake3(): Blake3Module {
  if (blake3Module) return blake3Module;
  try {
    blake3Module = createRequire(import.meta.url)('@napi-rs/blake-hash') as Blake3Module;
  } catch (err) {
    throw new StrataError('E_HASH_UNAVAILABLE', 'BLAKE3 (@napi-rs/blake-hash) cannot be loaded on this platform', {}, { cause: err });
  }
  return blake3Module;
}

export function isHashAlgorithm(value: unknown): value is HashAlgorithm {
  return HASH_ALGORITHMS.includes(value as HashAlgorithm);
}

/** Hex id of `bytes`. */
export function blobId(bytes: Uint8Array, algorithm: HashAlgorithm): string {
  if (algorithm === 'blake3') return loadBlake3().blake3(bytes).toString('hex');
  return createHash('sha256').update(bytes).digest('hex');
}

export function createHasher(algorithm: HashAlgorithm): Hasher {
  if (algorithm === 'blake3') {
    const h = new (loadBlake3().Blake3Hasher)();
    return { update: (b) => void h.update(b), digestHex: () => h.digest('hex') };
  }
  const h = createHash('sha256');
  return { update: (b) => void h.update(b), digestHex: () => h.digest('hex') };
}

export const ID_PATTERN = /^[0-9a-f]{64}$/;

export function isBlobId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}
