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
 * it were current; an alert goes once what it says no longer stands (the agent could not be reached,
 * and a status came from it since), and a conflict resolved elsewhere before the page heard of it
 * is said as such, not as an error.
 *
 * This file is the page's state and what it does (App); the line to the agent is client.ts, the
 * redraw that keeps what did not change morph.ts, the parts built from their input alone views.ts,
 * the look style.ts.
 */
import type { AgentStatus, ConflictInfo, FolderStatus, KeepSide, ResolvedConflicts } from '../shared/agent-api.js';
import { agentLabel, errorParts, formatProgress, lastPassFailed, layerLine, stateLabel, visibleName } from '../shared/status-text.js';
import { Client, IF_STOPPED, Refused, Unauthorized, Unreachable } from './client.js';
import { KEEP_ALL, keepAllOutcome, keepAllQuestion, versionsTable } from './conflicts.js';
import { HeldAnswers, waitsForAnswer, type Answer } from './held.js';
import { morph, standIn, update } from './morph.js';
import { forgetToken, h, named, startPage, type Child } from './page.js';
import { CSS } from './style.js';
import { focusAfter, heading, outcomeLines, settingsSection, time } from './views.js';

/** The state shown while the stream of statuses is down, for the page's state and each folder's. */
const NOT_CONNECTED = 'Not connected';

/** The codes of a conflict the agent no longer has to resolve: said briefly in its folder, not as an error. */
const ALREADY_RESOLVED: ReadonlySet<string | undefined> = new Set(['E_NO_CONFLICT', 'E_CONFLICT_GONE']);

/**
 * How often at most a folder's progress is read out to a screen reader while its state stays the
 * same (a pass pushes figures several times a second): a change of state is read out at once.
 */
const ANNOUNCE_MS = 10_000;

/** How long the page waits before it opens again a stream the browser gave up on. */
const REOPEN_MS = 3000;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

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
  private status: AgentStatus | undefined;
  /**
   * Why the last command failed, until the next one succeeds: statuses pushed meanwhile keep it,
   * except that the agent could not be reached, which a status from it ends.
   */
  private problem: Error | undefined;
  /** What became of the last command where it found nothing left to act on, by folder, until the next one: `text` said of `path`. */
  private note: { root: string; path: string; text: string } | undefined;
  /** What the last "for all" of a folder's conflicts did (keepAll), until the next command: its line, and the conflicts it left, each with why. */
  private outcome: { root: string; text: string; failed: ResolvedConflicts['failed'] } | undefined;
  /** The stream of statuses dropped, until a status arrives again. */
  private dropped: string | undefined;
  private busy = false;
  /** Statuses pushed so far: a command's answer older than the last push is not shown. */
  private pushed = 0;
  private source: EventSource | undefined;
  private readonly held = new HeldAnswers();
  /** The conflicts' rows the page shows, by folder and copy, with what each was built from. */
  private rows = new Map<string, Row>();
  /** What each folder's live region says (announced), by root: its state's words, the line, and when it was set. */
  private spoken = new Map<string, Spoken>();

  constructor(
    private readonly root: HTMLElement,
    private readonly client: Client,
  ) {}

  start(): void {
    this.listen();
    // The stream opens with the status too; this answer only counts if it comes first.
    this.client.call('status', {}).then(
      (s) => this.pushed === 0 && this.show(s),
      (err: unknown) => this.fail(err),
    );
  }

  private listen(): void {
    this.source = this.client.events(
      (e) => {
        if (e.type !== 'status') return;
        this.pushed++;
        this.dropped = undefined;
        this.show(e.status);
      },
      () => {
        this.dropped = `Lost the connection to the agent; trying again. ${IF_STOPPED}`;
        this.render();
        if (this.source?.readyState === EventSource.CLOSED) this.afterGivingUp();
      },
    );
  }

  /**
   * EventSource tries again by itself after a network error, but gives up for good on an answer
   * that is not a stream: the 401 of an agent that restarted at this address with a new key. A
   * command says which it was: a refused key is said as such; anything else, the stream is opened
   * again after a while.
   */
  private afterGivingUp(): void {
    this.client.call('status', {}).then(
      () => setTimeout(() => this.listen(), REOPEN_MS),
      (err: unknown) => (err instanceof Unauthorized ? this.fail(err) : setTimeout(() => this.listen(), REOPEN_MS)),
    );
  }

  private show(status: AgentStatus): void {
    if (this.problem instanceof Unreachable) this.problem = undefined;
    this.status = status;
    this.held.seen(status);
    this.render();
  }

  private fail(err: unknown): void {
    if (err instanceof Unauthorized) {
      forgetToken();
      this.source?.close();
    }
    this.problem = err instanceof Error ? err : new Error(String(err));
    this.render();
  }

  /**
   * A command found nothing left to act on in `root` (done elsewhere meanwhile): said briefly, `text`
   * after `path`, not as an error, and the status asked for, since the page's is behind the agent's.
   */
  private gone(root: string, path: string, text: string): void {
    this.note = { root, path, text };
    const pushed = this.pushed;
    this.client.call('status', {}).then(
      (s) => this.pushed === pushed && this.show(s),
      (err: unknown) => this.fail(err),
    );
  }

  /**
   * Runs a command and shows its answer, the status after it — unless a status was pushed in the
   * meantime: the answer may have been overtaken (a pass held its deletes before it arrived).
   * `failed` takes the command's failure where the page should say it elsewhere than at the top.
   */
  private act(run: () => Promise<AgentStatus>, failed?: (err: unknown) => void): void {
    if (this.busy) return;
    this.busy = true;
    this.note = undefined;
    this.outcome = undefined;
    this.render();
    const pushed = this.pushed;
    run()
      .then((s) => {
        this.problem = undefined;
        if (this.pushed === pushed) {
          this.status = s;
          this.held.seen(s);
        }
      })
      .catch((err: unknown) => (failed === undefined || err instanceof Unauthorized ? this.fail(err) : failed(err)))
      .finally(() => {
        this.busy = false;
        this.render();
      });
  }

  /**
   * Sends the user's answer to the held pass of `root`, for the hold `id` the box showed (the agent
   * refuses it if a pass replaced that hold since); the box shows it taken from now on.
   */
  private answer(root: string, id: string | undefined, answer: Answer): void {
    if (this.busy) return;
    this.held.sent(root, answer);
    const command = answer === 'confirm' ? 'confirmDeletes' : 'restoreDeletes';
    this.act(
      () => this.client.call(command, id === undefined ? { root } : { root, id }).finally(() => this.held.replied(root)),
      (err) => this.held.failed(root, id, message(err)),
    );
  }

  /** Keeps both versions of `c`; the folder's note says where the copy went (the answer's besideAs). */
  private async keepBoth(root: string, c: ConflictInfo): Promise<AgentStatus> {
    const { besideAs, ...status } = await this.client.call('resolveConflict', { root, copy: c.copy, keep: 'both' });
    if (besideAs !== undefined) this.note = { root, path: besideAs, text: ` now holds the other version of ${visibleName(c.path)}: both are kept.` };
    return status;
  }

  /**
   * Ends every conflict `f` shows the same way (the ones the user saw, not any a pass found
   * since), once the user said yes to what a destructive keep lets go; the folder then says what
   * was done and each conflict left.
   */
  private keepAll(f: FolderStatus, keep: KeepSide): void {
    if (this.busy) return;
    const question = keepAllQuestion(f.root, f.conflicts.length, keep);
    if (question !== undefined && !window.confirm(question)) return;
    const root = f.root;
    const copies = f.conflicts.map((c) => c.copy);
    this.act(async () => {
      const r = await this.client.call('resolveConflicts', { root, keep, copies });
      this.outcome = { root, text: keepAllOutcome(keep, r), failed: r.failed };
      return r.status;
    });
  }

  /**
   * `name`: the accessible name, when the label alone would not tell which item it acts on: it
   * must start with the label (WCAG 2.5.3: a voice-control user says what they see), then say what
   * the button acts on, and its folder (two folders may each hold a conflict or a held delete alike);
   * `available`: false disables the button while the agent's state makes it pointless. While a
   * command runs the buttons are only marked unavailable (act() ignores them): a disabled button
   * loses the focus, and a keyboard user would be sent back to the top of the page.
   */
  private button(label: string, onClick: () => void, name?: string, available = true): HTMLButtonElement {
    const b = h('button', {}, label);
    b.type = 'button';
    if (name !== undefined) b.setAttribute('aria-label', name);
    b.disabled = !available;
    if (this.busy) b.setAttribute('aria-disabled', 'true');
    b.onclick = onClick;
    return b;
  }

  private render(): void {
    const s = this.status;
    const parts: Child[] = [];
    // The rows of this render, each taken from the last render's where its conflict is unchanged.
    const rows = new Map<string, Row>();
    const spoken = new Map<string, Spoken>();
    if (s === undefined) {
      parts.push(h('p', {}, this.problem?.message ?? this.dropped ?? 'Connecting to the agent…'));
    } else {
      parts.push(
        h('header', {}, h('h1', {}, 'Strata'), h('p', { className: 'state', role: 'status' }, this.dropped === undefined ? agentLabel(s) : NOT_CONNECTED), h('p', { className: 'device' }, `Device ${s.deviceId}`)),
        h(
          'nav',
          {},
          s.paused ? this.button('Resume', () => this.act(() => this.client.call('resume', {}))) : this.button('Pause', () => this.act(() => this.client.call('pause', {}))),
          // As in the tray: while paused, a pass asked for would only run at Resume.
          this.button('Sync now', () => this.act(() => this.client.call('syncNow', {})), undefined, !s.paused),
        ),
        // One line: a command that failed while the stream was down says the same and more.
        (this.problem ?? this.dropped) !== undefined && h('p', { className: 'problem', role: 'alert' }, this.problem?.message ?? this.dropped),
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
    const section = h('section', { className: 'folder' }, heading('h2', visibleName(f.root)), h('p', { className: 'layer' }, layerLine(f)));
    const state = stateLabel(f.state, f.lastSync, waitsForAnswer(f), s.paused);
    // Without the stream the status is the last one pushed: it may be long out of date.
    const now = this.dropped === undefined ? `${state}${f.progress ? `: ${formatProgress(f.progress)}` : ''}` : `${NOT_CONNECTED} (last known: ${state})`;
    section.dataset.key = f.root;
    section.append(h('p', { className: 'folder-state' }, now));
    // Read out politely, and its figures not at every push (announced); the line above shows them all.
    const live = h('p', { className: 'announce' }, `${visibleName(f.root)}: ${this.announced(f.root, this.dropped === undefined ? state : NOT_CONNECTED, now, spoken)}`);
    live.setAttribute('aria-live', 'polite');
    live.setAttribute('aria-atomic', 'true');
    section.append(live);
    section.append(h('p', { className: 'last-sync' }, f.lastSync ? `Last in sync ${time(f.lastSync)}` : 'Not in sync yet'));
    if (f.error) section.append(h('p', { className: 'problem', role: 'alert' }, lastPassFailed(f) && 'Last pass failed: ', ...errorParts(f.error, named)));
    // No alert: the folder syncs on; this is for the user to fix when they can.
    if (f.warning) section.append(h('p', { className: 'warning' }, 'Warning: ', ...errorParts(f.warning, named)));
    if (this.note?.root === f.root) section.append(h('p', { className: 'note', role: 'status' }, named(this.note.path), this.note.text));
    const result = this.held.result(f.root);
    if (result !== undefined && !f.pendingDeletes) section.append(h('p', { className: 'result', role: 'status' }, result));
    const shown = f.pendingDeletes;
    if (shown) {
      const button = (label: string, onClick: () => void) => this.button(label, onClick, `${label} in ${visibleName(f.root)}`);
      section.append(this.held.box(f, shown, s.paused, button, (a) => this.answer(f.root, shown.id, a)));
    }
    if (this.outcome?.root === f.root) section.append(...outcomeLines(this.outcome));
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
    const buttons = KEEP_ALL.map(([keep, label]) => this.button(label, () => this.keepAll(f, keep), `${label}: the ${n} conflicts in ${visibleName(f.root)}`));
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
    const key = JSON.stringify([root, c.copy]);
    const from = stableJson([c, deviceId, twice]);
    const was = this.rows.get(key);
    const row = was === undefined ? { el: this.buildConflict(root, c, deviceId, twice), from, busy: this.busy } : was;
    if (row.from !== from) {
      update(row.el, this.buildConflict(root, c, deviceId, twice));
      row.from = from;
      row.busy = this.busy;
    } else if (row.busy !== this.busy) {
      // A command started or ended: its buttons say so (see button()), and nothing else of it changed.
      for (const b of row.el.querySelectorAll('button')) {
        if (this.busy) b.setAttribute('aria-disabled', 'true');
        else b.removeAttribute('aria-disabled');
      }
      row.busy = this.busy;
    }
    rows.set(key, row);
    return standIn(row.el);
  }

  private buildConflict(root: string, c: ConflictInfo, deviceId: string, twice: boolean): HTMLLIElement {
    // Two other devices may each have edited the file: its name alone would not tell their conflicts apart.
    const which = twice ? `${visibleName(c.path)}, not ${visibleName(c.copy)}` : visibleName(c.path);
    // The agent lists no such conflict (E_NO_CONFLICT: resolved elsewhere, the CLI or another page, before this page
    // heard of it), or a pass it waited for found it resolved (E_CONFLICT_GONE). A version kept that is no longer
    // on the disk (E_VERSION_GONE) is an error.
    const gone = (err: unknown) => (err instanceof Refused && ALREADY_RESOLVED.has(err.code) ? this.gone(root, c.path, ': already resolved elsewhere; nothing was changed.') : this.fail(err));
    const resolve = (keep: 'name' | 'copy') => () => this.act(() => this.client.call('resolveConflict', { root, copy: c.copy, keep }), gone);
    const both = () => this.act(() => this.keepBoth(root, c), gone);
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
        this.button('Keep both', both, `Keep both: ${which} and ${visibleName(c.copy)} in ${visibleName(root)}`),
      ),
    );
    item.dataset.key = c.copy;
    return item;
  }
}

startPage(CSS, 'Open this page with the address `strata ui` prints: it carries the key to the agent.', (root, token) => new App(root, new Client(token)).start());
