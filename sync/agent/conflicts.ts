/**
 * The conflict list the tray shows: every conflict copy in the folder, read back from its name
 * (plan/conflict-name.ts writes `stem.sync-conflict-YYYYMMDD-HHMMSS-<device>[-n].ext`). The
 * files themselves are the record, so the list survives restarts and is the same on every device.
 */
import type { ConflictInfo, VersionInfo } from '../../shared/agent-api.js';

const MARKER = '.sync-conflict-';
const REST = /^\d{8}-\d{6}-([A-Za-z0-9_-]+?)(?:-(\d+))?(\.[^/]*)?$/;

/** The conflict a path is the copy of, or undefined when it is not a conflict copy. */
export function parseConflictPath(path: string): ConflictInfo | undefined {
  const slash = path.lastIndexOf('/');
  const name = path.slice(slash + 1);
  const at = name.lastIndexOf(MARKER);
  if (at <= 0) return undefined;
  const m = REST.exec(name.slice(at + MARKER.length));
  if (m === null) return undefined;
  const original = `${path.slice(0, slash + 1)}${name.slice(0, at)}${m[3] ?? ''}`;
  return { path: original, copy: path, device: m[1]! };
}

/** The conflict copies among `paths`, sorted by copy path; `versionOf` describes both sides of each. */
export function listConflicts(paths: Iterable<string>, versionOf?: (path: string) => VersionInfo | undefined): ConflictInfo[] {
  const out: ConflictInfo[] = [];
  for (const p of paths) {
    if (!p.includes(MARKER)) continue;
    const c = parseConflictPath(p);
    if (c === undefined) continue;
    if (versionOf !== undefined) {
      const [name, copy] = [versionOf(c.path), versionOf(c.copy)];
      c.versions = { ...(name && { name }), ...(copy && { copy }) };
    }
    out.push(c);
  }
  return out.sort((a, b) => (a.copy < b.copy ? -1 : a.copy > b.copy ? 1 : 0));
}
