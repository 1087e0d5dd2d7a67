/**
 * A conflict's two versions on the agent's page, side by side for the user who picks one: when
 * each was modified (local time), its size, and the device it came from where known (the copy's
 * name carries it; which device made the name's version is not recorded).
 *
 * What must hold: every value has its header in words (a table with column and row headers, which
 * a screen reader reads out with each cell), never colour alone; a version gone from the disk says so.
 */
import type { ConflictInfo, VersionInfo } from '../shared/agent-api.js';
import { formatBytes } from '../shared/status-text.js';
import { h } from './page.js';

function th(scope: 'col' | 'row', text: string): HTMLTableCellElement {
  const cell = h('th', {}, text);
  cell.setAttribute('scope', scope);
  return cell;
}

function modified(v: VersionInfo): HTMLElement | string {
  if (v.mtime === undefined) return 'unknown';
  const t = h('time', {}, new Date(v.mtime).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }));
  t.setAttribute('datetime', v.mtime);
  return t;
}

function size(v: VersionInfo): string {
  if (v.kind === 'dir') return 'a folder';
  if (v.kind === 'symlink') return 'a link';
  return v.size === undefined ? 'unknown' : formatBytes(v.size);
}

function row(label: string, v: VersionInfo | undefined, from: string): HTMLTableRowElement {
  if (v === undefined) {
    const gone = h('td', {}, 'Not on the disk (deleted or moved since the last scan)');
    gone.setAttribute('colspan', '3');
    return h('tr', {}, th('row', label), gone);
  }
  return h('tr', {}, th('row', label), h('td', {}, modified(v)), h('td', {}, size(v)), h('td', {}, from));
}

/** The table of `c`'s versions; `deviceId` is this agent's, so that its own copies say "this device". */
export function versionsTable(c: ConflictInfo, deviceId: string): HTMLTableElement {
  const table = h(
    'table',
    { className: 'versions' },
    h('thead', {}, h('tr', {}, h('td'), th('col', 'Modified'), th('col', 'Size'), th('col', 'From'))),
    h('tbody', {}, row('This version', c.versions?.name, 'not recorded'), row('The other version', c.versions?.copy, c.device === deviceId ? 'this device' : c.device)),
  );
  table.setAttribute('aria-label', `The two versions of ${c.path}`);
  return table;
}
