/**
 * Human-readable forms of numbers, times and modes for the CLI's text output. Pure functions:
 * the JSON output carries the raw values, so nothing here needs to be parseable.
 */

import { escapeControls } from '../../shared/status-text.js';

/**
 * Text safe to write to a terminal: every character a terminal would act on (escape sequences,
 * line breaks, the bell, bidi overrides) shown as its escape (`\x1b`, `\n`, `\u202e`), as a string
 * literal writes it. Names reach the text output from the disk, the bucket and the agent, none of
 * them trusted; --json output carries them unchanged.
 */
export function printable(text: string): string {
  return escapeControls(text, { bidi: true });
}

/** Bytes as the UI and the tray say them ("1.5 KiB"): one implementation for every place. */
export { formatBytes } from '../../shared/status-text.js';

/** An ISO time without milliseconds, in UTC: stable output whatever the machine's zone. */
export function formatTime(t: string | number): string {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const TYPE_LETTER: Record<string, string> = { file: '-', dir: 'd', symlink: 'l', whiteout: 'w' };

/** `ls -l` style: "-rw-r--r--", "drwxr-xr-x", "lrwxrwxrwx", "w---------" for a whiteout. */
export function formatMode(type: string, mode: number | undefined): string {
  const bits = mode ?? (type === 'symlink' ? 0o777 : 0);
  let out = TYPE_LETTER[type] ?? '?';
  for (let shift = 6; shift >= 0; shift -= 3) {
    const b = (bits >> shift) & 7;
    out += (b & 4 ? 'r' : '-') + (b & 2 ? 'w' : '-') + (b & 1 ? 'x' : '-');
  }
  return out;
}

/** The short form of a content id shown in listings (`strata restore` accepts it back). */
export function shortId(id: string): string {
  return id.slice(0, 12);
}

/** Fixed-width columns: each row's cells (made printable) padded to the widest cell of their column, last one free. */
export function columns(cells: string[][], rightAligned: ReadonlySet<number> = new Set()): string[] {
  const rows = cells.map((row) => row.map(printable));
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => {
        if (i === row.length - 1) return cell;
        return rightAligned.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0);
      })
      .join('  '),
  );
}
