/**
 * Content ids. A blob's id is the lowercase hex hash of its bytes; the algorithm is recorded in
 * the repository's format object and must never change for an existing repository.
 *
 * (The chunker module's header records the SHA-256 vs BLAKE3 measurement behind the choice.)
 */
import { createHash } from 'node:crypto';

export type HashAlgorithm = 'sha256';

export const DEFAULT_HASH: HashAlgorithm = 'sha256';

/** Hex id of `bytes`. */
export function blobId(bytes: Uint8Array, algorithm: HashAlgorithm = DEFAULT_HASH): string {
  return createHash(algorithm).update(bytes).digest('hex');
}

export const ID_PATTERN = /^[0-9a-f]{64}$/;

export function isBlobId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}
