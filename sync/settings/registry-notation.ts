/**
 * A registry value as one line of text: the notation of a value in a .reg file (what regedit
 * exports), without its name and without line continuations, so that a value's file in the layer
 * reads as an admin expects:
 *
 *   REG_SZ          "C:\\Users\\x" — `\\` and `\"` are the only escapes; a string that holds a
 *                   control character or a lone surrogate (not one line of UTF-8) is hex(1):
 *   REG_EXPAND_SZ   hex(2):25,00,…,00,00  the UTF-16LE text and its terminating NUL
 *   REG_MULTI_SZ    hex(7):61,00,00,00,00,00  each string NUL-terminated, then one more NUL
 *   REG_DWORD       dword:0000002a
 *   REG_QWORD       hex(b):2a,00,00,00,00,00,00,00  eight bytes, little-endian
 *   REG_BINARY      hex:01,02  (hex: alone is no bytes)
 *   REG_NONE        hex(0):…
 *
 * What must hold: formatValue and parseValue round-trip every value exactly (parseValue of
 * formatValue(v) is v), and formatValue's lines pass settings.ts badValue but for their length.
 * parseValue reads untrusted text (a file from the bucket): anything but this notation — an
 * unknown tag, bad or odd hex, a UTF-16 text of an odd length or without its terminator, a DWORD
 * over eight digits — is a one-line problem, never a value. Hex is read in either case; written,
 * it is lower-case, as regedit writes it.
 */
import { MAX_VALUE_BYTES } from './settings.js';

export type RegValue =
  | { type: 'sz' | 'expand_sz'; data: string }
  | { type: 'multi_sz'; data: string[] }
  | { type: 'dword'; data: number }
  | { type: 'qword'; data: bigint }
  | { type: 'binary' | 'none'; data: Uint8Array };

export type RegType = RegValue['type'];

export function formatValue(v: RegValue): string {
  switch (v.type) {
    case 'sz':
      return isLine(v.data) ? `"${v.data.replace(/[\\"]/g, (c) => `\\${c}`)}"` : `hex(1):${hexList(utf16(`${v.data}\0`))}`;
    case 'expand_sz':
      return `hex(2):${hexList(utf16(`${v.data}\0`))}`;
    case 'multi_sz':
      return `hex(7):${hexList(utf16(`${v.data.map((s) => `${s}\0`).join('')}\0`))}`;
    case 'dword':
      return `dword:${v.data.toString(16).padStart(8, '0')}`;
    case 'qword': {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(v.data);
      return `hex(b):${hexList(b)}`;
    }
    case 'binary':
      return `hex:${hexList(v.data)}`;
    case 'none':
      return `hex(0):${hexList(v.data)}`;
  }
}

/** The value `line` notes, or why it is not one. */
export function parseValue(line: string): RegValue | { problem: string } {
  if (line.length > 3 * MAX_VALUE_BYTES) return { problem: 'the value is too long' };
  if (line.startsWith('"')) return parseQuoted(line);
  if (line.startsWith('dword:')) {
    const digits = line.slice('dword:'.length);
    if (!/^[0-9a-fA-F]{1,8}$/.test(digits)) return { problem: 'a REG_DWORD is dword: and 1 to 8 hex digits' };
    return { type: 'dword', data: parseInt(digits, 16) };
  }
  const m = /^hex(?:\(([0-9a-fA-F]{1,8})\))?:/.exec(line);
  if (!m) return { problem: 'not a registry value (a "string", dword:, hex:, or hex(<type>):)' };
  const tag = m[1] === undefined ? undefined : parseInt(m[1], 16);
  const bytes = parseHex(line.slice(m[0].length));
  if (bytes === undefined) return { problem: `the bytes after ${m[0]} are not two-digit hex numbers separated by ","` };
  switch (tag) {
    case undefined:
      return { type: 'binary', data: bytes };
    case 0:
      return { type: 'none', data: bytes };
    case 1:
    case 2: {
      const text = fromUtf16(bytes);
      if (typeof text !== 'string') return text;
      if (!text.endsWith('\0')) return { problem: `the text of a hex(${tag}) value must end with its terminating NUL (00,00)` };
      return { type: tag === 1 ? 'sz' : 'expand_sz', data: text.slice(0, -1) };
    }
    case 7: {
      const text = fromUtf16(bytes);
      if (typeof text !== 'string') return text;
      if (text === '\0') return { type: 'multi_sz', data: [] };
      if (!text.endsWith('\0\0')) return { problem: 'the strings of a hex(7) value must each end with a NUL, and the list with one more (00,00)' };
      return { type: 'multi_sz', data: text.slice(0, -2).split('\0') };
    }
    case 0xb: {
      if (bytes.length !== 8) return { problem: `a REG_QWORD is 8 bytes, not ${bytes.length}` };
      return { type: 'qword', data: Buffer.from(bytes).readBigUInt64LE() };
    }
    default:
      return { problem: `hex(${m[1]}): is a registry type Strata does not sync` };
  }
}

/** Whether `s` can be a quoted string of one line: no control character, no lone surrogate. */
function isLine(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return !/[\x00-\x1f\x7f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

function parseQuoted(line: string): RegValue | { problem: string } {
  let out = '';
  for (let i = 1; i < line.length; i++) {
    const c = line[i]!;
    if (c === '"') {
      if (i !== line.length - 1) return { problem: 'text follows the closing " of a string (write \\" for a quote in it)' };
      if (!isLine(out)) return { problem: 'a quoted string must be one line without control characters (use hex(1):)' };
      return { type: 'sz', data: out };
    }
    if (c === '\\') {
      const next = line[++i];
      if (next !== '\\' && next !== '"') return { problem: 'a string\'s only escapes are \\\\ and \\"' };
      out += next;
    } else out += c;
  }
  return { problem: 'a string must end with "' };
}

function parseHex(list: string): Uint8Array | undefined {
  if (list === '') return new Uint8Array(0);
  if (list.length % 3 !== 2 || !/^[0-9a-fA-F]{2}(?:,[0-9a-fA-F]{2})*$/.test(list)) return undefined;
  return Uint8Array.from(Buffer.from(list.replace(/,/g, ''), 'hex'));
}

function hexList(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex').replace(/(..)(?!$)/g, '$1,');
}

/** UTF-16LE code units, lone surrogates and all (Node copies them as they are). */
export function utf16(s: string): Buffer {
  return Buffer.from(s, 'utf16le');
}

function fromUtf16(bytes: Uint8Array): string | { problem: string } {
  if (bytes.length % 2 !== 0) return { problem: `UTF-16 text is an even number of bytes, not ${bytes.length}` };
  return Buffer.from(bytes).toString('utf16le');
}
