// The sign-in screen's endpoint over a stand-in flow: its guards, its answers, and that the form
// reaches the flow only when it is one. The real flow on Swift and the keychain is in
// electron/app.test.ts, the page in Chromium in e2e/signin.test.ts.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { SignInForm, SignInState } from '../../shared/signin-api.js';
import { serveSignIn, type SignInServer } from './signin-server.js';

class FakeFlow {
  forms: SignInForm[] = [];
  keychainChecks = 0;
  current: SignInState = { step: 'form', defaults: { org: '/etc/strata/acme.json', user: 'dana' } };
  state(): SignInState {
    return this.current;
  }
  checkKeychain(): Promise<SignInState> {
    this.keychainChecks++;
    return Promise.resolve(this.current);
  }
  start(form: SignInForm): boolean {
    if (this.current.step !== 'form') return false;
    this.forms.push(form);
    this.current = { step: 'checking', defaults: { org: form.org, user: form.user } };
    return true;
  }
}

const FORM: SignInForm = { org: '/etc/strata/acme.json', user: 'dana', accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'hunter2hunter2' };

describe('sign-in endpoint', () => {
  const flow = new FakeFlow();
  let server: SignInServer;
  before(async () => {
    server = await serveSignIn(flow);
  });
  after(() => server.close());

  const call = (init: RequestInit & { token?: string | null } = {}): Promise<Response> => {
    const { token = server.token, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (token !== null) headers.set('authorization', `Bearer ${token}`);
    return fetch(`${server.url}/api/signin`, { ...rest, headers });
  };
  const post = (body: unknown, type = 'application/json'): Promise<Response> => call({ method: 'POST', headers: { 'content-type': type }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const code = async (res: Response): Promise<string> => ((await res.json()) as { error: { code: string } }).error.code;

  it('serves the sign-in page on loopback without the token, with the strict CSP', async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const page = await fetch(`${server.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.match(await page.text(), /<script type="module" src="\/ui\/renderer\/signin\.js">/);
  });

  it('refuses the API without the token, with a wrong one, from another origin, or by another host name', async () => {
    assert.equal((await call({ token: null })).status, 401);
    assert.equal((await call({ token: 'x'.repeat(43) })).status, 401);
    assert.equal((await call({ headers: { origin: 'https://evil.example' } })).status, 403);
    assert.equal((await call({ headers: { 'sec-fetch-site': 'cross-site' } })).status, 403);
    // A page on another name that resolves to 127.0.0.1 (DNS rebinding); fetch cannot set Host.
    const url = new URL(server.url);
    const rebound = await new Promise<number>((resolve, reject) => {
      request({ host: url.hostname, port: url.port, path: '/api/signin', headers: { host: `evil.example:${url.port}`, authorization: `Bearer ${server.token}` }, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    assert.equal(rebound, 403);
    assert.deepEqual(flow.forms, []);
  });

  it('answers the state, and refuses what is not a form before the flow sees it', async () => {
    const res = await call();
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), flow.state());
    assert.equal(await code(await post({ org: 'x', user: 'dana' })), 'E_SIGNIN_BAD_FORM');
    assert.equal(await code(await post('{"org":')), 'E_CONTROL_BAD_JSON');
    assert.equal((await post(JSON.stringify(FORM), 'text/plain')).status, 415);
    assert.equal((await post({ ...FORM, pad: 'x'.repeat(70_000) })).status, 413);
    assert.equal((await call({ method: 'PUT' })).status, 405);
    assert.equal((await fetch(`${server.url}/api/status`, { headers: { authorization: `Bearer ${server.token}` } })).status, 404);
    assert.deepEqual(flow.forms, []);
  });

  it('checks the keychain when asked (POST /api/signin/keychain, behind the token) and answers the state after it', async () => {
    const keychain = (init: RequestInit = {}, token = server.token): Promise<Response> => fetch(`${server.url}/api/signin/keychain`, { method: 'POST', ...init, headers: { authorization: `Bearer ${token}` } });
    assert.equal((await keychain({}, 'x'.repeat(43))).status, 401);
    assert.equal((await keychain({ method: 'GET' })).status, 405);
    assert.equal(flow.keychainChecks, 0);
    const checked = await keychain();
    assert.equal(checked.status, 200);
    assert.deepEqual(await checked.json(), flow.state());
    assert.equal(flow.keychainChecks, 1);
  });

  it('starts the flow with the form (202), one attempt at a time (409), and never answers the secret', async () => {
    const started = await post(FORM);
    assert.equal(started.status, 202);
    const text = await started.text();
    assert.equal((JSON.parse(text) as SignInState).step, 'checking');
    assert.ok(!text.includes(FORM.secretAccessKey));
    assert.deepEqual(flow.forms, [FORM]);
    const again = await post(FORM);
    assert.equal(again.status, 409);
    assert.equal(await code(again), 'E_SIGNIN_BUSY');
    assert.equal(flow.forms.length, 1);
  });
});
