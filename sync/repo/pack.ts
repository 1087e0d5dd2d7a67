/**
 * Pack layout. A pack is one object holding many blobs, so that a restore of many small files
 * costs few requests:
 *
 *   blob 0 | blob 1 | … | trailer JSON | trailer length (uint32 LE) | magic "STRPACK1"
 *
 * The trailer is canonical JSON `{"blobs":[{"id","length","offset","type"}…],"version":1}`. It
 * repeats what the index says about the pack, so `check` can compare the two and an index can be
 * rebuilt from the packs alone. A pack's id is the hash of all its bytes.
 */
import { isBlobId } from '../chunker/hash.js';
import { Invalid, expectObject, expectSafeInt, parseJson } from './json.js';
import type { BlobId, BlobType } from './types.js';

export interface PackEntry {
  id: BlobId;
  type: BlobType;
  offset: number;
  length: number;
}

export const PACK_MAGIC = 'STRPACK1';
/**
 * No blob is larger than this: chunks are at most the chunker's maxSize (itself capped at
 * 64 MiB) and trees are capped at 64 MiB. An index or trailer claiming more is hostile, and
 * refusing it keeps a reader from allocating what a hostile index asks for.
 */
export const MAX_BLOB_BYTES = 64 * 1024 * 1024;
export const FOOTER_BYTES = 4 + PACK_MAGIC.length;
const TRAILER_OPEN = '{"blobs":[';
const TRAILER_CLOSE = '],"version":1}';

/**
 * canonicalJson({ id, type, offset, length }) written out, keys in sorted order: it runs three
 * times for every blob a writer adds, and the generic encoder's sorting was a large part of the
 * cost of uploading many small files.
 */
export function entryJson(e: PackEntry): string {
  return `{"id":${JSON.stringify(e.id)},"length":${e.length},"offset":${e.offset},"type":${JSON.stringify(e.type)}}`;
}

/** Collects blobs for one pack and knows the exact size the sealed pack will have. */
export class PackBuilder {
  readonly entries: PackEntry[] = [];
  private readonly parts: Uint8Array[] = [];
  private dataBytes = 0;
  private trailerBytes = TRAILER_OPEN.length + TRAILER_CLOSE.length;

  get count(): number {
    return this.entries.length;
  }

  /** Size of the sealed pack if `length` more bytes of blob `id` were added (or as it is). */
  sizeWith(id?: BlobId, type: BlobType = 'data', length = 0): number {
    let trailer = this.trailerBytes;
    if (id !== undefined) trailer += entryJson({ id, type, offset: this.dataBytes, length }).length + (this.count > 0 ? 1 : 0);
    return this.dataBytes + length + trailer + FOOTER_BYTES;
  }

  add(type: BlobType, id: BlobId, data: Uint8Array): PackEntry {
    const entry = { id, type, offset: this.dataBytes, length: data.byteLength };
    this.trailerBytes += entryJson(entry).length + (this.count > 0 ? 1 : 0);
    this.entries.push(entry);
    this.parts.push(data);
    this.dataBytes += data.byteLength;
    return entry;
  }

  /** The bytes of blob `entry` while the pack is still in memory. */
  blob(entry: PackEntry): Uint8Array | undefined {
    return this.parts[this.entries.indexOf(entry)];
  }

  seal(): Uint8Array {
    const trailer = Buffer.from(TRAILER_OPEN + this.entries.map(entryJson).join(',') + TRAILER_CLOSE, 'utf8');
    const footer = Buffer.alloc(FOOTER_BYTES);
    footer.writeUInt32LE(trailer.byteLength, 0);
    footer.write(PACK_MAGIC, 4, 'latin1');
    return Buffer.concat([...this.parts, trailer, footer]);
  }
}

/**
 * Checks blob entry `i` of a list (a trailer's or an index's) against the data area of its pack;
 * `list` names the list in an error ("trailer blob", "pack 1f2e… blob"). An index holds tens of
 * thousands of entries and a sign-in waits for all of them: a well-formed entry is checked without
 * building any message, and only one that fails is looked at again for what is wrong with it.
 */
export function validateEntry(value: unknown, dataEnd: number, v: Invalid, list: string, i: number): PackEntry {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const { id, type, offset, length } = value as Record<string, unknown>;
    if (
      isBlobId(id) &&
      (type === 'data' || type === 'tree') &&
      Number.isSafeInteger(offset) &&
      Number.isSafeInteger(length) &&
      (offset as number) >= 0 &&
      (length as number) >= 0 &&
      (length as number) <= MAX_BLOB_BYTES &&
      (offset as number) + (length as number) <= dataEnd &&
      Object.keys(value).length === 4
    ) {
      return { id, type, offset: offset as number, length: length as number };
    }
  }
  const where = `${list} ${i}`;
  const e = expectObject(value, ['id', 'type', 'offset', 'length'], v, where);
  if (!isBlobId(e.id)) throw v.fail(`${where}.id is not a blob id`);
  if (e.type !== 'data' && e.type !== 'tree') throw v.fail(`${where}.type ${JSON.stringify(e.type)} is unknown`);
  const offset = expectSafeInt(e.offset, v, `${where}.offset`);
  const length = expectSafeInt(e.length, v, `${where}.length`, 0, MAX_BLOB_BYTES);
  if (offset + length > dataEnd) {
    throw v.fail(`${where} (blob ${e.id}) ends at ${offset + length}, past the end of the pack's data (${dataEnd})`);
  }
  return { id: e.id, type: e.type, offset, length };
}

/** Parses and validates a whole pack's trailer; `key` is the pack key. */
export function parsePack(bytes: Uint8Array, key: string): PackEntry[] {
  const v = new Invalid('E_BAD_PACK', key, 'pack');
  if (bytes.byteLength < FOOTER_BYTES) throw v.fail('is too short to hold a trailer');
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.toString('latin1', buf.byteLength - PACK_MAGIC.length) !== PACK_MAGIC) throw v.fail('has no pack magic at its end');
  const trailerLength = buf.readUInt32LE(buf.byteLength - FOOTER_BYTES);
  const dataEnd = buf.byteLength - FOOTER_BYTES - trailerLength;
  if (dataEnd < 0) throw v.fail(`trailer length ${trailerLength} exceeds the pack`);
  const t = expectObject(parseJson(buf.subarray(dataEnd, dataEnd + trailerLength), v), ['blobs', 'version'], v, 'trailer');
  if (t.version !== 1) throw v.fail(`trailer version ${JSON.stringify(t.version)} is unknown`);
  if (!Array.isArray(t.blobs)) throw v.fail('trailer blobs is not an array');
  return t.blobs.map((b, i) => validateEntry(b, dataEnd, v, 'trailer blob', i));
}
