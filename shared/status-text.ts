/**
 * The agent's state in words, for every place that shows it: the UI (renderer/), the tray
 * (electron/) and the CLI's text output (sync/cli/, which escapes what the others isolate). Pure
 * functions over the Agent API's types.
 */
import type { AgentStatus, ApiError, FolderStatus, NotCarried, PendingDeletes, Progress, SyncState } from './agent-api.js';

export const STATE_LABELS: Record<SyncState, string> = {
  idle: 'Idle',
  scanning: 'Scanning',
  uploading: 'Uploading',
  downloading: 'Downloading',
  paused: 'Paused',
  offline: 'Offline',
  error: 'Error',
};

/** A folder whose pass waits for the user: a mass delete held, and not answered yet (an answered one waits for its pass). */
export function waitsForAnswer(f: FolderStatus): boolean {
  return f.pendingDeletes !== undefined && f.pendingDeletes.answer === undefined;
}

/**
 * Whether a folder's error is its last pass's rather than why it is in its state: an error stands
 * until a pass ends, so while the folder is paused or a pass runs again it says the last pass
 * failed; in state 'error' or 'offline' it is why.
 */
export function lastPassFailed(f: FolderStatus): boolean {
  return f.error !== undefined && f.state !== 'error' && f.state !== 'offline';
}

/** The states of a pass at work. */
const WORKING: ReadonlySet<SyncState> = new Set(['scanning', 'uploading', 'downloading']);

/**
 * "In sync" for an idle folder or agent that has synced, unless a mass delete waits for the user;
 * "Pausing" for a pass at work once the agent is `paused` (Agent.pause marks it paused at once,
 * then waits for the pass to stop: it must not read as syncing on); the state's name otherwise.
 */
export function stateLabel(state: SyncState, lastSync: string | undefined, waiting = false, paused = false): string {
  if (paused && WORKING.has(state)) return 'Pausing';
  if (state !== 'idle') return STATE_LABELS[state];
  if (waiting) return 'Waiting for you';
  return lastSync !== undefined ? 'In sync' : STATE_LABELS.idle;
}

/**
 * What answered holds are about to do, for an idle agent: "In sync" would be wrong, since their
 * pass is due. Deletes are said first; undefined when no hold is answered.
 */
function aboutTo(folders: readonly FolderStatus[]): string | undefined {
  const holds = folders.flatMap((f) => (f.pendingDeletes ? [f.pendingDeletes] : []));
  const files = (answer: PendingDeletes['answer']): number => holds.reduce((n, d) => (d.answer === answer ? n + d.files : n), 0);
  const deleting = files('confirm');
  if (deleting > 0) return `About to delete ${plural(deleting, 'file')}`;
  const restoring = files('restore');
  return restoring > 0 ? `About to put ${plural(restoring, 'file')} back` : undefined;
}

/**
 * The agent's state in a few words, as the tray's first line and the UI's header say it: what
 * waits for the user first, then what a pass does, then the answers given whose pass is due.
 */
export function agentLabel(s: AgentStatus): string {
  const waiting = s.folders.some(waitsForAnswer);
  return (!waiting && s.state === 'idle' ? aboutTo(s.folders) : undefined) ?? stateLabel(s.state, s.lastSync, waiting, s.paused);
}

/** The most characters of a path that a line for people shows (shortPath). */
export const PATH_SHOWN = 200;

/**
 * A path as a line for people shows it: one longer than `max` characters (a deep tree's run to
 * several KB) keeps its start and its end, an ellipsis for the middle. Only what is printed is
 * shortened: the error objects and --json output keep the whole path.
 */
export function shortPath(p: string, max = PATH_SHOWN): string {
  const chars = [...p];
  if (chars.length <= max) return p;
  const start = Math.ceil((max - 1) / 2);
  return `${chars.slice(0, start).join('')}…${chars.slice(chars.length - (max - 1 - start)).join('')}`;
}

/** The escapes of the control characters that have a short one. */
const SHORT_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `c` as an escape: \n, \t, \r, or its code point (\x1b, \u2028). */
function escaped(c: string): string {
  const code = c.codePointAt(0) ?? 0;
  return SHORT_ESCAPES[c] ?? (code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
}

/** Control characters (C0, DEL, C1), and the line and paragraph separators: each would break or hide a line. */
const CONTROL = /[\p{Cc}\u2028\u2029]/gu;
/** The same, and the bidi embeddings, overrides and isolates, which reorder what follows them on screen. */
const CONTROL_OR_BIDI = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

/**
 * `text` with each control character shown as its escape (`\x1b`, `\n`, `\u2028`), as a string
 * literal writes it; with `bidi`, the bidi controls too (`\u202e`): for a terminal, which cannot
 * isolate a name as the page and the tray do (isolatedName).
 */
export function escapeControls(text: string, { bidi = false } = {}): string {
  return text.replace(bidi ? CONTROL_OR_BIDI : CONTROL, escaped);
}
/** Whitespace at the start or the end of a name (all of a name of whitespace only). */
const EDGE_SPACE = /^\s+|\s+$/gu;

/**
 * A name from the agent (a file, a path, a key, a device) as a line for people shows it: nothing
 * in it may be invisible or pass for something else. A control character shows as an escape, so
 * "line1\nline2.txt" never reads as "line1 line2.txt"; whitespace at either end, or a name of
 * whitespace only, shows as "␣" for a space and as an escape for any other, so " notes.txt" is not
 * taken for "notes.txt" and a name of a tab is not nothing. Names without these are shown as they are.
 */
export function visibleName(name: string): string {
  return escapeControls(name).replace(EDGE_SPACE, (run) => [...run].map((c) => (c === ' ' ? '␣' : escaped(c))).join(''));
}

/** Left-to-right isolate (U+2066) and pop directional isolate (U+2069). */
const LRI = '\u2066';
const PDI = '\u2069';

/**
 * A name from the agent inside plain text of our own words (the tray, a notification), as the page
 * isolates one in a <bdi> (renderer/page.ts named): visible (visibleName) and between isolate marks,
 * so that right-to-left letters or an override (U+202E) in it reorder only the name, never the
 * words around it ("In <folder>, …"). Left to right as a whole, as the page shows it.
 */
export function isolatedName(name: string): string {
  return `${LRI}${visibleName(name)}${PDI}`;
}

/**
 * An error as the user reads it, in parts: what failed, then where — "access denied (", the where,
 * ")". `show` shows the where: the page makes it an element of its own (a <bdi>, renderer/page.ts
 * named), as every name from the disk or the bucket is in the page's words.
 */
export function errorParts<T>(e: ApiError, show: (name: string) => T): (string | T)[] {
  const where = e.path ?? e.key;
  return where === undefined ? [e.message] : [`${e.message} (`, show(shortPath(where)), ')'];
}

/**
 * An error as the user reads it: what failed, then where — "access denied (heads/user/alice/pc1)";
 * `show` shows the where (isolatedName in plain text).
 */
export function errorText(e: ApiError, show: (name: string) => string = visibleName): string {
  return errorParts(e, show).join('');
}

/** An error in one line as the CLI prints a StrataError: `E_CODE where: what` (`E_CODE what` without a where). */
export function errorLine(e: ApiError): string {
  const where = e.path ?? e.key;
  return where === undefined ? `${e.code} ${e.message}` : `${e.code} ${shortPath(where)}: ${e.message}`;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/**
 * 512 → "512 B", 1536 → "1.5 KiB": whole bytes below 1 KiB, one decimal above. A count may come
 * fractional (a rate, an average: bytes over seconds), and is rounded to whole bytes first, so
 * 1023.7 is "1.0 KiB", never "1023.7 B".
 */
export function formatBytes(n: number): string {
  let v = Math.round(n);
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${UNITS[i]}`;
}

/** "1 file", "3 files". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "45 s", "3 min" (up to an hour), "2 h 20 min": rounded up, as a time left should be. */
function formatDuration(seconds: number): string {
  const s = Math.ceil(seconds);
  if (s < 60) return `${s} s`;
  const min = Math.ceil(s / 60);
  if (min <= 60) return `${min} min`;
  const rest = min % 60;
  return `${Math.floor(min / 60)} h${rest > 0 ? ` ${rest} min` : ''}`;
}

/**
 * "5 s left", "3 min left": a time left as every progress line says it (the UI, the tray, the
 * CLI's status and progress line); undefined for none, or none known. A time left of 0 is no time
 * left: the pass is at its end, and "0 s left" would say it still runs.
 */
export function timeLeft(seconds: number | undefined): string | undefined {
  return seconds !== undefined && Number.isFinite(seconds) && seconds > 0 ? `${formatDuration(seconds)} left` : undefined;
}

/**
 * "12 of 40 files, 3.1 MiB of 8.0 MiB, 1.2 MiB/s, 5 s left"; while the totals are still counted,
 * "12 of 40+ files, 3.1 MiB of 8.0+ MiB, 1.2 MiB/s, still counting" (no time left: it would only
 * grow), and "looking for changes" before the scan found any.
 */
export function formatProgress(p: Progress): string {
  if (p.counting === true) {
    if (p.filesTotal === 0) return 'looking for changes';
    const parts = [`${p.files} of ${p.filesTotal}+ files`, `${formatBytes(p.bytes)} of ${formatBytes(p.bytesTotal)}+`];
    if (p.rate > 0) parts.push(`${formatBytes(p.rate)}/s`);
    return [...parts, 'still counting'].join(', ');
  }
  const parts = [`${p.files} of ${plural(p.filesTotal, 'file')}`, `${formatBytes(p.bytes)} of ${formatBytes(p.bytesTotal)}`];
  if (p.rate > 0) parts.push(`${formatBytes(p.rate)}/s`);
  const left = timeLeft(p.etaSeconds);
  if (left !== undefined) parts.push(left);
  return parts.join(', ');
}

/**
 * "Layer user/alice, 12 files": a folder's layer and its files at the last scan. Before any pass
 * counted them (a first sync, which may take hours) they are "not counted yet", never "0 files":
 * a folder that synced, or whose pass held its deletes, has a count, even of 0.
 */
export function layerLine(f: FolderStatus): string {
  const files = f.files === 0 && f.lastSync === undefined ? 'files not counted yet' : plural(f.files, 'file');
  return `Layer ${f.layer}, ${files}`;
}

/**
 * What a held mass delete waits for, in a line: the user's answer, or — once given — what the
 * next pass does with it (PendingDeletes.answer), since the hold stands until that pass ends.
 */
export function heldLine(d: PendingDeletes, paused: boolean): string {
  const files = plural(d.files, 'file');
  const when = paused ? 'when sync resumes' : 'on the next pass';
  if (d.answer === 'confirm') return `Confirmed: deleting ${files} ${when}`;
  if (d.answer === 'restore') return `Restore chosen: putting ${files} back ${when}`;
  return `Waiting for you: ${files} deleted`;
}

/** An answer to a held mass delete that found no hold, and why: "the restore could not be carried out: the files are already back". */
export function notCarriedWords(n: NotCarried): string {
  return `the ${n.answer === 'confirm' ? 'confirmation' : 'restore'} could not be carried out: ${n.why}`;
}

/** An answer given to a held mass delete that a pass has yet to carry out, in a few words: "confirmed: deleting them on the next pass". */
export function answerWords(answer: NonNullable<PendingDeletes['answer']>, paused: boolean): string {
  const when = paused ? 'when sync resumes' : 'on the next pass';
  return answer === 'confirm' ? `confirmed: deleting them ${when}` : `restore chosen: putting them back ${when}`;
}
