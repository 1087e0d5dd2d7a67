// The UI when the agent goes away (in Debian's Chromium over an agent): the page says so and what
// to do, never its last status as current; "Could not reach the agent" goes once a status comes
// again; an agent back at the same address with a new key is said as such, without a click.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { serveControl } from '../sync/control/index.js';
import { FakeAgent, folderStatus } from '../sync/control/testkit.js';
import { agentAndPage, stateIs } from './agent-page.js';
import { noChromium, openPage } from './browser.js';

const skip = noChromium;

test('when the agent goes away the page says so and what to do, also when a button is pressed then', { skip, timeout: 60_000 }, async (t) => {
  const { control, page } = await agentAndPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await stateIs(page, 'In sync');
  await control.close(); // what an agent that stops does first
  const alert = page.getByRole('alert');
  await alert.filter({ hasText: 'Lost the connection to the agent' }).waitFor();
  assert.match(await alert.innerText(), /strata ui/);
  await page.getByRole('button', { name: 'Pause' }).click();
  await alert.filter({ hasText: 'Could not reach the agent' }).waitFor();
  assert.match(await alert.innerText(), /strata ui/);
});

test('"Could not reach the agent" goes once a status comes from the agent again: it no longer stands', { skip, timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-ui-unreachable-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const agent = new FakeAgent([folderStatus('/home/alice/Work', { lastSync: '2026-12-01T10:00:00Z' })]);
  const control = await serveControl(agent, { stateDir: join(dir, 'state') });
  t.after(() => control.close());
  const { page, problems } = await openPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await page.getByRole('heading', { name: '/home/alice/Work' }).waitFor();
  await page.route('**/api/pause', (r) => r.abort(), { times: 1 });
  await page.getByRole('button', { name: 'Pause' }).click();
  const alert = page.getByRole('alert').filter({ hasText: 'Could not reach the agent' });
  await alert.waitFor();
  agent.update({});
  await alert.waitFor({ state: 'detached' });
  assert.equal(agent.status.paused, false);
  await page.getByRole('button', { name: 'Pause' }).waitFor();
  assert.deepEqual(problems.filter((p) => !/Failed to load resource/.test(p)), []);
});

test('once the agent is gone the page no longer says it is in sync: its last status is shown as not current', { skip, timeout: 60_000 }, async (t) => {
  const { root, control, page, problems } = await agentAndPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await stateIs(page, 'In sync');
  await control.close();
  await page.getByRole('alert').filter({ hasText: 'Lost the connection' }).waitFor();
  await stateIs(page, 'Not connected');
  const folder = page.getByRole('heading', { name: root }).locator('..');
  assert.equal(await folder.locator('.folder-state').innerText(), 'Not connected (last known: In sync)');
  assert.deepEqual(problems.filter((p) => !/ERR_CONNECTION_REFUSED|Failed to load resource/.test(p)), []);
});

test('an agent that restarted at the same address, with a new key, is said as such without a click: never "trying again" while the browser has given up', { skip, timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-ui-restart-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const agent = new FakeAgent([folderStatus('/home/alice/Work', { lastSync: '2026-12-01T10:00:00Z' })]);
  agent.update({ lastSync: '2026-12-01T10:00:00Z' });
  const control = await serveControl(agent, { stateDir: join(dir, 'state') });
  const { page } = await openPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await stateIs(page, 'In sync');
  await control.close();
  await stateIs(page, 'Not connected');
  // The agent back on the port the page knows: its stream now answers 401, and EventSource gives up.
  const again = await serveControl(agent, { stateDir: join(dir, 'state'), port: Number(new URL(control.url).port) });
  t.after(() => again.close());
  await page.getByRole('alert').filter({ hasText: /no longer accepts this page's key/ }).waitFor({ timeout: 20_000 });
  await stateIs(page, 'Not connected');
});
