/**
 * SQLite-like database files: 4 KiB pages with a small header and rows packed from the page's
 * end, each row a rowid, a type byte, a counter, a word from a small vocabulary and a random
 * blob. So the files have the repeated structure of a real database (they compress somewhat)
 * but no two pages are equal, and no chunk repeats across files.
 *
 * Files are written in 1 MiB slabs so a 512 MiB file never sits in memory.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { ByteSource } from './content.js';

export const PAGE_SIZE = 4096;
const SLAB_PAGES = 256;
const HEADER = 8;
const WORD_BYTES = 24;

function wordTable(words: readonly string[]): Buffer {
  const table = Buffer.alloc(words.length * WORD_BYTES, 0x20);
  words.forEach((w, i) => table.write(w.slice(0, WORD_BYTES), i * WORD_BYTES, 'latin1'));
  return table;
}

/**
 * Fills `page` as page number `pageNo`. `noise` is PAGE_SIZE random bytes: it decides the fill
 * factor, the rows' words and counters, and supplies the blobs. Rows fill the whole page; only
 * those above the fill line are live (counted in the header), the rest are stale rows, as a
 * database without secure_delete leaves them. Long zero runs are avoided on purpose: restic's
 * chunker cuts at every all-zero window, which would turn its content-defined chunking into
 * fixed offsets on such files and misrepresent it.
 */
export function fillPage(page: Buffer, pageNo: number, noise: Buffer, words: Buffer): void {
  const wordCount = words.length / WORD_BYTES;
  const fill = 0.5 + (noise[0] as number) / 600; // 50%–92% of the page holds live rows
  const liveFloor = PAGE_SIZE - Math.floor((PAGE_SIZE - HEADER) * fill);
  let end = PAGE_SIZE;
  let live = 0;
  let contentStart = PAGE_SIZE;
  let n = 8;
  while (true) {
    const blobLen = 16 + ((noise[n] as number) & 31);
    const rowLen = 4 + 1 + 4 + WORD_BYTES + blobLen;
    if (end - rowLen < HEADER || n + 8 + blobLen > PAGE_SIZE) break;
    const at = end - rowLen;
    page.writeUInt32BE(pageNo * 64 + ((end - at) & 63), at);
    page[at + 4] = 1 + ((noise[n + 1] as number) & 3);
    page.writeUInt32BE(pageNo * 7 + ((noise[n + 2] as number) & 15), at + 5);
    const word = ((noise[n + 3] as number) * 256 + (noise[n + 4] as number)) % wordCount;
    words.copy(page, at + 9, word * WORD_BYTES, (word + 1) * WORD_BYTES);
    noise.copy(page, at + 9 + WORD_BYTES, n + 8, n + 8 + blobLen);
    n += 8 + blobLen;
    end = at;
    if (at >= liveFloor) {
      live++;
      contentStart = at;
    }
  }
  page[0] = 0x0d;
  page.writeUInt16BE(live, 3);
  page.writeUInt16BE(contentStart, 5);
}

/** Writes a page file of `size` bytes and returns its SHA-256 (hex). */
export async function writePageFile(path: string, size: number, seed: number, label: string, words: readonly string[]): Promise<string> {
  const table = wordTable(words);
  const noise = new ByteSource(seed, `pages:${label}`);
  const slab = Buffer.alloc(SLAB_PAGES * PAGE_SIZE);
  const hash = createHash('sha256');
  const file = await open(path, 'w');
  try {
    let pageNo = 0;
    for (let written = 0; written < size; ) {
      slab.fill(0);
      const random = noise.take(SLAB_PAGES * PAGE_SIZE);
      for (let p = 0; p < SLAB_PAGES; p++, pageNo++) {
        const page = slab.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE);
        fillPage(page, pageNo, random.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE), table);
      }
      const len = Math.min(slab.length, size - written);
      hash.update(slab.subarray(0, len));
      await file.write(slab, 0, len, written);
      written += len;
    }
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}
