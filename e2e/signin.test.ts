// The desktop app's sign-in screen in a real Chromium (Debian's, driven by playwright-core), over
// the real sign-in flow (sync/signin/flow.ts) on Swift with the real keychain: the form comes
// filled with the machine's org config and the user's name; a wrong secret is refused with the
// reason and nothing kept; the right one lays the user's layer, with progress, and says so.
// Without a usable keychain, the screen says so, and what to do, before it asks for any secret.
// Requests cut off (polls, or the start itself) never give the form back while a sign-in runs.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { findCredentialsAsync } from '@napi-rs/keyring';
import { writeTree } from '../sync/cli/testkit.js';
import type { SignInState } from '../shared/signin-api.js';
import { serveSignIn, type SignInTarget } from '../sync/control/index.js';
import { noKeychain } from '../sync/credentials/keychain.js';
import { StrataError } from '../sync/errors.js';
import { preloadUserLayer } from '../sync/profile/index.js';
import { readSession, SignInFlow } from '../sync/signin/index.js';
import { makeMachine, makeTestOrg, signInSkipReason } from '../sync/signin/testkit.js';
import type { Page } from 'playwright-core';
import { noChromium, openPage } from './browser.js';

const skip = noChromium || (await signInSkipReason());

test('without a usable keychain, the sign-in screen says what to do before it asks for the secret, and checks again when told', { skip: noChromium, timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-signin-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // The keychain as sync/credentials finds it on a desktop without one, until the user starts one.
  let keychain = false;
  let checks = 0;
  const flow = new SignInFlow({
    stateDir: join(dir, 'state'),
    home: join(dir, 'home'),
    defaults: { org: '/etc/strata/acme.json', user: 'dana' },
    onSignedIn: () => Promise.reject(new Error('nobody signs in here')),
    checkKeychain: () => {
      checks++;
      return keychain ? Promise.resolve() : Promise.reject(new StrataError('E_NO_KEYCHAIN', 'no usable OS keychain (no D-Bus session): install and start gnome-keyring, then try again'));
    },
  });
  const screen = await serveSignIn(flow);
  t.after(() => screen.close());
  const { page, problems } = await openPage(t);

  await page.goto(`${screen.url}/#token=${screen.token}`);
  const alert = page.getByRole('alert');
  await alert.filter({ hasText: 'install and start gnome-keyring' }).waitFor({ timeout: 20_000 });
  const secret = page.getByLabel('Secret access key', { exact: true });
  assert.equal(await secret.isVisible(), false, 'no secret is asked for');
  assert.equal(await page.getByRole('button', { name: 'Sign in' }).isVisible(), false);
  assert.equal(checks, 1);

  keychain = true;
  await page.getByRole('button', { name: 'Try again' }).click();
  await secret.waitFor({ state: 'visible', timeout: 20_000 });
  assert.equal(await secret.isEditable(), true);
  assert.equal(await alert.innerText(), '', 'the error is gone');
  assert.equal(await page.getByRole('button', { name: 'Try again' }).isVisible(), false);
  assert.equal(await page.getByLabel('User id', { exact: true }).inputValue(), 'dana');
  assert.equal(checks, 2);
  assert.deepEqual(problems, [], 'no script error on the page');
});

test('the sign-in screen refuses a wrong secret, then signs in and lays the layer', { skip, timeout: 120_000 }, async (t) => {
  const org = await makeTestOrg(t, { folders: ['Documents'] });
  const tpl = join(org.dir, 'tpl');
  await writeTree(tpl, { Documents: { 'welcome.txt': 'welcome aboard', 'plan.md': '# day one' } });
  await preloadUserLayer(await org.admin(), 'dana', { from: tpl });
  const m = await makeMachine(org, 'new-pc');
  const handedOver: string[] = [];
  const flow = new SignInFlow({
    stateDir: m.stateDir,
    home: m.home,
    defaults: { org: org.configPath, user: 'dana' },
    onSignedIn: async ({ session, org: bucket }) => {
      handedOver.push(session.user);
      bucket.close();
    },
  });
  const screen = await serveSignIn(flow);
  t.after(() => screen.close());
  const { page, problems } = await openPage(t);

  await page.goto(`${screen.url}/#token=${screen.token}`);
  await page.getByRole('heading', { name: 'Sign in to Strata' }).waitFor();
  assert.equal(new URL(page.url()).hash, '', 'the token is gone from the address bar');
  const field = (label: string) => page.getByLabel(label, { exact: true });
  await page.waitForFunction(() => (document.getElementById('user') as HTMLInputElement | null)?.value === 'dana');
  assert.equal(await field('Org config (a file or an https address)').inputValue(), org.configPath);

  await field('Access key id').fill(org.creds.accessKeyId);
  await field('Secret access key').fill('not-the-secret');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const alert = page.getByRole('alert');
  await alert.filter({ hasText: /\S/ }).waitFor({ timeout: 30_000 });
  assert.match(await alert.innerText(), /credential|signature|access|denied|forbidden|refused/i);
  assert.equal(await field('Secret access key').inputValue(), '', 'the refused secret is emptied');
  assert.equal(await page.getByRole('button', { name: 'Sign in' }).isEnabled(), true, 'the form is back');
  assert.deepEqual(await findCredentialsAsync(`strata:${org.org}`), []);

  await field('Secret access key').fill(org.creds.secretAccessKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('status').filter({ hasText: 'Signed in. Strata keeps your files in sync.' }).waitFor({ timeout: 60_000 });
  assert.equal(await alert.innerText(), '', 'the earlier error is cleared');
  assert.deepEqual(handedOver, ['dana']);
  assert.equal(await readFile(join(m.home, 'Documents/welcome.txt'), 'utf8'), 'welcome aboard');
  assert.equal(await readFile(join(m.home, 'Documents/plan.md'), 'utf8'), '# day one');
  assert.equal((await readSession(m.stateDir)).user, 'dana');
  assert.equal((await findCredentialsAsync(`strata:${org.org}`)).length, 1, 'the credentials are in the keychain');
  assert.equal(await page.getByRole('button', { name: 'Sign in' }).isDisabled(), true);
  assert.deepEqual(problems, [], 'no script error on the page');
});

test('an org config that cannot be read is named in the error the screen shows, and nothing is kept', { skip: noChromium, timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-signin-org-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const org = join(dir, 'acme.json');
  const stateDir = join(dir, 'state');
  const flow = new SignInFlow({ stateDir, home: join(dir, 'home'), defaults: { org, user: 'dana' }, onSignedIn: () => Promise.reject(new Error('nobody signs in here')), checkKeychain: () => Promise.resolve() });
  const screen = await serveSignIn(flow);
  t.after(() => screen.close());
  const { page, problems } = await openPage(t);
  await page.goto(`${screen.url}/#token=${screen.token}`);
  await fillAndSignIn(page);
  const alert = page.getByRole('alert').filter({ hasText: /\S/ });
  await alert.waitFor({ timeout: 20_000 });
  assert.equal(await alert.innerText(), `the org config does not exist (give the file the admin distributed, or its https URL) (${org})`);
  assert.equal(existsSync(stateDir), false, 'nothing is kept');
  assert.deepEqual(problems, []);
});

test("the error's path is isolated as every name is (a <bdi>): right-to-left letters or an override in it reorder only it, never the words around it", { skip: noChromium, timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-signin-bidi-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const org = join(dir, 'تقرير\u202e.json');
  const flow = new SignInFlow({ stateDir: join(dir, 'state'), home: join(dir, 'home'), defaults: { org, user: 'dana' }, onSignedIn: () => Promise.reject(new Error('nobody signs in here')), checkKeychain: () => Promise.resolve() });
  const screen = await serveSignIn(flow);
  t.after(() => screen.close());
  const { page, problems } = await openPage(t);
  await page.goto(`${screen.url}/#token=${screen.token}`);
  await fillAndSignIn(page);
  const alert = page.getByRole('alert').filter({ hasText: 'does not exist' });
  await alert.waitFor({ timeout: 20_000 });
  const isolated = await alert.evaluate((el) => [...el.querySelectorAll('bdi')].map((b) => [b.textContent, b.dir]));
  assert.deepEqual(isolated, [[org, 'ltr']], "the org config's path");
  assert.equal(await alert.innerText(), `the org config does not exist (give the file the admin distributed, or its https URL) (${org})`, 'the words read as before');
  assert.deepEqual(problems, []);
});

test('from the keyboard alone: a sign-in sent with Enter that fails gives the focus back to the form, never to the page', { skip: noChromium, timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-signin-keys-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const org = join(dir, 'acme.json');
  const flow = new SignInFlow({ stateDir: join(dir, 'state'), home: join(dir, 'home'), defaults: { org, user: 'dana' }, onSignedIn: () => Promise.reject(new Error('nobody signs in here')), checkKeychain: () => Promise.resolve() });
  const screen = await serveSignIn(flow);
  t.after(() => screen.close());
  const { page, problems } = await openPage(t);
  await page.goto(`${screen.url}/#token=${screen.token}`);
  await page.waitForFunction(() => (document.getElementById('user') as HTMLInputElement | null)?.value === 'dana');
  const focused = () => page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName);
  for (const [id, text] of [['org'], ['user'], ['access-key', 'AKIAEXAMPLE'], ['secret', 'secret']] as const) {
    await page.keyboard.press('Tab');
    assert.equal(await focused(), id);
    if (text !== undefined) await page.keyboard.type(text);
  }
  await page.keyboard.press('Enter');
  await page.getByRole('alert').filter({ hasText: /the org config does not exist/ }).waitFor({ timeout: 20_000 });
  await page.getByLabel('Secret access key', { exact: true }).and(page.locator(':focus')).waitFor({ timeout: 2_000 }).catch(async () => assert.fail(`the focus is on ${await focused()}`));
  assert.deepEqual(problems, []);
});

test('from the keyboard alone: Try again keeps the focus while the keychain fails, and once it works moves it to the first empty field of the form it shows, never to the page', { skip: noChromium, timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-signin-retry-keys-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  let keychain = false;
  const flow = new SignInFlow({
    stateDir: join(dir, 'state'),
    home: join(dir, 'home'),
    defaults: { org: '/etc/strata/acme.json', user: 'dana' },
    onSignedIn: () => Promise.reject(new Error('nobody signs in here')),
    checkKeychain: () => (keychain ? Promise.resolve() : Promise.reject(new StrataError('E_NO_KEYCHAIN', 'no usable OS keychain (no D-Bus session): install and start gnome-keyring, then try again'))),
  });
  const screen = await serveSignIn(flow);
  t.after(() => screen.close());
  const { page, problems } = await openPage(t);
  await page.goto(`${screen.url}/#token=${screen.token}`);
  await page.getByRole('alert').filter({ hasText: 'install and start gnome-keyring' }).waitFor({ timeout: 20_000 });
  await page.keyboard.press('Tab');
  const again = page.getByRole('button', { name: 'Try again' });
  assert.equal(await again.evaluate((el) => el === document.activeElement), true);
  // Still none: the check fails again, and Try again has the focus for the next go.
  await page.keyboard.press('Enter');
  await again.and(page.locator(':focus:enabled')).waitFor({ timeout: 20_000 });
  keychain = true;
  await page.keyboard.press('Enter');
  // The org config and the user id come filled: the access key id is the first to type.
  const key = page.getByLabel('Access key id', { exact: true });
  await key.waitFor({ state: 'visible', timeout: 20_000 });
  await key.and(page.locator(':focus')).waitFor({ timeout: 2_000 }).catch(async () => assert.fail(`the focus is on ${await page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName)}`));
  assert.deepEqual(problems, []);
});

test('a long path in an error wraps inside the sign-in screen: it never makes it scroll sideways', { skip: noChromium, timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-signin-long-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const org = join(dir, `${'a'.repeat(150)}.json`);
  const flow = new SignInFlow({ stateDir: join(dir, 'state'), home: join(dir, 'home'), defaults: { org, user: 'dana' }, onSignedIn: () => Promise.reject(new Error('nobody signs in here')), checkKeychain: () => Promise.resolve() });
  const screen = await serveSignIn(flow);
  t.after(() => screen.close());
  const { page, problems } = await openPage(t);
  await page.setViewportSize({ width: 480, height: 700 });
  await page.goto(`${screen.url}/#token=${screen.token}`);
  await fillAndSignIn(page);
  await page.getByRole('alert').filter({ hasText: 'does not exist' }).waitFor({ timeout: 20_000 });
  const [scroll, client] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
  assert.ok(scroll <= client, `the screen is ${scroll} px wide in a ${client} px window`);
  assert.deepEqual(problems, []);
});

test('a status poll that fails while the sign-in runs is said as lost contact, retried, and the form stays disabled until the sign-in ends', { skip: noChromium, timeout: 60_000 }, async (t) => {
  // A sign-in under way until the test ends it; the screen's polls are cut off meanwhile (a
  // network blip, an app too busy to answer).
  const sign = manualSignIn();
  const screen = await serveSignIn(sign.target);
  t.after(() => screen.close());
  const { page, problems } = await openPage(t);
  let cut = 0;
  await page.route('**/api/signin', (r) => {
    if (r.request().method() !== 'GET') return r.continue();
    cut++;
    return r.abort('connectionreset');
  });
  await page.goto(`${screen.url}/#token=${screen.token}`);
  await fillAndSignIn(page);
  const alert = page.getByRole('alert').filter({ hasText: /\S/ });
  await alert.waitFor({ timeout: 20_000 });
  assert.match(await alert.innerText(), /^Lost contact with the Strata app; trying again/);
  assert.equal(await page.getByRole('button', { name: 'Sign in' }).isDisabled(), true, 'no second sign-in over the first');
  assert.equal(await page.getByLabel('Secret access key', { exact: true }).isDisabled(), true);
  const before = cut;
  await expectMore(() => cut, before);
  assert.equal(await page.getByRole('button', { name: 'Sign in' }).isDisabled(), true);

  await page.unroute('**/api/signin');
  sign.step('done');
  await page.getByRole('status').filter({ hasText: 'Signed in. Strata keeps your files in sync.' }).waitFor({ timeout: 20_000 });
  assert.equal(await page.getByRole('alert').innerText(), '', 'the lost contact is no longer said');
  assert.equal(sign.starts(), 1);
  assert.deepEqual(problems.filter((p) => !/Failed to load resource/.test(p)), []);
});

/** Resolves once `count()` exceeds `than`: the screen polls on. */
async function expectMore(count: () => number, than: number): Promise<void> {
  while (count() <= than) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** A sign-in the test moves through its steps by hand: `step` is what the app says, `starts` how many were started. */
function manualSignIn(): { target: SignInTarget; step: (s: SignInState['step']) => void; starts: () => number } {
  const defaults = { org: '/etc/strata/acme.json', user: 'dana' };
  let step: SignInState['step'] = 'form';
  let starts = 0;
  const target: SignInTarget = {
    state: () => ({ step, defaults }),
    checkKeychain: () => Promise.resolve({ step, defaults }),
    start: () => {
      if (step !== 'form') return false;
      starts++;
      step = 'checking';
      return true;
    },
  };
  return { target, step: (s) => (step = s), starts: () => starts };
}

async function fillAndSignIn(page: Page): Promise<void> {
  await page.waitForFunction(() => (document.getElementById('user') as HTMLInputElement | null)?.value === 'dana');
  await page.getByLabel('Access key id', { exact: true }).fill('AKIAEXAMPLE');
  await page.getByLabel('Secret access key', { exact: true }).fill('secret');
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('a sign-in whose start was answered by a network error, though it reached the app, is followed: the form is not given back', { skip: noChromium, timeout: 60_000 }, async (t) => {
  const signIn = manualSignIn();
  const screen = await serveSignIn(signIn.target);
  t.after(() => screen.close());
  const { page, problems } = await openPage(t);
  // The start reaches the app, and its answer is lost on the way back.
  await page.route('**/api/signin', async (r) => {
    if (r.request().method() !== 'POST') return r.continue();
    await r.fetch();
    return r.abort('connectionreset');
  });
  await page.goto(`${screen.url}/#token=${screen.token}`);
  await fillAndSignIn(page);
  await page.getByRole('status').filter({ hasText: 'Checking your credentials…' }).waitFor({ timeout: 20_000 });
  assert.equal(await page.getByRole('button', { name: 'Sign in' }).isDisabled(), true, 'no second sign-in over the first');
  signIn.step('done');
  await page.getByRole('status').filter({ hasText: 'Signed in. Strata keeps your files in sync.' }).waitFor({ timeout: 20_000 });
  assert.equal(await page.getByRole('alert').innerText(), '');
  assert.equal(signIn.starts(), 1);
  assert.deepEqual(problems.filter((p) => !/Failed to load resource/.test(p)), []);
});

test('a start that never reached the app gives the form back and says so; one refused as a sign-in already under way follows that one', { skip: noChromium, timeout: 60_000 }, async (t) => {
  const signIn = manualSignIn();
  const screen = await serveSignIn(signIn.target);
  t.after(() => screen.close());
  const { page, problems } = await openPage(t);
  await page.route('**/api/signin', (r) => (r.request().method() === 'POST' ? r.abort('connectionreset') : r.continue()));
  await page.goto(`${screen.url}/#token=${screen.token}`);
  await fillAndSignIn(page);
  await page.getByRole('alert').filter({ hasText: 'The sign-in did not reach the Strata app; sign in again.' }).waitFor({ timeout: 20_000 });
  assert.equal(await page.getByRole('button', { name: 'Sign in' }).isDisabled(), false);
  assert.equal(await page.getByLabel('Secret access key', { exact: true }).inputValue(), 'secret', 'the secret is kept for the next try');
  assert.equal(signIn.starts(), 0);

  // Meanwhile a sign-in started elsewhere (the app's other window): this one is refused, and followed.
  await page.unroute('**/api/signin');
  signIn.step('laying');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('status').filter({ hasText: 'Finding your files…' }).waitFor({ timeout: 20_000 });
  assert.equal(await page.getByRole('button', { name: 'Sign in' }).isDisabled(), true);
  assert.equal(await page.getByRole('alert').innerText(), '', 'the refusal is no error: the sign-in runs');
  signIn.step('done');
  await page.getByRole('status').filter({ hasText: 'Signed in. Strata keeps your files in sync.' }).waitFor({ timeout: 20_000 });
  assert.deepEqual(problems.filter((p) => !/Failed to load resource/.test(p)), []);
});

test('a keychain check that the app did not answer says so in one line, and Try again checks again and shows the form', { skip: noChromium, timeout: 60_000 }, async (t) => {
  const signIn = manualSignIn();
  let checks = 0;
  const screen = await serveSignIn({ ...signIn.target, checkKeychain: () => (checks++, signIn.target.checkKeychain()) });
  t.after(() => screen.close());
  const { page, problems } = await openPage(t);
  // The first check is cut off on the way (the app restarting, a network blip); the next goes through.
  await page.route('**/api/signin/keychain', (r) => r.abort('connectionreset'), { times: 1 });
  await page.goto(`${screen.url}/#token=${screen.token}`);
  const alert = page.getByRole('alert').filter({ hasText: /\S/ });
  await alert.waitFor({ timeout: 20_000 });
  assert.equal(await alert.innerText(), 'Could not check the keychain: the Strata app did not answer. Try again.');
  const again = page.getByRole('button', { name: 'Try again' });
  assert.equal(await again.isEnabled(), true, 'the screen offers a way on');
  assert.equal(checks, 0);

  await again.click();
  const secret = page.getByLabel('Secret access key', { exact: true });
  await secret.waitFor({ state: 'visible', timeout: 20_000 });
  assert.equal(await secret.isEditable(), true);
  assert.equal(await page.getByRole('alert').innerText(), '', 'the error is gone');
  assert.equal(await again.isVisible(), false);
  assert.equal(checks, 1);
  assert.deepEqual(problems.filter((p) => !/Failed to load resource/.test(p)), []);
});

test('while the keychain is being checked the screen says so, and a check that finds it unusable says what to do', { skip: noChromium, timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-signin-slow-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // A Secret Service slow to answer, then found not to answer at all (sync/credentials' time limit).
  let answer: (err: Error) => void = () => undefined;
  const flow = new SignInFlow({
    stateDir: join(dir, 'state'),
    home: join(dir, 'home'),
    defaults: { org: '/etc/strata/acme.json', user: 'dana' },
    onSignedIn: () => Promise.reject(new Error('nobody signs in here')),
    checkKeychain: () => new Promise<void>((_, reject) => (answer = reject)),
  });
  const screen = await serveSignIn(flow);
  t.after(() => screen.close());
  const { page, problems } = await openPage(t);
  await page.goto(`${screen.url}/#token=${screen.token}`);
  await page.getByRole('status').filter({ hasText: 'Checking the keychain…' }).waitFor({ timeout: 20_000 });
  assert.equal(await page.getByLabel('Secret access key', { exact: true }).isVisible(), false);

  answer(noKeychain('the Secret Service did not answer within 20 s'));
  const alert = page.getByRole('alert').filter({ hasText: /\S/ });
  await alert.waitFor({ timeout: 20_000 });
  assert.match(await alert.innerText(), /^no usable OS keychain \(the Secret Service did not answer within 20 s\): .*does not answer: if it asks to be unlocked, unlock it; else restart it/);
  assert.equal(await page.getByRole('status').innerText(), '', 'the check is over');
  assert.equal(await page.getByRole('button', { name: 'Try again' }).isEnabled(), true);
  assert.deepEqual(problems, []);
});
