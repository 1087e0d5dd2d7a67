// The Content-Security-Policy every page of the app is served with (sync/control/ui.ts), as a real
// Chromium enforces it: on the agent's UI and on the sign-in screen, the pages the desktop app's
// windows load from loopback and a browser gets from `strata ui`. A script the page did not load
// from its own origin, a connection elsewhere, an inline style and a data: image are all
// refused, and the page itself still runs.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { SignInState } from '../shared/signin-api.js';
import { serveControl, serveSignIn } from '../sync/control/index.js';
import { FakeAgent } from '../sync/control/testkit.js';
import { noChromium, openPage } from './browser.js';

/** What the page may not do, each tried from inside it; returns the CSP directives it broke and what got through. */
async function tryEverything(t: TestContext, url: string): Promise<{ violated: string[]; ran: string[] }> {
  const { page } = await openPage(t);
  await page.goto(url);
  await page.locator('main').filter({ hasNotText: 'Loading…' }).waitFor();
  return page.evaluate(async () => {
    const violated: string[] = [];
    const ran: string[] = [];
    document.addEventListener('securitypolicyviolation', (e) => violated.push(e.effectiveDirective));
    const w = window as unknown as Record<string, unknown>;
    const inline = document.createElement('script');
    inline.textContent = 'window.inlineRan = true';
    document.head.append(inline);
    if (w.inlineRan) ran.push('inline script');
    const remote = document.createElement('script');
    remote.src = 'http://localhost:9/remote.js';
    await new Promise((resolve) => {
      remote.onerror = resolve;
      remote.onload = resolve;
      document.head.append(remote);
    });
    await fetch('http://localhost:9/').then(
      () => ran.push('fetch elsewhere'),
      () => undefined,
    );
    const styled = document.createElement('p');
    styled.setAttribute('style', 'font-weight: 900');
    document.body.append(styled);
    if (getComputedStyle(styled).fontWeight === '900') ran.push('inline style');
    const img = new Image();
    await new Promise((resolve) => {
      img.onerror = resolve;
      img.onload = resolve;
      img.src = 'data:image/gif;base64,R0lGODlhAQABAAAAACw=';
    });
    if (img.naturalWidth > 0) ran.push('data: image');
    // Violation events are dispatched as tasks: let them all arrive.
    await new Promise((resolve) => setTimeout(resolve, 0));
    return { violated: [...new Set(violated)].sort(), ran };
  });
}

const REFUSED = ['connect-src', 'img-src', 'script-src-elem', 'style-src-attr'];

test("the agent's UI runs under a CSP that refuses every script, style, image and connection not its own", { skip: noChromium, timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-csp-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const control = await serveControl(new FakeAgent(), { stateDir: join(dir, 'state') });
  t.after(() => control.close());
  const { violated, ran } = await tryEverything(t, `${control.url}/#token=${control.token}`);
  assert.deepEqual(ran, []);
  assert.deepEqual(violated, REFUSED);
});

test('the sign-in screen runs under the same CSP', { skip: noChromium, timeout: 60_000 }, async (t) => {
  const state: SignInState = { step: 'form', defaults: { org: '', user: 'dana' } };
  const screen = await serveSignIn({ state: () => state, checkKeychain: () => Promise.resolve(state), start: () => false });
  t.after(() => screen.close());
  const { violated, ran } = await tryEverything(t, `${screen.url}/#token=${screen.token}`);
  assert.deepEqual(ran, []);
  assert.deepEqual(violated, REFUSED);
});
