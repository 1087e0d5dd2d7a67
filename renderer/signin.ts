/**
 * The desktop app's sign-in screen, browser code only: first the app checks the OS keychain, and
 * without one the screen says what to do (and checks again when told) instead of asking for a
 * secret it could not keep; then the org config, the user id, the access key and the secret, sent
 * to the app's sign-in endpoint (shared/signin-api.ts); then, while the app checks them and lays
 * the layer onto this machine, what it is doing and how far it got. A failed attempt shows why and
 * the form again (the secret emptied). Once signed in, the app moves the window on to the agent's UI.
 * A status poll that fails (a network blip, an app too busy to answer) is tried again: the
 * sign-in goes on in the app, and the form stays disabled while it runs. So does a start whose
 * answer was lost (it may have reached the app): the form comes back only if the app is still at it.
 * A keychain check that fails on the way says, in one line, that it could not be made, and offers it again.
 *
 * What must hold, as for the agent's UI: the token comes in the URL's fragment and goes as a bearer
 * header; nothing from the server is ever inserted as HTML; no inline script or style.
 */
import type { ApiError } from '../shared/agent-api.js';
import type { SignInForm, SignInState } from '../shared/signin-api.js';
import { errorParts, formatBytes } from '../shared/status-text.js';
import { h, named, startPage } from './page.js';

const POLL_MS = 250;

/** After a poll that failed, the screen waits this long before the next, doubling up to RETRY_MAX_MS. */
const RETRY_MS = 500;
const RETRY_MAX_MS = 4000;

/** Said while the polls fail: the sign-in runs in the app, whatever became of the request. */
const LOST_CONTACT = 'Lost contact with the Strata app; trying again…';

/** Said when a start was lost on the way and the app, asked, is still at the form: the sign-in never began. */
const NOT_STARTED = 'The sign-in did not reach the Strata app; sign in again.';

/** The app answered a request with a refusal (an HTTP error): unlike a lost request, this says what became of it. */
class AppRefused extends Error {
  constructor(
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** The app refused the window's key: asking again cannot help. */
class KeyRefused extends Error {
  constructor() {
    super('This window no longer has the key to the sign-in screen: quit Strata and start it again.');
  }
}

async function request(token: string, init: RequestInit = {}, path = '/api/signin'): Promise<SignInState> {
  const res = await fetch(path, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}) } });
  const body = (await res.json().catch(() => undefined)) as (SignInState & { error?: ApiError }) | undefined;
  if (res.status === 401) throw new KeyRefused();
  if (!res.ok) throw new AppRefused(body?.error?.code, typeof body?.error?.message === 'string' ? body.error.message : `the app answered HTTP ${res.status}`);
  if (body === undefined) throw new Error('the app answered with something that is not JSON');
  return body;
}

/** What the app is doing, in words. */
export function stepText(state: SignInState): string {
  switch (state.step) {
    case 'keychain':
    case 'form':
      return '';
    case 'checking':
      return 'Checking your credentials…';
    case 'laying': {
      const p = state.progress;
      if (p === undefined) return 'Finding your files…';
      const what = p.ready ? 'Your files are ready; bringing in the large ones' : 'Bringing your files to this computer';
      return `${what}: ${p.filesDone} of ${p.files} files, ${formatBytes(p.bytesDone)} of ${formatBytes(p.bytes)}`;
    }
    case 'starting':
      return 'Starting sync…';
    case 'done':
      return 'Signed in. Strata keeps your files in sync.';
  }
}

class SignInScreen {
  private readonly fields: Record<keyof SignInForm, HTMLInputElement>;
  private readonly submit = h('button', {}, 'Sign in');
  private readonly form: HTMLFormElement;
  private readonly retry = h('button', {}, 'Try again');
  private readonly status = h('p', { role: 'status', className: 'step' });
  private readonly problem = h('p', { role: 'alert', className: 'problem' });
  private filled = false;

  constructor(
    private readonly root: HTMLElement,
    private readonly token: string,
  ) {
    this.fields = {
      org: input('org', 'text', 'Org config (a file or an https address)'),
      user: input('user', 'text', 'User id'),
      accessKeyId: input('access-key', 'text', 'Access key id'),
      secretAccessKey: input('secret', 'password', 'Secret access key'),
    };
    this.fields.accessKeyId.autocomplete = 'username';
    this.fields.secretAccessKey.autocomplete = 'current-password';
    this.submit.type = 'submit';
    const form = (this.form = h('form', {}, ...Object.values(this.fields).map((el) => field(el)), this.submit));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.send();
    });
    // Neither the form nor the retry until the keychain is checked.
    form.hidden = true;
    this.retry.hidden = true;
    this.retry.addEventListener('click', () => void this.checkKeychain().then(() => this.refocus()));
    this.root.replaceChildren(h('h1', {}, 'Sign in to Strata'), h('p', { className: 'hint' }, 'Your administrator gave you the org config, your user id and your keys.'), form, this.status, this.problem, this.retry);
  }

  async start(): Promise<void> {
    await this.checkKeychain();
  }

  /**
   * A check that fails on the way (no answer from the app, or a refusal) says nothing of the
   * keychain: the screen says the check could not be made, in one line, and offers it again.
   */
  private async checkKeychain(): Promise<void> {
    this.retry.disabled = true;
    this.problem.textContent = '';
    // A keychain that hangs can take the app's whole time limit to be found out.
    this.status.textContent = 'Checking the keychain…';
    let state: SignInState;
    try {
      state = await request(this.token, { method: 'POST' }, '/api/signin/keychain');
    } catch (err) {
      this.status.textContent = '';
      const why = err instanceof AppRefused ? err.message : 'the Strata app did not answer';
      this.problem.textContent = err instanceof KeyRefused ? err.message : `Could not check the keychain: ${why}. Try again.`;
      this.retry.hidden = err instanceof KeyRefused;
      this.retry.disabled = false;
      return;
    }
    await this.follow(() => Promise.resolve(state));
    this.retry.disabled = false;
  }

  /**
   * Try again, disabled while the check ran, lost the focus to the page: it goes back to Try again
   * where the check failed again, or to the first empty field of the form the check showed.
   */
  private refocus(): void {
    if (document.activeElement !== null && document.activeElement !== document.body) return;
    const empty = Object.values(this.fields).find((el) => el.value === '');
    if (!this.retry.hidden) this.retry.focus();
    else if (!this.form.hidden) (empty ?? this.fields.org).focus();
  }

  private async send(): Promise<void> {
    const form = Object.fromEntries(Object.entries(this.fields).map(([key, el]) => [key, el.value])) as unknown as SignInForm;
    const had = document.activeElement;
    this.problem.textContent = '';
    await this.follow(() => request(this.token, { method: 'POST', body: JSON.stringify(form) }), true);
    // The form, disabled while the sign-in ran, lost the focus to the page: given back, it takes the
    // focus again, in the secret where a failure emptied it (the next attempt starts there), else where it was.
    const given = !this.form.hidden && !this.submit.disabled;
    if (given && (document.activeElement === null || document.activeElement === document.body)) {
      const secret = this.fields.secretAccessKey;
      (secret.value === '' || !(had instanceof HTMLElement) || !this.form.contains(had) ? secret : had).focus();
    }
  }

  /**
   * Shows what `first` answers, then polls while the sign-in runs. A poll that fails says nothing
   * of the sign-in, which goes on in the app: the screen says it lost contact and asks again, a
   * little later each time, with the form still disabled (a second sign-in must not start over it).
   * A start (`starts`) is followed the same way when it was lost on the way (no answer from the
   * app): it may have reached the app, so the screen asks the status, and gives the form back only
   * if the app is still at the form (NOT_STARTED). A start refused as one already under way
   * (E_SIGNIN_BUSY) follows that one.
   */
  private async follow(first: () => Promise<SignInState>, starts = false): Promise<void> {
    let next = first;
    let failed = 0;
    let lostStart = false;
    for (;;) {
      let state: SignInState;
      try {
        state = await next();
      } catch (err) {
        const followed = starts && next === first && (!(err instanceof AppRefused) || err.code === 'E_SIGNIN_BUSY');
        if (err instanceof KeyRefused || (next === first && !followed)) {
          this.problem.textContent = err instanceof Error ? err.message : String(err);
          this.setBusy(false);
          return;
        }
        lostStart = next === first;
        next = () => request(this.token);
        if (err instanceof AppRefused && err.code === 'E_SIGNIN_BUSY') continue;
        this.setBusy(true);
        this.problem.textContent = LOST_CONTACT;
        await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_MS * 2 ** failed++, RETRY_MAX_MS)));
        continue;
      }
      if (failed > 0) this.problem.textContent = '';
      failed = 0;
      this.show(state);
      if (lostStart && state.step === 'form' && !state.error) this.problem.textContent = NOT_STARTED;
      lostStart = false;
      if (state.step === 'keychain' || state.step === 'form' || state.step === 'done') return;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      next = () => request(this.token);
    }
  }

  private show(state: SignInState): void {
    if (!this.filled) {
      this.fields.org.value ||= state.defaults.org;
      this.fields.user.value ||= state.defaults.user;
      this.filled = true;
    }
    this.status.textContent = stepText(state);
    this.form.hidden = state.step === 'keychain';
    this.retry.hidden = state.step !== 'keychain';
    if (state.error) {
      // Where it failed too, as the agent's page says it (which org config, which folder), isolated
      // as every name from the disk is there.
      this.problem.replaceChildren(...errorParts(state.error, named));
      this.fields.secretAccessKey.value = '';
    }
    this.setBusy(state.step !== 'form' && state.step !== 'keychain');
  }

  private setBusy(busy: boolean): void {
    for (const el of Object.values(this.fields)) el.disabled = busy;
    this.submit.disabled = busy;
  }
}

function input(name: string, type: string, label: string): HTMLInputElement {
  const el = h('input', { title: label });
  el.name = name;
  el.id = name;
  el.type = type;
  el.required = true;
  el.spellcheck = false;
  el.autocapitalize = 'off';
  return el;
}

function field(el: HTMLInputElement): HTMLElement {
  const label = h('label', {}, el.title);
  label.htmlFor = el.id;
  return h('div', { className: 'field' }, label, el);
}

const CSS = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.4; }
body { margin: 0 auto; max-width: 30rem; padding: 1.5rem; }
/* A path or a URL in an error wraps where it must: nothing makes the screen scroll sideways. */
main { overflow-wrap: anywhere; }
h1 { font-size: 1.4rem; margin: 0.5rem 0; }
.hint { color: GrayText; margin: 0 0 1rem; }
.field { display: flex; flex-direction: column; margin: 0 0 0.8rem; }
label { font-weight: 600; margin-bottom: 0.2rem; }
input { font: inherit; padding: 0.35rem 0.5rem; border-radius: 0.4rem; border: 1px solid #8888; }
button { font: inherit; padding: 0.35rem 1.1rem; border-radius: 0.4rem; border: 1px solid #8888; cursor: pointer; }
button:disabled, input:disabled { opacity: 0.6; cursor: default; }
.step { margin: 1rem 0 0; }
.problem { color: #c0392b; }
`;

startPage(CSS, 'Open the sign-in screen from the Strata app: it carries the key to it.', (root, token) => void new SignInScreen(root, token).start());
