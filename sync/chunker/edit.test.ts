// Content-defined chunking's point: an edit changes only the chunks around it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChunkerParams } from '../repo/types.js';
import { makeRng, testSeed } from '../testing/random.js';
import { cutPoints } from './fastcdc.js';
import { DEFAULT_HASH, blobId } from './hash.js';
import { DEFAULT_CHUNKER } from './params.js';
import { fixedData } from './testdata.js';

const MiB = 1024 * 1024;

interface Edit {
  at: number;
  remove: number;
  insert: Uint8Array;
}

function apply(buf: Uint8Array, e: Edit): Buffer {
  return Buffer.concat([buf.subarray(0, e.at), e.insert, buf.subarray(e.at + e.remove)]);
}

/**
 * How an edit moved the chunking. Chunks ending at or before the edit must all survive; `lost`
 * counts old chunks after the edit, in order, until the first that reappears (shifted by the
 * size change) in the new chunking, i.e. how long chunking took to re-synchronise.
 */
function compare(buf: Uint8Array, e: Edit, p: ChunkerParams): { changedBefore: number; lost: number } {
  const before = cutPoints(buf, p);
  const after = new Set(cutPoints(apply(buf, e), p));
  const starts = [0, ...before];
  const changedBefore = before.filter((end, i) => end <= e.at && !(after.has(end) && (i === 0 || after.has(starts[i]!)))).length;
  const shift = e.insert.length - e.remove;
  const tail = before.filter((_, i) => starts[i]! >= e.at + e.remove);
  let lost = 0;
  while (lost < tail.length && !after.has(tail[lost]! + shift)) lost++;
  assert.ok(lost < tail.length, 'chunking never re-synchronised');
  return { changedBefore, lost };
}

describe('chunking after an edit', () => {
  const data = fixedData(12 * MiB, 0x5eed);
  const cases: Array<[string, Edit]> = [
    ['inserting 1 byte', { at: 5_000_011, remove: 0, insert: fixedData(1, 1) }],
    ['inserting 5000 bytes', { at: 6_100_000, remove: 0, insert: fixedData(5000, 2) }],
    ['deleting 1 byte', { at: 7_777_777, remove: 1, insert: new Uint8Array(0) }],
    ['deleting 70000 bytes', { at: 4_200_000, remove: 70_000, insert: new Uint8Array(0) }],
    ['overwriting 300 KiB', { at: 6_000_000, remove: 300 * 1024, insert: fixedData(300 * 1024, 3) }],
  ];
  for (const [name, edit] of cases) {
    it(`keeps chunks before ${name} and re-synchronises within 2 chunks after`, () => {
      const { changedBefore, lost } = compare(data, edit, DEFAULT_CHUNKER);
      assert.equal(changedBefore, 0);
      assert.ok(lost <= 2, `${lost} chunks after the edit changed`);
    });
  }

  it('re-synchronises within 2 chunks after most random edits', () => {
    const p: ChunkerParams = { algorithm: 'fastcdc', minSize: 256, avgSize: 1024, maxSize: 4096 };
    /** 300 random edits of a random 512 KiB buffer; compare() asserts what must always hold. */
    const lostAfterEdits = (seed: number): number[] => {
      const rng = makeRng(seed);
      const buf = rng.bytes(512 * 1024);
      const lost: number[] = [];
      for (let t = 0; t < 300; t++) {
        const size = () => rng.pick([0, 1, 7, 100, 3000, 9000]);
        const edit = { at: rng.range(100_000, 400_000), remove: size(), insert: rng.bytes(size()) };
        const r = compare(buf, edit, p);
        assert.equal(r.changedBefore, 0, `seed ${seed}, edit ${JSON.stringify({ ...edit, insert: edit.insert.length })}`);
        lost.push(r.lost);
      }
      return lost;
    };
    lostAfterEdits(testSeed('chunker random edits'));
    // How often is statistical, and one buffer's figure varies (a random one measured 88%): the
    // bound is checked on three fixed buffers, so it cannot flake and still catches a chunker
    // that re-synchronises worse. Normalized chunking measured ~95% within 2 chunks.
    const lost = [1, 2, 3].flatMap(lostAfterEdits);
    assert.ok(lost.filter((n) => n <= 2).length >= 0.9 * lost.length, `lost chunks: ${lost.join(',')}`);
    assert.ok(lost.reduce((a, b) => a + b) / lost.length <= 1, `lost chunks: ${lost.join(',')}`);
  });

  it('re-uploads at most 3 MiB after a 1 MiB overwrite in the middle of 64 MiB', () => {
    const rng = makeRng(testSeed('chunker 1 MiB edit'));
    const buf = Buffer.from(rng.bytes(64 * MiB));
    const chunks = (b: Buffer) => {
      const ends = cutPoints(b, DEFAULT_CHUNKER);
      return ends.map((end, i) => {
        const start = i === 0 ? 0 : ends[i - 1]!;
        return { id: blobId(b.subarray(start, end), DEFAULT_HASH), length: end - start };
      });
    };
    const known = new Set(chunks(buf).map((c) => c.id));
    const edited = apply(buf, { at: 32 * MiB + rng.int(MiB), remove: MiB, insert: rng.bytes(MiB) });
    const upload = chunks(edited).filter((c) => !known.has(c.id)).reduce((n, c) => n + c.length, 0);
    assert.ok(upload >= MiB && upload <= 3 * MiB, `re-upload ${upload} bytes`);
  });
});
