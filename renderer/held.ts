/**
 * A held mass delete on the agent's page: the box that asks Delete or Restore, and what it shows
 * of the answer.
 *
 * What must hold: an answer shows at once that it was taken — from the click, then from the
 * agent's status (PendingDeletes.answer), so on every page and after a reload — and its buttons
 * then do nothing; when the pass that acts on it ends, the box gives way to what it did, as the
 * agent says it (FolderStatus.answered, notCarried), never as the answer asked. A failed
 * answer says why inside the box, whatever statuses arrive meanwhile, until the user answers again
 * or the hold is gone. An answer given again elsewhere (the agent keeps the last) is said as changed.
 */
import type { AgentStatus, FolderStatus, PendingDeletes } from '../shared/agent-api.js';
import { notCarriedWords, plural, waitsForAnswer } from '../shared/status-text.js';
import { h } from './page.js';

export type Answer = NonNullable<PendingDeletes['answer']>;

export { waitsForAnswer };

const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** An answer as its button says it. */
const verb = (a: Answer): string => (a === 'confirm' ? 'delete' : 'restore');

/**
 * What an answered pass did, where the page last saw `was` taken and the agent says the pass carried
 * out `answered`: another answer where one was given elsewhere after the last status the page saw
 * (its stream was down), none where the files changed after it.
 */
function resultText(was: { answer: Answer; files: number }, answered: Answer | undefined): string {
  if (answered === undefined) return 'The answer was not needed: the files changed after it, and sync went on without asking.';
  const done = `${answered === 'confirm' ? 'deleted' : 'restored'} ${plural(was.files, 'file')}.`;
  return answered === was.answer ? capitalize(done) : `The answer changed to ${verb(answered)} elsewhere: ${done}`;
}

export class HeldAnswers {
  /** Answers sent, by root, whose reply has not come. */
  private readonly sending = new Map<string, Answer>();
  /** The answers the agent's status says it took, by root, with the files they are about. */
  private readonly taken = new Map<string, { answer: Answer; files: number }>();
  /** Why the last answer failed, or that the hold changed after it, by root; `hold`: the hold it is about, if known. */
  private readonly notes = new Map<string, { text: string; hold?: string | undefined }>();
  /** What an answered pass did, by root, until the folder's next hold. */
  private readonly results = new Map<string, string>();
  /** The roots whose last status seen holds deletes. */
  private readonly holding = new Set<string>();

  /** Takes in a status the page shows: the answers the agent took, the holds that ended. */
  seen(status: AgentStatus): void {
    this.holding.clear();
    for (const f of status.folders) {
      const d = f.pendingDeletes;
      if (d !== undefined) this.holding.add(f.root);
      const was = this.taken.get(f.root);
      if (d?.answer !== undefined) {
        this.taken.set(f.root, { answer: d.answer, files: d.files });
        // The agent keeps the last answer given: another one from the CLI or another page replaces
        // the one this page showed taken, which the box must not turn into silently.
        if (was === undefined) this.notes.delete(f.root);
        else if (was.answer !== d.answer) this.notes.set(f.root, { text: `The answer changed to ${verb(d.answer)}: it was given again elsewhere (the CLI or another page).` });
        this.results.delete(f.root);
        continue;
      }
      this.taken.delete(f.root);
      if (d === undefined) {
        this.notes.delete(f.root);
        // The agent says whether the pass carried the answer out (FolderStatus.answered): the files
        // may have changed after it, so that nothing was left to answer.
        if (f.notCarried !== undefined) this.results.set(f.root, `${capitalize(notCarriedWords(f.notCarried))}.`);
        else if (was !== undefined) this.results.set(f.root, resultText(was, f.answered));
      } else {
        this.results.delete(f.root);
        if (was !== undefined) this.notes.set(f.root, { text: 'Files changed after the answer, so sync asks again.' });
      }
    }
  }

  sent(root: string, answer: Answer): void {
    this.sending.set(root, answer);
    this.notes.delete(root);
  }

  replied(root: string): void {
    this.sending.delete(root);
  }

  /**
   * An answer to the hold `hold` failed. Where the hold is gone already (answered elsewhere, from
   * the CLI or another page, and its pass done) there is nothing left to answer; and the note is
   * shown only with that hold, or it would show on the folder's next hold as if that one had been
   * answered (the reply may come before or after the status that ended the hold).
   */
  failed(root: string, hold: string | undefined, why: string): void {
    if (this.holding.has(root)) this.notes.set(root, { text: `The answer failed: ${why}`, hold });
  }

  /** What a folder's result line says, if an answered pass of it ended. */
  result(root: string): string | undefined {
    return this.results.get(root);
  }

  /**
   * The box of a held folder. `button` makes a button as the page does; `answer` sends one. Once
   * an answer is taken its buttons stay in place (a keyboard user keeps the focus) but do nothing.
   */
  box(f: FolderStatus, d: PendingDeletes, paused: boolean, button: (label: string, onClick: () => void) => HTMLButtonElement, answer: (a: Answer) => void): HTMLElement {
    const where = d.direction === 'local' ? 'deleted on this machine' : 'deleted on another machine';
    const taken = this.sending.get(f.root) ?? d.answer;
    const kept = this.notes.get(f.root);
    const note = kept === undefined || (kept.hold !== undefined && kept.hold !== d.id) ? undefined : kept.text;
    const offer = (label: string, a: Answer): HTMLButtonElement => {
      const b = button(`${label} ${plural(d.files, 'file')}`, taken === undefined ? () => answer(a) : () => undefined);
      if (taken !== undefined) b.setAttribute('aria-disabled', 'true');
      return b;
    };
    return h(
      'div',
      { className: 'pending', role: 'alert' },
      h('p', {}, `${d.files} of ${d.of} files were ${where}.${taken === undefined ? ' Sync waits until you delete them everywhere or restore them.' : ''}`),
      taken !== undefined && h('p', { className: 'taken' }, `${taken === 'confirm' ? 'Deleting' : 'Restoring'} ${plural(d.files, 'file')}${paused ? ' when sync resumes' : ''}…`),
      note !== undefined && h('p', { className: 'problem' }, note),
      h('div', { className: 'actions' }, offer('Delete', 'confirm'), offer('Restore', 'restore')),
    );
  }
}
