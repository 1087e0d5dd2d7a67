/**
 * A sign-in from a form rather than a terminal: what the desktop app's sign-in window runs
 * (`strata login` runs the same steps). `start` takes the form, then in the background: signIn
 * (org config, keychain, credentials proved against the bucket, then kept in the keychain, the
 * session written), layHome with its progress, and the caller's `onSignedIn`, which takes the
 * laid session and its open bucket and starts live sync. `state` says at any time where it is.
 *
 * `checkKeychain` is what the screen asks before it shows the form, as `strata login` checks before
 * its prompt: without a usable keychain the state says so, and what to do, before anyone types a
 * secret that could not be kept.
 *
 * What must hold: one attempt at a time; a failed attempt goes back to the form with the error
 * (signIn leaves no credentials behind when the check fails) and can be tried again; the secret
 * is never kept in the state.
 */
import type { SignInForm, SignInState } from '../../shared/signin-api.js';
import { apiError } from '../control/index.js';
import { checkKeychain } from '../credentials/index.js';
import type { ChunkFileFn } from '../restore/index.js';
import type { HostableSession } from './host.js';
import { layHome } from './lay.js';
import { signIn } from './login.js';
import type { FetchFn } from './org-source.js';

export interface SignInFlowOptions {
  stateDir: string;
  /** The folder the layer is laid onto. */
  home: string;
  /** What the form starts with: the machine's org config (a path or URL; '' for none), the OS user's name. */
  defaults: { org: string; user: string };
  chunkFile?: ChunkFileFn;
  /** Starts live sync on the laid session; it owns `org` from the call on (it closes it). */
  onSignedIn: (signedIn: HostableSession) => Promise<void>;
  /** Called on every change of state. */
  onChange?: (state: SignInState) => void;
  fetch?: FetchFn;
  /** Proves the OS keychain works (sync/credentials' checkKeychain); tests stand in for it. */
  checkKeychain?: () => Promise<void>;
}

export class SignInFlow {
  private current: SignInState;

  constructor(private readonly opts: SignInFlowOptions) {
    this.current = { step: 'form', defaults: opts.defaults };
  }

  state(): SignInState {
    return this.current;
  }

  /**
   * Checks the keychain while the form waits: `form` if it works, else `keychain` with the error.
   * Changes nothing while an attempt runs or after one succeeded.
   */
  async checkKeychain(): Promise<SignInState> {
    const before = this.current;
    if (!this.waiting()) return before;
    const error = await (this.opts.checkKeychain ?? checkKeychain)().then(
      () => undefined,
      (err: unknown) => apiError(err),
    );
    // A sign-in that started meanwhile owns the state; a form that waits keeps the last attempt's error.
    if (this.current !== before) return this.current;
    if (error) this.set({ step: 'keychain', defaults: before.defaults, error });
    else if (before.step === 'keychain') this.set({ step: 'form', defaults: before.defaults });
    return this.current;
  }

  /** Starts signing in with `form`; false (nothing started) while an attempt runs or after one succeeded. */
  start(form: SignInForm): boolean {
    if (!this.waiting()) return false;
    this.set({ step: 'checking', defaults: { org: form.org, user: form.user } });
    void this.run(form).catch((err: unknown) => this.set({ step: 'form', defaults: this.current.defaults, error: apiError(err) }));
    return true;
  }

  private async run(form: SignInForm): Promise<void> {
    const { stateDir, home } = this.opts;
    const credentials = { accessKeyId: form.accessKeyId, secretAccessKey: form.secretAccessKey };
    const signedIn = await signIn({ org: form.org, user: form.user, home, stateDir, credentials: () => Promise.resolve(credentials), ...(this.opts.fetch ? { fetch: this.opts.fetch } : {}) });
    let handedOver = false;
    try {
      const defaults = this.current.defaults;
      let ready = false;
      this.set({ step: 'laying', defaults });
      // A lay that fails signs nobody in: the state dir and the keychain go back to what they were.
      const laid = await layHome({
        store: signedIn.org.store,
        session: signedIn.session,
        stateDir,
        ...(this.opts.chunkFile ? { chunkFile: this.opts.chunkFile } : {}),
        onEvent: (e) => {
          if (e.type === 'ready') ready = true;
          if (e.type === 'progress') this.set({ step: 'laying', defaults, progress: { filesDone: e.filesDone, files: e.files, bytesDone: e.bytesDone, bytes: e.bytes, ready } });
        },
      }).catch(async (err: unknown) => {
        // The lay's error is what the form shows; an undo that fails too adds nothing the user can act on.
        await signedIn.undo(err).catch(() => undefined);
        throw err;
      });
      this.set({ step: 'starting', defaults });
      handedOver = true;
      await this.opts.onSignedIn({ session: laid.session, org: signedIn.org });
      this.set({ step: 'done', defaults });
    } finally {
      if (!handedOver) signedIn.org.close();
    }
  }

  /** Waiting for the user: no attempt runs, none succeeded. */
  private waiting(): boolean {
    return this.current.step === 'form' || this.current.step === 'keychain';
  }

  private set(state: SignInState): void {
    this.current = state;
    this.opts.onChange?.(state);
  }
}
