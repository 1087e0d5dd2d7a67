/**
 * Conflict copy names, as Syncthing writes them:
 *
 *   report.docx  →  report.sync-conflict-20261122-031500-laptop.docx
 *   Makefile     →  Makefile.sync-conflict-20261122-031500-laptop
 *   .bashrc      →  .bashrc.sync-conflict-20261122-031500-laptop
 *
 * The stamp is the losing version's mtime in UTC and the device is the one that made that
 * version, so every device computes the same name. When that name is taken, a counter goes after
 * the device (`…-laptop-2.docx`, `-3`, …), the first free one in that order.
 */
import { createHash } from 'node:crypto';

const MARKER = '.sync-conflict-';
/** Device ids become part of a file name: anything outside this set is replaced by '_'. */
const UNSAFE_DEVICE_CHARS = /[^A-Za-z0-9_-]/g;

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** `YYYYMMDD-HHMMSS` in UTC; times outside what Date can represent count as the epoch. */
export function conflictStamp(mtimeMs: number): string {
  const ms = Number.isFinite(mtimeMs) && Math.abs(mtimeMs) <= 8.64e15 ? mtimeMs : 0;
  const d = new Date(ms);
  const date = `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1, 2)}${pad(d.getUTCDate(), 2)}`;
  return `${date}-${pad(d.getUTCHours(), 2)}${pad(d.getUTCMinutes(), 2)}${pad(d.getUTCSeconds(), 2)}`;
}

/** Splits `name` into stem and extension; a leading dot is part of the stem (`.bashrc`). */
export function splitExtension(name: string): [stem: string, ext: string] {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || dot === name.length - 1) return [name, ''];
  return [name.slice(0, dot), name.slice(dot)];
}

export function safeDeviceId(device: string): string {
  const safe = device.replace(UNSAFE_DEVICE_CHARS, '_');
  return safe === '' ? '_' : safe;
}

/**
 * The conflict name for one file name (not a path); `n` > 1 adds the counter. A name longer than
 * NAME_MAX_BYTES cannot be made on Linux nor held by a layer, so where the whole would be longer
 * its stem is cut (the extension too, if it alone leaves no room) and marked with cutMark: the
 * conflict list finds the original among the copy's siblings by that mark.
 */
export function conflictName(name: string, mtimeMs: number, device: string, n = 1): string {
  const [stem, ext] = splitExtension(name);
  const counter = n > 1 ? `-${n}` : '';
  return withTail(stem, ext, `${MARKER}${conflictStamp(mtimeMs)}-${safeDeviceId(device)}${counter}`);
}

/** Digits of a conflict stamp (`YYYYMMDD-HHMMSS`). */
const STAMP_LENGTH = 15;

/**
 * The stamps and counters under which `name` could be a conflict copy made by `device` (one per
 * `.sync-conflict-` in it: the tail is whole even in a cut name, but a stem may hold one too).
 * Which file it copies it does not say: conflictName of a candidate must give `name` back.
 */
export function copyTails(name: string, device: string): { stamp: string; n: number }[] {
  const dev = `-${safeDeviceId(device)}`;
  const out: { stamp: string; n: number }[] = [];
  for (let at = name.indexOf(MARKER); at >= 0; at = name.indexOf(MARKER, at + 1)) {
    const end = at + MARKER.length + STAMP_LENGTH;
    if (!name.startsWith(dev, end)) continue;
    const counter = /^-(\d+)/.exec(name.slice(end + dev.length));
    out.push({ stamp: name.slice(at + MARKER.length, end), n: counter ? Number(counter[1]) : 1 });
  }
  return out;
}

/**
 * `stem + tail + ext`, a name no longer than NAME_MAX_BYTES: where the whole would be longer, the
 * stem is cut (the extension too, if it alone leaves no room) and marked with cutMark of
 * `stem + ext`. Conflict copies and restored versions (`name.restored-<time>.ext`) are named so.
 */
export function withTail(stem: string, ext: string, tail: string): string {
  const whole = `${stem}${tail}${ext}`;
  if (Buffer.byteLength(whole) <= NAME_MAX_BYTES) return whole;
  const name = `${stem}${ext}`;
  const mark = cutMark(name);
  const room = NAME_MAX_BYTES - Buffer.byteLength(tail) - mark.length;
  // An extension that leaves no room goes with the stem: the whole name is cut.
  const keptExt = Buffer.byteLength(ext) < room ? ext : '';
  const body = keptExt === '' ? name : stem;
  return `${cutUtf8(body, room - Buffer.byteLength(keptExt))}${mark}${tail}${keptExt}`;
}

/** The longest file name, in UTF-8 bytes, Linux makes and a layer holds (repo/tree.ts). */
export const NAME_MAX_BYTES = 255;

/** What marks a cut conflict name's stem: `~` and the first 8 hex digits of the name's SHA-256. */
export function cutMark(name: string): string {
  return `~${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}

/** The longest prefix of `s` of at most `bytes` UTF-8 bytes, cut between code points. */
function cutUtf8(s: string, bytes: number): string {
  let out = '';
  let used = 0;
  for (const ch of s) {
    used += Buffer.byteLength(ch);
    if (used > bytes) break;
    out += ch;
  }
  return out;
}

/** Whether a file name is a conflict copy (for the UI's conflict list). */
export function isConflictName(name: string): boolean {
  return /\.sync-conflict-\d{8}-\d{6}-[A-Za-z0-9_-]+/.test(name);
}

/**
 * The first conflict path for `path` that `taken` does not claim. `taken` must be a pure
 * function of the merge's inputs so that every device picks the same counter.
 */
export function freeConflictPath(path: string, mtimeMs: number, device: string, taken: (p: string) => boolean): string {
  const slash = path.lastIndexOf('/');
  const dir = path.slice(0, slash + 1);
  const name = path.slice(slash + 1);
  for (let n = 1; ; n++) {
    const candidate = dir + conflictName(name, mtimeMs, device, n);
    if (!taken(candidate)) return candidate;
  }
}
