/**
 * The agent's page's session with the agent (index.ts draws it): the status it last heard, the
 * stream of statuses and what the page does when it drops, and the commands the user gives, each
 * with what became of it. It holds no DOM but what the held box builds (held.ts); it says
 * `changed()` where the page must be drawn again.
 *
 * What must hold: the stream opens with the current status, and reconnects by itself (EventSource)
 * after a drop, or, where the browser gave up on it, says why (a key the agent no longer takes) or
 * opens it again; a command's answer older than the last status pushed is not shown; one command
 * at a time; an alert goes once what it says no longer stands (the agent could not be reached, and
 * a status came from it since), and a conflict resolved elsewhere before the page heard of it is
 * said as such, not as an error.
 */
import type { AgentStatus, ConflictInfo, FolderStatus, KeepSide, ResolvedConflicts } from '../shared/agent-api.js';
import { visibleName } from '../shared/status-text.js';
import { IF_STOPPED, Refused, Unauthorized, Unreachable, type Client } from './client.js';
import { keepAllOutcome, keepAllQuestion } from './conflicts.js';
import { HeldAnswers, type Answer } from './held.js';
import { forgetToken } from './page.js';

/** The codes of a conflict the agent no longer has to resolve: said briefly in its folder, not as an error. */
const ALREADY_RESOLVED: ReadonlySet<string | undefined> = new Set(['E_NO_CONFLICT', 'E_CONFLICT_GONE']);

/** How long the page waits before it opens again a stream the browser gave up on. */
const REOPEN_MS = 3000;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class Session {
  /** The agent's status as last heard (pushed, or a command's answer); undefined until the first. */
  status: AgentStatus | undefined;
  /**
   * Why the last command failed, until the next one succeeds: statuses pushed meanwhile keep it,
   * except that the agent could not be reached, which a status from it ends.
   */
  problem: Error | undefined;
  /** What became of the last command where it found nothing left to act on, by folder, until the next one: `text` said of `path`. */
  note: { root: string; path: string; text: string } | undefined;
  /** What the last "for all" of a folder's conflicts did (keepAll), until the next command: its line, and the conflicts it left, each with why. */
  outcome: { root: string; text: string; failed: ResolvedConflicts['failed'] } | undefined;
  /** The stream of statuses dropped, until a status arrives again. */
  dropped: string | undefined;
  /** A command runs: others are ignored until it ends. */
  busy = false;
  readonly held = new HeldAnswers();
  /** Statuses pushed so far: a command's answer older than the last push is not shown. */
  private pushed = 0;
  private source: EventSource | undefined;

  constructor(
    private readonly client: Client,
    private readonly changed: () => void,
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
        this.changed();
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
    this.changed();
  }

  private fail(err: unknown): void {
    if (err instanceof Unauthorized) {
      forgetToken();
      this.source?.close();
    }
    this.problem = err instanceof Error ? err : new Error(String(err));
    this.changed();
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
    this.changed();
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
        this.changed();
      });
  }

  /** Pause, Resume or Sync now. */
  run(command: 'pause' | 'resume' | 'syncNow'): void {
    this.act(() => this.client.call(command, {}));
  }

  /**
   * Sends the user's answer to the held pass of `root`, for the hold `id` the box showed (the agent
   * refuses it if a pass replaced that hold since); the box shows it taken from now on.
   */
  answer(root: string, id: string | undefined, answer: Answer): void {
    if (this.busy) return;
    this.held.sent(root, answer);
    const command = answer === 'confirm' ? 'confirmDeletes' : 'restoreDeletes';
    this.act(
      () => this.client.call(command, id === undefined ? { root } : { root, id }).finally(() => this.held.replied(root)),
      (err) => this.held.failed(root, id, message(err)),
    );
  }

  /**
   * Ends conflict `c` of `root` keeping `keep`. The agent lists no such conflict (E_NO_CONFLICT:
   * resolved elsewhere, the CLI or another page, before this page heard of it), or a pass it waited
   * for found it resolved (E_CONFLICT_GONE): said briefly. A version kept that is no longer on the
   * disk (E_VERSION_GONE) is an error.
   */
  resolve(root: string, c: ConflictInfo, keep: KeepSide): void {
    const gone = (err: unknown) => (err instanceof Refused && ALREADY_RESOLVED.has(err.code) ? this.gone(root, c.path, ': already resolved elsewhere; nothing was changed.') : this.fail(err));
    if (keep === 'both') this.act(() => this.keepBoth(root, c), gone);
    else this.act(() => this.client.call('resolveConflict', { root, copy: c.copy, keep }), gone);
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
  keepAll(f: FolderStatus, keep: KeepSide): void {
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
}
