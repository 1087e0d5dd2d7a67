/**
 * A sign-in from a form rather than a terminal: what the desktop app's sign-in window runs
 * (`strata login` runs the same steps). `start` takes the form, then in the background: signIn
 * (org config, keychain, credentials proved against the bucket, then kept in the keychain, the
 * session written), layHome with its progress, and the caller's `onSignedIn`, which takes the
 * laid session and its open bucket and starts live sync. `state` says at any time where it is.
 *
 * What must hold: one attempt at a time; a failed attempt goes back to the form with the error
 * (signIn leaves no credentials behind when the check fails) and can be tried again; the secret
 * is never kept in the state.
 */
import type { SignInForm, SignInState } from '../../shared/signin-api.js';
import { apiError } from '../control/index.js';
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
}

export class SignInFlow {
  private current: SignInState;

  constructor(private readonly opts: SignInFlowOptions) {
    this.current = { step: 'form', defaults: opts.defaults };
  }

  state(): SignInState {
    return this.current;
  }

  /** Starts signing in with `form`; false (nothing started) while an attempt runs or after one succeeded. */
  start(form: SignInForm): boolean {
    if (this.current.step !== 'form') return false;
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

  private set(state: SignInState): void {
    this.current = state;
    this.opts.onChange?.(state);
  }
}
