/**
 * The sign-in screen's API: what the desktop app's sign-in window (renderer/signin.ts) sends to
 * the app, and what it is told back while the sign-in runs (sync/control/signin-server.ts).
 *
 *   GET  /api/signin            → SignInState
 *   POST /api/signin/keychain   → SignInState: checks the OS keychain (`form`, or `keychain` with
 *                                 what to do); the screen asks it before it shows the form
 *   POST /api/signin            SignInForm → SignInState (202: started; 409: one is already running or done)
 *
 * Must hold: the form is checked here before anything uses it (`parseSignInForm`), and no state
 * ever carries the secret back; a failed sign-in says why and can be tried again; no secret is
 * asked for while the keychain that would keep it is known not to work.
 */
import type { ApiError } from './agent-api.js';

export interface SignInForm {
  /** The org config the admin distributed: a file path or an https URL. */
  org: string;
  /** The user id: what follows user/ in the layer id. */
  user: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * - `keychain`: no usable OS keychain; `error` says what to install, start or unlock, and the form
 *   waits for a check that finds one;
 * - `form`: waiting for the user (again, with `error`, after a failure);
 * - `checking`: the org config, the keychain and the credentials are being checked;
 * - `laying`: the layer is being laid onto home (`progress`);
 * - `starting`: laid; live sync is starting;
 * - `done`: signed in and syncing; the window moves on to the agent's UI.
 */
export type SignInStep = 'keychain' | 'form' | 'checking' | 'laying' | 'starting' | 'done';

export interface SignInState {
  step: SignInStep;
  /** What to fill the form with: the machine's org config, the OS user's name. */
  defaults: { org: string; user: string };
  /** Files and bytes laid so far, while laying; `ready` once hot paths and small files are in. */
  progress?: { filesDone: number; files: number; bytesDone: number; bytes: number; ready: boolean };
  /** Why the last attempt failed. */
  error?: ApiError;
}

const FIELDS: readonly (keyof SignInForm)[] = ['org', 'user', 'accessKeyId', 'secretAccessKey'];
const LABELS: Record<keyof SignInForm, string> = { org: 'the org config', user: 'the user id', accessKeyId: 'the access key id', secretAccessKey: 'the secret access key' };
const MAX_FIELD = 4096;

/** The form from the outside, checked: exactly its four fields, each a non-empty string without control characters. */
export function parseSignInForm(value: unknown): SignInForm {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('the sign-in form must be an object');
  const given = value as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!(FIELDS as readonly string[]).includes(key)) throw new Error(`the sign-in form has an unexpected field ${JSON.stringify(key)}`);
  }
  const form: Partial<SignInForm> = {};
  for (const key of FIELDS) {
    const v = given[key];
    if (typeof v !== 'string' || v.trim() === '') throw new Error(`${LABELS[key]} is missing`);
    if (v.length > MAX_FIELD) throw new Error(`${LABELS[key]} is longer than ${MAX_FIELD} characters`);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(v)) throw new Error(`${LABELS[key]} contains a control character`);
    form[key] = v.trim();
  }
  return form as SignInForm;
}
