/**
 * The UI, browser code only. It talks to the agent through the typed Agent API in shared/ — over
 * loopback HTTP when the agent serves it (`strata ui` prints the address, whose fragment carries
 * the token) — and never imports the engine or Node built-ins (enforced by lint and
 * renderer/tsconfig.json).
 *
 * One page: the agent's state and device, Pause/Resume and Sync now, and per folder its state,
 * progress, last sync, error or warning, a held mass delete to confirm or restore, and its conflicts, each resolved by
 * keeping one of its two versions or both, or all of a folder's at once the same way, asked to
 * confirm where versions are let go (conflicts.ts shows when each was modified, its size and its
 * device; held.ts the held delete's box); and the settings the mirror did not sync. Every status
 * the agent pushes (Server-Sent Events) redraws the page, a conflict's row only where that conflict
 * changed (a pass pushes one at each step, and a folder may list 1,000 conflicts); the stream opens with the current
 * status, and reconnects by itself (EventSource) after a drop, or, where the browser gave up on it,
 * says why (a key the agent no longer takes) or opens it again.
 *
 * What must hold: the token is read from the URL fragment (a browser never sends it) or this tab's
 * session storage, sent as a bearer header on commands, and removed from the address bar; nothing from the agent is ever
 * inserted as HTML (text nodes only); no inline script or style (the page's CSP forbids them);
 * while the stream is down the page says it is not connected, never the last status's state as if
 * it were current.
 *
 * This file draws the page (App) from the session with the agent, session.ts: the status, the
 * stream, the commands and what became of them (its header says what must hold of those). The
 * line to the agent is client.ts, the redraw that keeps what did not change morph.ts, the parts
 * built from their input alone views.ts, the look style.ts.
 */
import type { AgentStatus, ConflictInfo, FolderStatus, KeepSide } from '../shared/agent-api.js';
import { agentLabel, errorParts, formatProgress, lastPassFailed, layerLine, stateLabel, visibleName } from '../shared/status-text.js';
import { Client } from './client.js';
import { KEEP_ALL, versionsTable } from './conflicts.js';
import { waitsForAnswer } from './held.js';
import { morph, standIn, update } from './morph.js';
import { h, named, startPage, type Child } from './page.js';
import { Session } from './session.js';
import { CSS } from './style.js';
import { focusAfter, heading, outcomeLines, settingsSection, time } from './views.js';

/** The state shown while the stream of statuses is down, for the page's state and each folder's. */
const NOT_CONNECTED = 'Not connected';

/**
 * How often at most a folder's progress is read out to a screen reader while its state stays the
 * same (a pass pushes figures several times a second): a change of state is read out at once.
 */
const ANNOUNCE_MS = 10_000;

/** What a folder's live region says: the words of the folder's state, the line read out, and when (ms) it was set. */
interface Spoken {
  state: string;
  line: string;
  at: number;
}

/** A conflict's row on the page, what it was built from (stableJson), and whether its buttons say a command runs. */
interface Row {
  el: HTMLLIElement;
  from: string;
  busy: boolean;
}

/** `v` as JSON with every object's keys in order: the same data gives the same text, however it was parsed. */
function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x !== null && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x));
}

class App {
  private readonly session: Session;
  /** The conflicts' rows the page shows, by folder and copy, with what each was built from. */
  private rows = new Map<string, Row>();
  /** What each folder's live region says (announced), by root: its state's words, the line, and when it was set. */
  private spoken = new Map<string, Spoken>();

  constructor(
    private readonly root: HTMLElement,
    client: Client,
  ) {
    this.session = new Session(client, () => this.render());
  }

  start(): void {
    this.session.start();
  }

  /**
   * `name`: the accessible name, when the label alone would not tell which item it acts on: it
   * must start with the label (WCAG 2.5.3: a voice-control user says what they see), then say what
   * the button acts on, and its folder (two folders may each hold a conflict or a held delete alike);
   * `available`: false disables the button while the agent's state makes it pointless. While a
   * command runs the buttons are only marked unavailable (the session ignores them): a disabled button
   * loses the focus, and a keyboard user would be sent back to the top of the page.
   */
  private button(label: string, onClick: () => void, name?: string, available = true): HTMLButtonElement {
    const b = h('button', {}, label);
    b.type = 'button';
    if (name !== undefined) b.setAttribute('aria-label', name);
    b.disabled = !available;
    if (this.session.busy) b.setAttribute('aria-disabled', 'true');
    b.onclick = onClick;
    return b;
  }

  private render(): void {
    const { status: s, problem, dropped } = this.session;
    const parts: Child[] = [];
    // The rows of this render, each taken from the last render's where its conflict is unchanged.
    const rows = new Map<string, Row>();
    const spoken = new Map<string, Spoken>();
    if (s === undefined) {
      parts.push(h('p', {}, problem?.message ?? dropped ?? 'Connecting to the agent…'));
    } else {
      parts.push(
        h('header', {}, h('h1', {}, 'Strata'), h('p', { className: 'state', role: 'status' }, dropped === undefined ? agentLabel(s) : NOT_CONNECTED), h('p', { className: 'device' }, `Device ${s.deviceId}`)),
        h(
          'nav',
          {},
          s.paused ? this.button('Resume', () => this.session.run('resume')) : this.button('Pause', () => this.session.run('pause')),
          // As in the tray: while paused, a pass asked for would only run at Resume.
          this.button('Sync now', () => this.session.run('syncNow'), undefined, !s.paused),
        ),
        // One line: a command that failed while the stream was down says the same and more.
        (problem ?? dropped) !== undefined && h('p', { className: 'problem', role: 'alert' }, problem?.message ?? dropped),
        ...s.folders.map((f) => this.folder(f, s, rows, spoken)),
      );
      if (s.folders.length === 0) parts.push(h('p', {}, 'No folders are synced.'));
      if (s.settings) parts.push(settingsSection(s.settings));
    }
    const next = h('div');
    next.append(...parts.filter((p): p is Node | string => p !== undefined && p !== false));
    const had = document.activeElement;
    const section = had?.closest('section') ?? null;
    const inConflicts = had?.closest('.conflicts') != null;
    morph(this.root, next);
    this.rows = rows;
    this.spoken = spoken;
    if (had !== null && had !== document.body) focusAfter(had, section, inConflicts);
  }

  /**
   * What `root`'s live region says, for a folder whose line reads `line` in state `state`: the line
   * when the state changed (a pass began, ended, failed, paused) or when the region last changed
   * ANNOUNCE_MS ago; else what it said, so a screen reader is not read every figure of a pass.
   */
  private announced(root: string, state: string, line: string, spoken: Map<string, Spoken>): string {
    const was = this.spoken.get(root);
    const at = Date.now();
    const next = was === undefined || was.state !== state || (was.line !== line && at - was.at >= ANNOUNCE_MS) ? { state, line, at } : was;
    spoken.set(root, next);
    return next.line;
  }

  private folder(f: FolderStatus, s: AgentStatus, rows: Map<string, Row>, spoken: Map<string, Spoken>): HTMLElement {
    const { dropped, note, outcome, held } = this.session;
    const section = h('section', { className: 'folder' }, heading('h2', visibleName(f.root)), h('p', { className: 'layer' }, layerLine(f)));
    const state = stateLabel(f.state, f.lastSync, waitsForAnswer(f), s.paused);
    // Without the stream the status is the last one pushed: it may be long out of date.
    const now = dropped === undefined ? `${state}${f.progress ? `: ${formatProgress(f.progress)}` : ''}` : `${NOT_CONNECTED} (last known: ${state})`;
    section.dataset.key = f.root;
    section.append(h('p', { className: 'folder-state' }, now));
    // Read out politely, and its figures not at every push (announced); the line above shows them all.
    const live = h('p', { className: 'announce' }, `${visibleName(f.root)}: ${this.announced(f.root, dropped === undefined ? state : NOT_CONNECTED, now, spoken)}`);
    live.setAttribute('aria-live', 'polite');
    live.setAttribute('aria-atomic', 'true');
    section.append(live);
    section.append(h('p', { className: 'last-sync' }, f.lastSync ? `Last in sync ${time(f.lastSync)}` : 'Not in sync yet'));
    if (f.error) section.append(h('p', { className: 'problem', role: 'alert' }, lastPassFailed(f) && 'Last pass failed: ', ...errorParts(f.error, named)));
    // No alert: the folder syncs on; this is for the user to fix when they can.
    if (f.warning) section.append(h('p', { className: 'warning' }, 'Warning: ', ...errorParts(f.warning, named)));
    if (note?.root === f.root) section.append(h('p', { className: 'note', role: 'status' }, named(note.path), note.text));
    const result = held.result(f.root);
    if (result !== undefined && !f.pendingDeletes) section.append(h('p', { className: 'result', role: 'status' }, result));
    const shown = f.pendingDeletes;
    if (shown) {
      const button = (label: string, onClick: () => void) => this.button(label, onClick, `${label} in ${visibleName(f.root)}`);
      section.append(held.box(f, shown, s.paused, button, (a) => this.session.answer(f.root, shown.id, a)));
    }
    if (outcome?.root === f.root) section.append(...outcomeLines(outcome));
    if (f.conflicts.length > 0) {
      const list = h('ul', { className: 'conflicts' });
      // Keyed: the "for all" buttons that come and go before it must not take the list's place (and its focus).
      list.dataset.key = 'conflicts';
      const paths = new Map<string, number>();
      for (const c of f.conflicts) paths.set(c.path, (paths.get(c.path) ?? 0) + 1);
      for (const c of f.conflicts) list.append(this.conflict(f.root, c, s.deviceId, (paths.get(c.path) ?? 0) > 1, rows));
      section.append(heading('h3', `Conflicts (${f.conflicts.length})`));
      if (f.conflicts.length > 1) section.append(this.keepAllButtons(f));
      section.append(list);
    }
    return section;
  }

  /** The folder's "for all" buttons: each conflict it shows ended the same way (keepAll). */
  private keepAllButtons(f: FolderStatus): HTMLElement {
    const n = f.conflicts.length;
    const buttons = KEEP_ALL.map(([keep, label]) => this.button(label, () => this.session.keepAll(f, keep), `${label}: the ${n} conflicts in ${visibleName(f.root)}`));
    const p = h('p', { className: 'actions keep-all' }, ...buttons);
    p.dataset.key = 'keep-all';
    return p;
  }

  /**
   * A node for conflict `c`'s row (a stand-in, see morph): the row the page shows, as it is where
   * nothing it is built from changed (a pass pushes a status at each step, and a folder may list
   * 1,000 conflicts), updated in place where something did. `twice`: the folder lists another
   * conflict of the same file.
   */
  private conflict(root: string, c: ConflictInfo, deviceId: string, twice: boolean, rows: Map<string, Row>): Node {
    const busy = this.session.busy;
    const key = JSON.stringify([root, c.copy]);
    const from = stableJson([c, deviceId, twice]);
    const was = this.rows.get(key);
    const row = was === undefined ? { el: this.buildConflict(root, c, deviceId, twice), from, busy } : was;
    if (row.from !== from) {
      update(row.el, this.buildConflict(root, c, deviceId, twice));
      row.from = from;
      row.busy = busy;
    } else if (row.busy !== busy) {
      // A command started or ended: its buttons say so (see button()), and nothing else of it changed.
      for (const b of row.el.querySelectorAll('button')) {
        if (busy) b.setAttribute('aria-disabled', 'true');
        else b.removeAttribute('aria-disabled');
      }
      row.busy = busy;
    }
    rows.set(key, row);
    return standIn(row.el);
  }

  private buildConflict(root: string, c: ConflictInfo, deviceId: string, twice: boolean): HTMLLIElement {
    // Two other devices may each have edited the file: its name alone would not tell their conflicts apart.
    const which = twice ? `${visibleName(c.path)}, not ${visibleName(c.copy)}` : visibleName(c.path);
    const resolve = (keep: KeepSide) => () => this.session.resolve(root, c, keep);
    const item = h(
      'li',
      {},
      named(c.path, 'path'),
      ' — the other version is ',
      named(c.copy, 'copy'),
      versionsTable(c, deviceId, twice),
      h(
        'span',
        { className: 'actions' },
        this.button('Keep this', resolve('name'), `Keep this: ${which} in ${visibleName(root)}`),
        this.button('Keep the other', resolve('copy'), `Keep the other: ${visibleName(c.copy)} in ${visibleName(root)}`),
        this.button('Keep both', resolve('both'), `Keep both: ${which} and ${visibleName(c.copy)} in ${visibleName(root)}`),
      ),
    );
    item.dataset.key = c.copy;
    return item;
  }
}

startPage(CSS, 'Open this page with the address `strata ui` prints: it carries the key to the agent.', (root, token) => new App(root, new Client(token)).start());
