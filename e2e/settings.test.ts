// The settings mirror's problems in the UI (renderer/, in Debian's Chromium over a signed-in
// session's real host — agent, settings mirror, control endpoint — and a real dconf of the test's
// own): dconf not running, a key an administrator locked, a value dconf refused, each shown as a
// folder's error is, by key, and gone once it no longer stands (a refusal stays as news).
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseOrgConfig } from '../shared/org-config.js';
import { writeTree } from '../sync/cli/testkit.js';
import { Dconf } from '../sync/settings/dconf.js';
import { needsDconf, startDconf } from '../sync/settings/testkit.js';
import { openAgentState } from '../sync/state/index.js';
import { layHome, readSession, startSessionHost, writeSession, type Session } from '../sync/signin/index.js';
import { memoryBucket } from '../sync/signin/testkit.js';
import { stateIs } from './agent-page.js';
import { noChromium, openPage } from './browser.js';

const skip = noChromium || needsDconf;
const APP = '/org/test/app/';
const FILES = '.strata/settings/dconf/org/test/app';

test('the UI shows settings that cannot sync (dconf not running), a locked key and a refused value, by key, until they no longer stand', { skip, timeout: 120_000 }, async (t) => {
  const { dir, store } = await memoryBucket(t, 'ui-settings');
  const dconf = await startDconf(t, { system: { values: "[org/test/app]\nlocked='admin'\n", locks: [`${APP}locked`] } });
  // dconf's service is not reachable until the test says so: reads work (they need no bus), writes fail.
  const env = { ...dconf.env, DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(dir, 'no-bus')}` };
  const settings = new Dconf({ env });
  const org = parseOrgConfig({ version: 1, org: 'acme', mode: 'persistent', store: { bucket: 'acme-strata' }, folders: ['Documents'], settings: { dconf: [APP] } }, 'test');
  const home = join(dir, 'home');
  const stateDir = join(dir, 'state');
  await writeTree(home, { Documents: { 'notes.txt': 'mine' } });
  const { deviceId } = await openAgentState(stateDir, { newDeviceId: () => 'pc1' });
  await writeSession(stateDir, { version: 1, source: 'test', org, user: 'alice', home, mode: org.mode, device: deviceId, signedIn: new Date().toISOString() } satisfies Session);
  await layHome({ store, session: await readSession(stateDir), stateDir, settingsStore: settings });
  // Polls a second apart: while dconf fails, every poll runs a pass, and at 100 ms a loaded machine's
  // passes ran back to back, so that "In sync" between them was never on the page long enough to be seen.
  const host = await startSessionHost({ stateDir, session: await readSession(stateDir), org: { store, location: 'test', url: 'test', close: () => undefined }, orgCheckMs: 0, pollMs: 1_000, settingsStore: settings });
  t.after(() => host.stop());
  const { page, problems } = await openPage(t);
  await page.goto(`${host.control.url}/#token=${host.control.token}`);
  await stateIs(page, 'In sync');
  const settingsSection = page.getByRole('heading', { name: 'Settings', exact: true }).locator('..');
  assert.equal(await settingsSection.count(), 0, 'no settings section while nothing is wrong');

  // A value arrives in the layer's file (as another machine's would): the write to dconf fails.
  await mkdir(join(home, FILES), { recursive: true });
  await writeFile(join(home, FILES, 'theme'), "'dark'\n");
  await settingsSection.getByRole('alert').filter({ hasText: /^Settings are not synced: dconf .*failed.*Files sync on/ }).waitFor({ timeout: 20_000 });
  await stateIs(page, 'In sync'); // files sync on

  // dconf runs again: the value goes in, and the page no longer says settings cannot sync.
  const bus = dconf.env.DBUS_SESSION_BUS_ADDRESS;
  assert.ok(bus, 'the dconf session has a bus');
  env.DBUS_SESSION_BUS_ADDRESS = bus;
  await settingsSection.waitFor({ state: 'detached', timeout: 20_000 });

  // A key the administrator locked, and a value dconf cannot parse (hostile markup in it too).
  await writeFile(join(home, FILES, 'locked'), "'mine'\n");
  await writeFile(join(home, FILES, 'size'), '<img src=x onerror="window.pwned=1">\n');
  await settingsSection.getByRole('alert').filter({ hasText: `${APP}locked: not applied: locked on this machine by its administrator` }).waitFor({ timeout: 20_000 });
  const refused = settingsSection.getByText(new RegExp(`^${APP}size: dconf refused the layer's value`));
  await refused.waitFor({ timeout: 20_000 });
  // The next run puts this machine's value back in the file: the refusal no longer stands, but is
  // still told, below; the lock stands.
  await settingsSection.getByRole('listitem').filter({ hasText: `${APP}size: dconf refused` }).waitFor({ timeout: 20_000 });
  await host.agent.passesDone(2);
  assert.deepEqual((await settingsSection.getByRole('alert').allInnerTexts()).map((s) => s.trim()), [`${APP}locked: not applied: locked on this machine by its administrator; the layer keeps its value for the user's other machines`]);
  assert.equal(await page.locator('main img').count(), 0, 'a value is text, never markup');
  assert.equal(await page.evaluate(() => (window as { pwned?: unknown }).pwned), undefined);
  assert.deepEqual(problems, []);
});
