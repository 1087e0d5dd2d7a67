// The UI in a real Chromium (Debian's, driven by playwright-core), served by an agent's control
// endpoint on loopback (sync/control/ui.ts, renderer/): it shows the agent's state and a
// folder's conflicts, pauses and resumes the agent, resolves a conflict, restores then confirms a held mass delete, keeps the token
// out of the address bar (a reload still works), and without the token, or with a stale one, says how to get one.
// What it says of a folder: files not counted yet, one file, a pass still stopping, a delete about to run.
// Beside it: ui-focus (the keyboard and the focus), ui-a11y (names, contrast, what is read out),
// ui-connection (an agent that goes away), ui-errors (errors and warnings), ui-layout (narrow windows, long names).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { serveControl } from '../sync/control/index.js';
import { FakeAgent, folderStatus } from '../sync/control/testkit.js';
import { agentAndPage, stateIs } from './agent-page.js';
import { noChromium, openPage } from './browser.js';

const skip = noChromium;

test('the UI shows the agent and its conflicts, pauses and resumes it, resolves a conflict, and restores then confirms a held mass delete', { skip, timeout: 120_000 }, async (t) => {
  const { root, agent, control, page, problems } = await agentAndPage(t);
  /** A wait that timed out fails with what the page and the agent showed. */
  const explain = async (err: unknown): Promise<never> => assert.fail(`${String(err)}\npage:\n${await page.locator('main').innerText()}\nagent: ${JSON.stringify(agent.status())}`);
  const page0 = await page.goto(`${control.url}/#token=${control.token}`);
  assert.match(page0?.headers()['content-security-policy'] ?? '', /script-src 'self'/);
  await stateIs(page, 'In sync');
  assert.equal(new URL(page.url()).hash, '', 'the token is gone from the address bar');
  await page.reload();
  await stateIs(page, 'In sync');
  await page.getByText(`Device ${agent.deviceId}`).waitFor();
  await page.getByRole('heading', { name: root }).waitFor();
  // The look comes from a constructed style sheet, which the page's CSP lets through.
  assert.match(await page.getByRole('status').evaluate((el) => getComputedStyle(el).fontWeight), /^(600|700)$/);
  await page.getByText('notes.sync-conflict-20261201-101500-laptop.txt').waitFor();

  await page.getByRole('button', { name: 'Pause' }).click();
  await stateIs(page, 'Paused');
  assert.equal(agent.paused, true);
  await page.getByRole('button', { name: 'Resume' }).click();
  await stateIs(page, 'In sync');
  assert.equal(agent.paused, false);

  // The conflict, resolved by keeping the other version: it takes the name, the copy goes.
  await page.getByRole('button', { name: 'Keep the other: notes.sync-conflict-20261201-101500-laptop.txt' }).click();
  await page.getByText('Conflicts (1)').waitFor({ state: 'detached' });
  assert.equal(await readFile(join(root, 'notes.txt'), 'utf8'), 'theirs');
  assert.equal(existsSync(join(root, 'notes.sync-conflict-20261201-101500-laptop.txt')), false);
  await stateIs(page, 'In sync');

  // Most of the folder deleted at once: the pass waits, the page asks; restored, the files come back.
  for (let i = 0; i < 20; i++) await writeFile(join(root, `f${i}.txt`), `file ${i}`);
  await page.getByRole('button', { name: 'Sync now' }).click();
  await page.getByText('Layer user/alice, 21 files').waitFor({ timeout: 20_000 }).catch(explain);
  const removeAll = async () => {
    for (let i = 0; i < 20; i++) await rm(join(root, `f${i}.txt`));
    await page.getByRole('button', { name: 'Sync now' }).click();
  };
  await removeAll();
  // The guard counts the last hour's deletes, but not the conflict copy resolved above: the user chose that one.
  const restore = page.getByRole('button', { name: 'Restore 20 files' });
  await restore.waitFor({ timeout: 20_000 }).catch(explain);
  await page.getByText('20 of 21 files were deleted on this machine').waitFor();
  await stateIs(page, 'Waiting for you');
  await restore.click();
  await page.getByText('Layer user/alice, 21 files').waitFor({ timeout: 20_000 }).catch(explain);
  await stateIs(page, 'In sync');
  assert.equal(await readFile(join(root, 'f7.txt'), 'utf8'), 'file 7');
  assert.equal(existsSync(join(root, 'notes.sync-conflict-20261201-101500-laptop.txt')), false, 'the resolved conflict stays resolved');
  // Deleted again, and this time confirmed: the click lets the deletes go.
  await removeAll();
  const confirm = page.getByRole('button', { name: 'Delete 20 files' });
  await confirm.waitFor({ timeout: 20_000 }).catch(explain);
  await page.getByText('20 of 21 files were deleted on this machine').waitFor();
  await confirm.click();
  await page
    .getByRole('button', { name: /^Delete/ })
    .waitFor({ state: 'detached', timeout: 20_000 })
    .catch(explain);
  await stateIs(page, 'In sync');
  assert.equal(agent.status().folders[0]?.pendingDeletes, undefined);
  assert.deepEqual(problems, [], 'no script error on the page');
});

test('without the token, or with a stale one, the page says how to open it, and the API refuses it', { skip, timeout: 60_000 }, async (t) => {
  const { control, page, problems } = await agentAndPage(t);
  await page.goto(control.url);
  await page.getByRole('alert').filter({ hasText: 'strata ui' }).waitFor();
  assert.deepEqual(problems, []);
  const refused = await page.evaluate(async () => (await fetch('/api/status', { method: 'POST' })).status);
  assert.equal(refused, 401);
  // A key the agent no longer takes (it restarted since): the page says so instead of retrying forever.
  await page.goto(`${control.url}/#token=${'x'.repeat(43)}`);
  await page.reload(); // a new fragment alone does not load the page again
  await page.getByText(/no longer accepts this page's key/).waitFor();
});

test('while the agent is paused Sync now is not offered, as in the tray: it would do nothing until Resume', { skip, timeout: 60_000 }, async (t) => {
  const { control, page, problems } = await agentAndPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await stateIs(page, 'In sync');
  const syncNow = page.getByRole('button', { name: 'Sync now' });
  assert.equal(await syncNow.isEnabled(), true);
  await page.getByRole('button', { name: 'Pause' }).click();
  await stateIs(page, 'Paused');
  assert.equal(await syncNow.isDisabled(), true);
  await page.getByRole('button', { name: 'Resume' }).click();
  await stateIs(page, 'In sync');
  assert.equal(await syncNow.isEnabled(), true);
  assert.deepEqual(problems, []);
});

test('an answered mass delete whose pass is due is said as the tray says it, never "In sync"', { skip, timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-ui-about-to-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const agent = new FakeAgent([folderStatus('/home/alice/Work', { lastSync: '2026-12-01T10:00:00Z', pendingDeletes: { files: 20, of: 25, direction: 'local', answer: 'confirm' } })]);
  agent.update({ lastSync: '2026-12-01T10:00:00Z' });
  const control = await serveControl(agent, { stateDir: join(dir, 'state') });
  t.after(() => control.close());
  const { page, problems } = await openPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await stateIs(page, 'About to delete 20 files');
  assert.deepEqual(problems, []);
});

test('a folder of one file says "1 file"', { skip, timeout: 60_000 }, async (t) => {
  const { root, control, page, problems } = await agentAndPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await page.getByText('Layer user/alice, 2 files').waitFor();
  await page.getByRole('button', { name: 'Keep this: notes.txt' }).click();
  await page.getByRole('heading', { name: root }).locator('..').getByText(/^Layer user\/alice, 1 file$/).waitFor();
  assert.deepEqual(problems, []);
});

test('a folder in its first sync says its files are not counted yet, never "0 files" while it uploads them', { skip, timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-ui-first-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const progress = { files: 3, filesTotal: 40, bytes: 1024, bytesTotal: 8192, rate: 0 };
  const agent = new FakeAgent([folderStatus('/home/alice/Work', { state: 'uploading', progress })]);
  const control = await serveControl(agent, { stateDir: join(dir, 'state') });
  t.after(() => control.close());
  const { page, problems } = await openPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await page.locator('.folder-state').getByText('Uploading: 3 of 40 files').waitFor();
  assert.equal(await page.locator('.layer').innerText(), 'Layer user/alice, files not counted yet');
  assert.deepEqual(problems, []);
});

test('a pass still stopping after a pause is said as pausing, never as syncing on, while the page offers Resume', { skip, timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-ui-pausing-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const root = '/home/alice/Work';
  const agent = new FakeAgent([folderStatus(root, { state: 'uploading', progress: { files: 3, filesTotal: 8, bytes: 1024, bytesTotal: 8192, rate: 512 } })]);
  const control = await serveControl(agent, { stateDir: join(dir, 'state') });
  t.after(() => control.close());
  const { page, problems } = await openPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await stateIs(page, 'Uploading');
  // Agent.pause marks the agent paused at once, then waits for the running pass to stop: statuses pushed meanwhile say both.
  // (The fake's update would say every folder paused at once: the real agent's status is sent as it is.)
  agent.status = { ...agent.status, paused: true };
  agent.emit({ type: 'status', status: agent.status });
  await page.getByRole('button', { name: 'Resume' }).waitFor();
  await stateIs(page, 'Pausing');
  const folder = page.getByRole('heading', { name: root }).locator('..');
  assert.match(await folder.locator('.folder-state').innerText(), /^Pausing: 3 of 8 files/);
  assert.deepEqual(problems, []);
});
