/**
 * The cut rule written plainly, one byte at a time, with no speed tricks: the specification that
 * tests hold the fast scan (scan.ts, fastcdc.ts) to. Test-only; nothing in the product imports it.
 * See fastcdc.ts for the rule itself.
 */
import type { ChunkerParams } from '../repo/types.js';
import { GEAR } from './gear.js';
import { masksFor } from './params.js';

/** Chunk end offsets (exclusive) of `buf`, as cutPoints must give them. */
export function referenceCuts(buf: Uint8Array, p: ChunkerParams): number[] {
  const { hard, easy } = masksFor(p);
  const ends: number[] = [];
  let start = 0;
  while (start < buf.length) {
    let end = Math.min(start + p.maxSize, buf.length);
    let h = 0;
    for (let q = p.minSize; start + q < end; q++) {
      h = ((h << 1) + GEAR[buf[start + q]!]!) | 0;
      if ((h & (q < p.avgSize ? hard : easy)) === 0) {
        end = start + q + 1;
        break;
      }
    }
    ends.push(end);
    start = end;
  }
  return ends;
}
