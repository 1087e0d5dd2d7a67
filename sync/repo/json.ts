/**
 * Canonical JSON and the small schema toolkit the validators share.
 *
 * Canonical bytes (object keys sorted, no whitespace) make an object's id a function of its
 * content alone, so an unchanged tree or snapshot keeps its id on every device.
 */
import { StrataError, type ErrorCode } from '../errors.js';

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const parts = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`);
    return `{${parts.join(',')}}`;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('cannot encode a non-finite number');
  return JSON.stringify(value);
}

export function canonicalBytes(value: unknown): Uint8Array {
  return Buffer.from(canonicalJson(value), 'utf8');
}

/**
 * A validation failure bound to one object: `fail(reason)` builds the StrataError with the
 * object's code and key, and `what` is prefixed to the message (e.g. "tree 91c2…").
 */
export class Invalid {
  constructor(
    readonly code: ErrorCode,
    readonly key: string,
    readonly what: string,
  ) {}

  fail(reason: string, code: ErrorCode = this.code): StrataError {
    return new StrataError(code, `${this.what}: ${reason}`, { key: this.key });
  }
}

/** Parses untrusted bytes as JSON: invalid UTF-8 or JSON is the object's error, never a crash. */
export function parseJson(bytes: Uint8Array, v: Invalid): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw v.fail('is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw v.fail(`is not valid JSON (${(err as Error).message})`);
  }
}

export type Json = Record<string, unknown>;

export function isPlainObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `value` must be an object with exactly the keys `required` plus any of `optional`. */
export function expectObject(value: unknown, required: readonly string[], v: Invalid, where: string, optional: readonly string[] = []): Json {
  if (!isPlainObject(value)) throw v.fail(`${where} is not an object`);
  for (const k of required) {
    if (!Object.hasOwn(value, k)) throw v.fail(`${where} lacks "${k}"`);
  }
  for (const k of Object.keys(value)) {
    if (!required.includes(k) && !optional.includes(k)) throw v.fail(`${where} has unknown field ${JSON.stringify(k)}`);
  }
  return value;
}

export function expectSafeInt(value: unknown, v: Invalid, where: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw v.fail(`${where} must be an integer in ${min}…${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function expectString(value: unknown, v: Invalid, where: string, maxLength = 4096): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
    throw v.fail(`${where} must be a non-empty string of at most ${maxLength} characters`);
  }
  return value;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

export function expectTime(value: unknown, v: Invalid, where: string): string {
  if (typeof value !== 'string' || !ISO_TIME.test(value) || !Number.isFinite(Date.parse(value))) {
    throw v.fail(`${where} must be an ISO-8601 UTC time, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function short(id: string): string {
  return id.length > 12 ? `${id.slice(0, 12)}…` : id;
}
