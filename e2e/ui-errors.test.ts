// A folder's error and warning in the UI (in Debian's Chromium over a stand-in agent): an error
// says where (the file, or the object in the bucket), a paused folder's as its last pass failing,
// its name isolated as every name is; a warning is said beside its folder, which stays in sync.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { serveControl } from '../sync/control/index.js';
import { FakeAgent, folderStatus } from '../sync/control/testkit.js';
import { stateIs } from './agent-page.js';
import { noChromium, openPage } from './browser.js';

const skip = noChromium;

test("a folder's error says where: the file, or the object in the bucket", { skip, timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-ui-error-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const agent = new FakeAgent([
    folderStatus('/home/alice/Work', { state: 'error', error: { code: 'E_AUTH', message: 'access denied', key: 'heads/user/alice/pc1' } }),
    folderStatus('/home/alice/Music', { state: 'error', error: { code: 'E_IO', message: 'permission denied', path: 'song.ogg' } }),
  ]);
  const control = await serveControl(agent, { stateDir: join(dir, 'state') });
  t.after(() => control.close());
  const { page, problems } = await openPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await stateIs(page, 'Error');
  const alerts = (await page.getByRole('alert').allInnerTexts()).map((s) => s.trim());
  assert.deepEqual(alerts, ['access denied (heads/user/alice/pc1)', 'permission denied (song.ogg)']);
  assert.deepEqual(problems, []);
});

test("a paused folder's error, which its last pass left, is said as the last pass failing", { skip, timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-ui-paused-error-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const agent = new FakeAgent([folderStatus('/home/alice/Work', { state: 'paused', error: { code: 'E_AUTH', message: 'access denied', key: 'heads/user/alice/pc1' } })]);
  agent.update({ paused: true });
  const control = await serveControl(agent, { stateDir: join(dir, 'state') });
  t.after(() => control.close());
  const { page, problems } = await openPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await stateIs(page, 'Paused');
  const alerts = (await page.getByRole('alert').allInnerTexts()).map((s) => s.trim());
  assert.deepEqual(alerts, ['Last pass failed: access denied (heads/user/alice/pc1)']);
  assert.deepEqual(problems, []);
});

test("an error's file or object is isolated as every name is (a <bdi>): right-to-left letters or an override in it reorder only it, never the words around it", { skip, timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-ui-error-bidi-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = 'تقرير\u202e.txt';
  const agent = new FakeAgent([
    folderStatus('/home/alice/Work', { state: 'error', error: { code: 'E_IO', message: 'permission denied', path: file } }),
    folderStatus('/home/alice/Music', { lastSync: '2026-12-05T10:00:00Z', warning: { code: 'E_PATH_TOO_LONG', message: 'too long', path: 'שיר\u202e.ogg' } }),
  ]);
  agent.update({ settings: { store: 'dconf', error: { code: 'E_SETTINGS', message: 'cannot be read', key: '/org/\u202eapp' }, problems: [] } });
  const control = await serveControl(agent, { stateDir: join(dir, 'state') });
  t.after(() => control.close());
  const { page, problems } = await openPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await stateIs(page, 'Error');
  const isolated = async (selector: string) =>
    page.locator(selector).evaluateAll((els) => els.map((el) => [...el.querySelectorAll('bdi')].map((b) => [b.textContent, b.dir])));
  assert.deepEqual(await isolated('.folder .problem'), [[[file, 'ltr']]], "the error's file");
  assert.deepEqual(await isolated('.folder .warning'), [[['שיר\u202e.ogg', 'ltr']]], "the warning's file");
  assert.deepEqual(await isolated('.settings .problem'), [[['/org/\u202eapp', 'ltr']]], "the settings error's key");
  const alerts = (await page.getByRole('alert').allInnerTexts()).map((s) => s.trim());
  assert.deepEqual(alerts, [`permission denied (${file})`, 'Settings are not synced: cannot be read (/org/\u202eapp). Files sync on; dconf is tried again at each pass.'], 'the words read as before');
  assert.deepEqual(problems, []);
});

test("a folder's warning is said beside it, and the folder stays in sync: it syncs on", { skip, timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-ui-warning-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const warning = { code: 'E_WATCH_LIMIT', message: 'not watched; raise fs.inotify.max_user_watches', path: '/home/alice/Work/src' };
  const agent = new FakeAgent([folderStatus('/home/alice/Work', { lastSync: '2026-12-05T10:00:00Z', warning })]);
  agent.update({ lastSync: '2026-12-05T10:00:00Z' });
  const control = await serveControl(agent, { stateDir: join(dir, 'state') });
  t.after(() => control.close());
  const { page, problems } = await openPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await stateIs(page, 'In sync');
  const folder = page.getByRole('heading', { name: '/home/alice/Work' }).locator('..');
  await folder.getByText('Warning: not watched; raise fs.inotify.max_user_watches (/home/alice/Work/src)').waitFor();
  assert.deepEqual(await page.getByRole('alert').allInnerTexts(), [], 'a warning is no alert: nothing failed');
  assert.deepEqual(problems, []);
});
