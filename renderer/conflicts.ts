/**
 * A conflict's two versions on the agent's page, side by side for the user who picks one: when
 * each was modified (local time), its size, and the device it came from where known (the copy's
 * name carries it; which device made the name's version is not recorded).
 *
 * What must hold: every value has its header in words (a table with column and row headers, which
 * a screen reader reads out with each cell), never colour alone; a version gone from the disk says so,
 * and a conflict listed before the agent's first scan (started paused or offline, from what its
 * state dir knows) says its versions are not scanned yet rather than gone. A "for all" that lets
 * versions go (keeping the names, or the copies) says how many and asks first; keeping both asks
 * nothing, as it loses nothing.
 */
import type { ConflictInfo, KeepSide, ResolvedConflicts, VersionInfo } from '../shared/agent-api.js';
import { formatBytes, plural, visibleName } from '../shared/status-text.js';
import { h } from './page.js';

function th(scope: 'col' | 'row', text: string): HTMLTableCellElement {
  const cell = h('th', {}, text);
  cell.setAttribute('scope', scope);
  return cell;
}

// One formatter for every row: toLocaleString builds one per call, half of a redraw of 1,000 conflicts.
const localTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

function modified(v: VersionInfo): HTMLElement | string {
  if (v.mtime === undefined) return 'unknown';
  const when = new Date(v.mtime);
  // format() throws on an invalid date, where toLocaleString said "Invalid Date".
  if (Number.isNaN(when.getTime())) return 'unknown';
  const t = h('time', {}, localTime.format(when));
  t.setAttribute('datetime', v.mtime);
  return t;
}

function size(v: VersionInfo): string {
  if (v.kind === 'dir') return 'a folder';
  if (v.kind === 'symlink') return 'a link';
  return v.size === undefined ? 'unknown' : formatBytes(v.size);
}

function row(label: string, c: ConflictInfo, v: VersionInfo | undefined, from: string): HTMLTableRowElement {
  if (v === undefined) {
    const why = c.versions === undefined ? 'Not scanned yet (the agent has not looked at the disk since it started)' : 'Not on the disk (deleted or moved since the last scan)';
    const cell = h('td', {}, why);
    cell.setAttribute('colspan', '3');
    return h('tr', {}, th('row', label), cell);
  }
  return h('tr', {}, th('row', label), h('td', {}, modified(v)), h('td', {}, size(v)), h('td', {}, from));
}

/**
 * The table of `c`'s versions; `deviceId` is this agent's, so that its own copies say "this device";
 * `twice`: the folder lists another conflict of the same file, so the table's name says its copy too.
 */
export function versionsTable(c: ConflictInfo, deviceId: string, twice = false): HTMLTableElement {
  const table = h(
    'table',
    { className: 'versions' },
    h('thead', {}, h('tr', {}, h('td'), th('col', 'Modified'), th('col', 'Size'), th('col', 'From'))),
    h('tbody', {}, row('This version', c, c.versions?.name, 'not recorded'), row('The other version', c, c.versions?.copy, c.device === deviceId ? 'this device' : visibleName(c.device))),
  );
  table.setAttribute('aria-label', `The two versions of ${visibleName(c.path)}${twice ? ` (the other is ${visibleName(c.copy)})` : ''}`);
  return table;
}

/** The "for all" buttons of a folder's conflicts, in order: what each keeps, and its label. */
export const KEEP_ALL: readonly (readonly [KeepSide, string])[] = [
  ['name', 'Keep this for all'],
  ['copy', 'Keep the other for all'],
  ['both', 'Keep both for all'],
];

/**
 * What the user must say yes to before a "for all" that lets versions go (`n` conflicts of `root`);
 * undefined for keeping both, which loses nothing.
 */
export function keepAllQuestion(root: string, n: number, keep: KeepSide): string | undefined {
  const all = `all ${plural(n, 'conflict')} in ${visibleName(root)}`;
  const history = "They stay in the layer's history.";
  if (keep === 'name') return `Keep the version with the name for ${all}? The ${n} other versions (the conflict copies) are deleted, on every device. ${history}`;
  if (keep === 'copy') return `Keep the other version for ${all}? The ${n} versions now under the names are replaced by them, on every device. ${history}`;
  return undefined;
}

/** What a "for all" did, in a line. */
export function keepAllOutcome(keep: KeepSide, r: ResolvedConflicts): string {
  const n = plural(r.resolved.length, 'conflict');
  if (keep === 'both') return `Kept both versions of ${n}: each other version is beside its file, no longer a conflict copy.`;
  return keep === 'name' ? `Kept the version with the name of ${n}; their copies were deleted.` : `Kept the other version of ${n}, under the name.`;
}
