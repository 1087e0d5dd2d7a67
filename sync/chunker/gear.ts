/**
 * The gear table of the FastCDC rolling hash.
 *
 * The table is part of the on-disk format: every cut point, and so every chunk id in every
 * repository, depends on it. It must never change for a given chunker algorithm name; a different
 * table needs a new `ChunkerParams.algorithm` value.
 *
 * It is derived, not pasted, so that any implementation can reproduce it:
 *
 *   GEAR[i] = first 4 bytes, big-endian, of SHA-256(ASCII "strata/fastcdc/gear/v1/" + decimal i)
 *
 * for i = 0 … 255. The values are stored as signed 32-bit integers (Int32Array) because the hot
 * loop runs in int32 arithmetic; the bit patterns are what count.
 */
import { createHash } from 'node:crypto';

export const GEAR_SEED = 'strata/fastcdc/gear/v1/';

function deriveGear(): Int32Array {
  const table = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    table[i] = createHash('sha256').update(GEAR_SEED + i, 'ascii').digest().readInt32BE(0);
  }
  return table;
}

export const GEAR: Int32Array = deriveGear();
