/**
 * The conflict list the tray shows: every conflict copy in the folder, read back from its name
 * (plan/conflict-name.ts writes `stem.sync-conflict-YYYYMMDD-HHMMSS-<device>[-n].ext`). The
 * files themselves are the record, so the list survives restarts and is the same on every device.
 */
import type { ConflictInfo, VersionInfo } from '../../shared/agent-api.js';
import { foldKey } from '../plan/casefold.js';
import { cutMark, NAME_MAX_BYTES } from '../plan/conflict-name.js';

export const MARKER = '.sync-conflict-';
const REST = /^\d{8}-\d{6}-([A-Za-z0-9_-]+?)(?:-(\d+))?(\.[^/]*)?$/;

/** A layer path's folder (with its trailing `/`, or empty) and name. */
function splitName(path: string): [dir: string, name: string] {
  const at = path.lastIndexOf('/') + 1;
  return [path.slice(0, at), path.slice(at)];
}

/** The stem of a conflict name cut to fit NAME_MAX_BYTES ends in its original's cutMark. */
const CUT = /~[0-9a-f]{8}$/;

/**
 * The conflict a path is the copy of, or undefined when it is not a conflict copy. A copy whose
 * name was cut to fit (plan/conflict-name.ts) does not hold its original's name: `cut` is told
 * the copy's folder and mark, and answers the original's path, or undefined when no file there
 * has that mark (the copy is then listed as no conflict).
 */
export function parseConflictPath(path: string, cut?: (dir: string, mark: string) => string | undefined): ConflictInfo | undefined {
  const [dir, name] = splitName(path);
  const at = name.lastIndexOf(MARKER);
  if (at <= 0) return undefined;
  const m = REST.exec(name.slice(at + MARKER.length));
  if (m === null) return undefined;
  const stem = name.slice(0, at);
  const mark = CUT.exec(stem)?.[0];
  // Only a name at the limit was cut: a shorter one is whole, whatever its stem ends in.
  if (mark !== undefined && Buffer.byteLength(name) > NAME_MAX_BYTES - 4) {
    const original = cut?.(dir, mark);
    return original === undefined ? undefined : { path: original, copy: path, device: m[1]! };
  }
  return { path: `${dir}${stem}${m[3] ?? ''}`, copy: path, device: m[1]! };
}

/**
 * The conflict copies among `paths`, sorted by copy path; `versionOf` describes both sides of each.
 * A copy's name spells its original as the version that lost spelled it; where names fold
 * (`foldCase`: a case conflict, plan/casefold.ts) the file that kept the name may be spelled
 * otherwise (Readme.txt against README.txt, or é composed against decomposed), and the conflict
 * must name that file, or the list shows its version as gone and keeping it cannot find it.
 */
export function listConflicts(paths: Iterable<string>, versionOf?: (path: string) => VersionInfo | undefined, foldCase = false): ConflictInfo[] {
  const all = [...paths];
  const holder = foldCase ? foldHolders(all) : undefined;
  let marks: Map<string, string> | undefined;
  // Built only if a cut copy is met: folder + mark → the path whose name has that mark.
  const cut = (dir: string, mark: string): string | undefined => {
    marks ??= new Map(
      all
        .filter((p) => !p.includes(MARKER))
        .map((p) => {
          const [d, name] = splitName(p);
          return [`${d}${cutMark(name)}`, p];
        }),
    );
    return marks.get(`${dir}${mark}`);
  };
  const out: ConflictInfo[] = [];
  for (const p of all) {
    if (!p.includes(MARKER)) continue;
    const c = parseConflictPath(p, cut);
    if (c === undefined) continue;
    c.path = holder?.(c.path) ?? c.path;
    if (versionOf !== undefined) {
      const [name, copy] = [versionOf(c.path), versionOf(c.copy)];
      c.versions = { ...(name && { name }), ...(copy && { copy }) };
    }
    out.push(c);
  }
  return out.sort((a, b) => (a.copy < b.copy ? -1 : a.copy > b.copy ? 1 : 0));
}

/** For a path not among `all`, the one that is (no conflict copy) and folds alike; built on first need. */
function foldHolders(all: readonly string[]): (path: string) => string | undefined {
  let present: Set<string> | undefined;
  let byFold: Map<string, string> | undefined;
  return (path) => {
    present ??= new Set(all);
    if (present.has(path)) return undefined;
    byFold ??= new Map(all.filter((p) => !p.includes(MARKER)).map((p) => [foldKey(p), p]));
    return byFold.get(foldKey(path));
  };
}
