/**
 * Trees: one object per directory. Encoding is canonical (keys sorted, entries sorted by name in
 * UTF-16 code unit order), so an unchanged directory keeps its id; decoding validates every
 * field, because a tree's names become paths on disk.
 */
import { isBlobId } from '../chunker/hash.js';
import { entryNameProblem } from './names.js';
import { Invalid, canonicalBytes, expectObject, expectSafeInt, expectString, parseJson, short } from './json.js';
import type { Tree, TreeEntry } from './types.js';

/** A tree blob larger than this is refused before it is fetched or parsed. */
export const MAX_TREE_BYTES = 64 * 1024 * 1024;
const MAX_MODE = 0o177777;
const MAX_TARGET_BYTES = 4096;
/**
 * The latest time a Date can hold (ms): a later mtime could be neither shown (`ls` prints it as a
 * date) nor laid on a disk (utimes refuses the largest numbers).
 */
const MAX_MTIME_MS = 8.64e15;

const FIELDS: Record<TreeEntry['type'], readonly string[]> = {
  file: ['name', 'type', 'mode', 'mtimeMs', 'size', 'chunks'],
  dir: ['name', 'type', 'mode', 'mtimeMs', 'subtree'],
  symlink: ['name', 'type', 'mtimeMs', 'target'],
  whiteout: ['name', 'type'],
};

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function expectMtime(value: unknown, v: Invalid, where: string): number {
  if (!isMtime(value)) throw v.fail(`${where}.mtimeMs must be a number in 0…${MAX_MTIME_MS}`);
  return value;
}

function expectId(value: unknown, v: Invalid, where: string): string {
  if (!isBlobId(value)) throw v.fail(`${where} is not a blob id: ${JSON.stringify(value)?.slice(0, 80)}`);
  return value;
}

function isMtime(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && value <= MAX_MTIME_MS;
}

function isMode(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= MAX_MODE;
}

/**
 * A well-formed file or folder entry, checked without building a message (a sign-in validates tens
 * of thousands of them before anything else can start); undefined sends any other entry, and a bad
 * one, to the full check in validateEntry, which says what is wrong.
 */
function plainEntry(value: unknown): TreeEntry | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const e = value as Record<string, unknown>;
  if (typeof e.name !== 'string' || entryNameProblem(e.name) !== undefined || !isMode(e.mode) || !isMtime(e.mtimeMs)) return undefined;
  const keys = Object.keys(e).length;
  if (e.type === 'dir') return keys === 5 && isBlobId(e.subtree) ? (e as unknown as TreeEntry) : undefined;
  if (e.type !== 'file' || keys !== 6 || !Number.isSafeInteger(e.size) || (e.size as number) < 0 || !Array.isArray(e.chunks)) return undefined;
  for (const c of e.chunks) if (!isBlobId(c)) return undefined;
  return e as unknown as TreeEntry;
}

function validateEntry(value: unknown, index: number, v: Invalid): TreeEntry {
  const plain = plainEntry(value);
  if (plain) return plain;
  const at = `entry ${index}`;
  const type = (value as { type?: unknown } | null)?.type;
  if (typeof type !== 'string' || !Object.hasOwn(FIELDS, type)) {
    throw v.fail(`${at} has unknown type ${JSON.stringify(type)}`);
  }
  const e = expectObject(value, FIELDS[type as TreeEntry['type']], v, at);
  if (typeof e.name !== 'string') throw v.fail(`${at}.name is not a string`);
  const problem = entryNameProblem(e.name);
  if (problem) throw v.fail(`${at}: name ${JSON.stringify(e.name)} ${problem}`, 'E_BAD_PATH');
  const where = `${at} (${JSON.stringify(e.name)})`;
  if (type !== 'symlink' && type !== 'whiteout') expectSafeInt(e.mode, v, `${where}.mode`, 0, MAX_MODE);
  if (type !== 'whiteout') expectMtime(e.mtimeMs, v, where);
  if (type === 'file') {
    expectSafeInt(e.size, v, `${where}.size`);
    if (!Array.isArray(e.chunks)) throw v.fail(`${where}.chunks is not an array`);
    e.chunks.forEach((c, i) => expectId(c, v, `${where}.chunks[${i}]`));
  } else if (type === 'dir') {
    expectId(e.subtree, v, `${where}.subtree`);
  } else if (type === 'symlink') {
    const target = expectString(e.target, v, `${where}.target`, MAX_TARGET_BYTES);
    if (target.includes('\0') || Buffer.byteLength(target) > MAX_TARGET_BYTES) throw v.fail(`${where}.target contains NUL or is too long`);
  }
  return e as unknown as TreeEntry;
}

function validateTree(value: unknown, v: Invalid): Tree {
  const t = expectObject(value, ['entries'], v, 'tree');
  if (!Array.isArray(t.entries)) throw v.fail('entries is not an array');
  const entries = t.entries.map((e, i) => validateEntry(e, i, v));
  for (let i = 1; i < entries.length; i++) {
    const order = compareNames((entries[i - 1] as TreeEntry).name, (entries[i] as TreeEntry).name);
    if (order === 0) throw v.fail(`duplicate entry name ${JSON.stringify((entries[i] as TreeEntry).name)}`);
    if (order > 0) throw v.fail(`entries are not sorted at ${i} (${JSON.stringify((entries[i] as TreeEntry).name)})`);
  }
  return { entries };
}

/** Canonical bytes of `tree` (entries sorted here); throws E_BAD_TREE / E_BAD_PATH if invalid. */
export function encodeTree(tree: Tree): Uint8Array {
  const sorted = { entries: [...tree.entries].sort((a, b) => compareNames(a.name, b.name)) };
  validateTree(JSON.parse(JSON.stringify(sorted)), new Invalid('E_BAD_TREE', '', 'tree being saved'));
  const bytes = canonicalBytes(sorted);
  if (bytes.byteLength > MAX_TREE_BYTES) throw new Invalid('E_BAD_TREE', '', 'tree being saved').fail('is larger than the tree size limit');
  return bytes;
}

/**
 * Validates tree bytes read from the store; `key` is the pack key and `id` the blob id, both
 * named in every error.
 */
export function decodeTree(bytes: Uint8Array, key: string, id: string): Tree {
  const v = new Invalid('E_BAD_TREE', key, `tree ${short(id)}`);
  if (bytes.byteLength > MAX_TREE_BYTES) throw v.fail(`is ${bytes.byteLength} bytes, over the ${MAX_TREE_BYTES}-byte limit`);
  return validateTree(parseJson(bytes, v), v);
}
