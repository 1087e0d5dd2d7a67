/**
 * What RegistryStore and its helper process (registry-script.ts: PowerShell over .NET's
 * Microsoft.Win32.Registry) say to each other: one JSON request on the helper's stdin, one JSON
 * answer on its stdout.
 *
 *   { "op": "read", "key": [name…] }
 *     → { "ok": true, "keys": [{ "key": [name…], "values": [{ "name", "kind", "data" }] } | { "key": [name…], "denied": true }] }
 *       every key under `key` (itself first, as []: names relative to it) with its values; a key
 *       the user may not read is `denied`, and nothing under it is answered
 *   { "op": "write", "changes": [{ "key": [name…], "name", "kind"?, "data"? }] }  (no kind: delete)
 *     → { "ok": true, "results": [{ "ok": true } | { "ok": false, "denied"?: true, "error": "…" }] }
 *       one result per change, in order
 *   anything that fails as a whole → { "ok": false, "error": "…" }
 *
 * Every name and datum is base64, so that the JSON is ASCII and nothing is lost on the way (a
 * console's code page, a lone surrogate in a name): names and strings as UTF-16LE code units;
 * `dword` 4 and `qword` 8 bytes little-endian; `binary` and `none` their bytes; `multi_sz` a list
 * of strings. `kind` "unknown" is a type .NET does not name (REG_LINK, a vendor's own number).
 *
 * What must hold: an answer is untrusted until parseReadAnswer/parseWriteAnswer have checked every
 * field (bad base64, a DWORD of 3 bytes, a result too few): any fault is one E_SETTINGS error.
 */
import { StrataError } from '../errors.js';
import type { RegValue } from './registry-notation.js';
import { utf16 } from './registry-notation.js';

export type ReadRequest = { op: 'read'; key: string[] };
export type WriteChange = { key: string[]; name: string; kind?: RegValue['type']; data?: string | string[] };
export type WriteRequest = { op: 'write'; changes: WriteChange[] };
export type RegistryRequest = ReadRequest | WriteRequest;

/** A key read: its names relative to the one asked for, and its values (`undefined`: a type not synced); `denied`: not readable (no values, nothing under it). */
export interface ReadKey {
  key: string[];
  values: { name: string; value: RegValue | undefined }[];
  denied?: true;
}

export interface WriteResult {
  ok: boolean;
  denied?: true;
  error?: string;
}

export function readRequest(key: readonly string[]): ReadRequest {
  return { op: 'read', key: key.map(b64text) };
}

export function writeRequest(changes: readonly { key: readonly string[]; name: string; value: RegValue | undefined }[]): WriteRequest {
  return {
    op: 'write',
    changes: changes.map((c) => ({ key: c.key.map(b64text), name: b64text(c.name), ...(c.value === undefined ? {} : { kind: c.value.type, data: encodeData(c.value) }) })),
  };
}

export function parseReadAnswer(answer: unknown): ReadKey[] {
  const a = whole(answer);
  if (!Array.isArray(a.keys)) throw bad('read: no "keys" list');
  return a.keys.map((k: unknown, i: number) => {
    const entry = record(k, `keys[${i}]`);
    if (!Array.isArray(entry.key)) throw bad(`keys[${i}]: "key" must be a list`);
    const key = entry.key.map((n: unknown, j: number) => text(n, `keys[${i}].key[${j}]`));
    if (entry.denied !== undefined) {
      if (entry.denied !== true || entry.values !== undefined) throw bad(`keys[${i}]: a key denied holds no values`);
      return { key, values: [], denied: true as const };
    }
    if (!Array.isArray(entry.values)) throw bad(`keys[${i}]: "values" must be a list`);
    return {
      key,
      values: entry.values.map((v: unknown, j: number) => {
        const field = `keys[${i}].values[${j}]`;
        const r = record(v, field);
        return { name: text(r.name, `${field}.name`), value: r.kind === 'unknown' ? undefined : decodeData(r.kind, r.data, field) };
      }),
    };
  });
}

export function parseWriteAnswer(answer: unknown, count: number): WriteResult[] {
  const a = whole(answer);
  if (!Array.isArray(a.results) || a.results.length !== count) throw bad(`write: ${count} results were due`);
  return a.results.map((r: unknown, i: number) => {
    const x = record(r, `results[${i}]`);
    if (x.ok === true) return { ok: true };
    if (x.ok !== false || typeof x.error !== 'string') throw bad(`results[${i}]: neither done nor failed with an error`);
    return { ok: false, error: oneLine(x.error), ...(x.denied === true ? { denied: true as const } : {}) };
  });
}

function whole(answer: unknown): Record<string, unknown> {
  const a = record(answer, 'the answer');
  if (a.ok === false) throw new StrataError('E_SETTINGS', `the registry could not be read or written: ${typeof a.error === 'string' ? oneLine(a.error) : 'no reason given'}`);
  if (a.ok !== true) throw bad('the answer is neither ok nor failed');
  return a;
}

function encodeData(v: RegValue): string | string[] {
  switch (v.type) {
    case 'sz':
    case 'expand_sz':
      return b64text(v.data);
    case 'multi_sz':
      return v.data.map(b64text);
    case 'dword': {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(v.data);
      return b.toString('base64');
    }
    case 'qword': {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(v.data);
      return b.toString('base64');
    }
    case 'binary':
    case 'none':
      return Buffer.from(v.data).toString('base64');
  }
}

function decodeData(kind: unknown, data: unknown, field: string): RegValue {
  switch (kind) {
    case 'sz':
    case 'expand_sz':
      return { type: kind, data: text(data, `${field}.data`) };
    case 'multi_sz':
      if (!Array.isArray(data)) throw bad(`${field}.data: a multi_sz is a list`);
      return { type: kind, data: data.map((s: unknown, i: number) => text(s, `${field}.data[${i}]`)) };
    case 'dword':
    case 'qword': {
      const b = bytes(data, `${field}.data`);
      if (b.length !== (kind === 'dword' ? 4 : 8)) throw bad(`${field}.data: a ${kind} of ${b.length} bytes`);
      return kind === 'dword' ? { type: kind, data: b.readUInt32LE() } : { type: kind, data: b.readBigUInt64LE() };
    }
    case 'binary':
    case 'none':
      return { type: kind, data: Uint8Array.from(bytes(data, `${field}.data`)) };
    default:
      throw bad(`${field}.kind: ${JSON.stringify(kind)} is not a kind of value`);
  }
}

function b64text(s: string): string {
  return utf16(s).toString('base64');
}

function text(value: unknown, field: string): string {
  const b = bytes(value, field);
  if (b.length % 2 !== 0) throw bad(`${field}: UTF-16 text of an odd length`);
  return b.toString('utf16le');
}

function bytes(value: unknown, field: string): Buffer {
  if (typeof value !== 'string' || value.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw bad(`${field}: not base64`);
  return Buffer.from(value, 'base64');
}

function record(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(`${field} is not an object`);
  return value as Record<string, unknown>;
}

function bad(what: string): StrataError {
  return new StrataError('E_SETTINGS', `the registry helper answered what it should not: ${what}`);
}

function oneLine(s: string): string {
  return s.trim().split(/\r?\n/)[0]?.slice(0, 300) ?? '';
}
