/**
 * The desktop app's sign-in screen on loopback: the page (renderer/signin.ts) and the sign-in API
 * of shared/signin-api.ts over a sign-in flow (sync/signin/flow.ts). The app opens its window on
 * it before anyone is signed in; the agent's own endpoint (server.ts) comes once signed in.
 *
 *   GET  /, /ui/…        the sign-in page and its modules (ui.ts), behind the Host and Origin checks
 *   GET  /api/signin     the flow's state
 *   POST /api/signin/keychain   checks the keychain (the flow's checkKeychain): the state after it
 *   POST /api/signin     the form: 202 and the state when it started, 409 when an attempt runs
 *                        or one succeeded, 400 for a form that is not one
 *
 * The same guards as the control endpoint (guard.ts): Host, Origin and Sec-Fetch-Site, then the
 * token, which the window gets in the URL's fragment. No control.json: only the app that started
 * it knows the token. Nothing of the body is read before the token is checked.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseSignInForm, type SignInForm, type SignInState } from '../../shared/signin-api.js';
import { describeError } from '../errors.js';
import { bearerToken, checkHost, checkOrigin, checkToken, selfOf, type Self } from './guard.js';
import { header, listenLoopback, readJson, refuse, sendError, sendJson, urlOf } from './http.js';
import { serveUi } from './ui.js';

/** What the server needs of a sign-in flow (SignInFlow). */
export interface SignInTarget {
  state(): SignInState;
  checkKeychain(): Promise<SignInState>;
  start(form: SignInForm): boolean;
}

export interface SignInServer {
  url: string;
  token: string;
  close(): Promise<void>;
}

function handler(flow: SignInTarget, token: string, self: () => Self) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const refusal = checkHost(req.headersDistinct.host, self()) ?? checkOrigin(req.headers.origin, header(req, 'sec-fetch-site'), self());
    if (refusal) return refuse(res, refusal);
    const path = (req.url ?? '').split('?', 1)[0] ?? '';
    if (serveUi(req.method, path, res, 'signin')) return;
    const denied = checkToken(bearerToken(req.headers.authorization), token);
    if (denied) return refuse(res, denied, { 'www-authenticate': 'Bearer' });
    if (path === '/api/signin/keychain') {
      if (req.method !== 'POST') return sendError(res, 405, { code: 'E_CONTROL_METHOD', message: 'use POST for /api/signin/keychain' }, { allow: 'POST' });
      return sendJson(res, 200, await flow.checkKeychain());
    }
    if (path !== '/api/signin') return sendError(res, 404, { code: 'E_CONTROL_NOT_FOUND', message: `no such endpoint ${JSON.stringify(path)}` });
    if (req.method === 'GET') return sendJson(res, 200, flow.state());
    if (req.method !== 'POST') return sendError(res, 405, { code: 'E_CONTROL_METHOD', message: 'use GET or POST for /api/signin' }, { allow: 'GET, POST' });
    const body = await readJson(req, res);
    if (body === undefined) return;
    let form: SignInForm;
    try {
      form = parseSignInForm(body.value);
    } catch (err) {
      return sendError(res, 400, { code: 'E_SIGNIN_BAD_FORM', message: describeError(err) });
    }
    if (!flow.start(form)) {
      const done = flow.state().step === 'done';
      return sendError(res, 409, { code: 'E_SIGNIN_BUSY', message: done ? 'already signed in' : 'a sign-in is already under way' });
    }
    sendJson(res, 202, flow.state());
  };
}

/** Serves the sign-in screen for `flow` on loopback (127.0.0.1 unless `host` is ::1), on a free port. */
export async function serveSignIn(flow: SignInTarget, options: { host?: string } = {}): Promise<SignInServer> {
  const host = options.host ?? '127.0.0.1';
  const token = randomBytes(32).toString('base64url');
  let self: Self = selfOf(host, 0);
  const { server, port } = await listenLoopback(handler(flow, token, () => self), host, 0);
  self = selfOf(host, port);
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }));
  return { url: urlOf(host, port), token, close };
}
