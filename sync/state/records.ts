/**
 * The line format shared by journal and snapshot files: one record per line,
 *
 *   <crc32 of the JSON bytes, 8 hex digits> <JSON>\n
 *
 * JSON.stringify never emits a raw newline, so a newline always ends a record. A record counts
 * only when its newline is present and its checksum matches: a torn write (a partial line, a
 * missing newline) or a flipped byte ends the readable prefix, and nothing after it is trusted.
 */
import { crc32 } from 'node:zlib';

const NEWLINE = 0x0a;
const CRC_HEX = 8;

export function encodeRecord(value: unknown): string {
  const json = JSON.stringify(value);
  return `${crc32(json).toString(16).padStart(CRC_HEX, '0')} ${json}\n`;
}

export interface ScannedRecord {
  value: unknown;
  /** Byte offset just past this record's newline. */
  end: number;
}

/** The 8 lower-case hex digits at `start` as a number, or -1. (Per byte: this runs per record.) */
function readHex(buf: Buffer, start: number): number {
  let value = 0;
  for (let i = start; i < start + CRC_HEX; i++) {
    const c = buf[i] as number;
    const digit = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

/** Decodes the line at [start, nl) or returns undefined when it is damaged. */
function decodeLine(buf: Buffer, start: number, nl: number): unknown {
  if (nl - start < CRC_HEX + 2 || buf[start + CRC_HEX] !== 0x20) return undefined;
  const expected = readHex(buf, start);
  const body = buf.subarray(start + CRC_HEX + 1, nl);
  if (expected < 0 || crc32(body) !== expected) return undefined;
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Yields the intact records of `buf` from `start`, in order, and stops at the first damaged or
 * incomplete one. The caller learns where the good prefix ends from the last record's `end`.
 */
export function* scanRecords(buf: Buffer, start = 0): Generator<ScannedRecord> {
  let pos = start;
  while (pos < buf.length) {
    const nl = buf.indexOf(NEWLINE, pos);
    if (nl < 0) return;
    const value = decodeLine(buf, pos, nl);
    if (value === undefined) return;
    pos = nl + 1;
    yield { value, end: pos };
  }
}
