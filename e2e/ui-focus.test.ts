// The UI from the keyboard alone, and where the focus stays while the page redraws (in Debian's
// Chromium over an agent): Tab reaches every button, a conflict resolved takes the focus to its
// list, never to the next conflict's button; a conflict resolved elsewhere, a new one, or a status
// pushed at each step of a pass changes only its own row, and builds no row again.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { serveControl } from '../sync/control/index.js';
import { FakeAgent, folderStatus } from '../sync/control/testkit.js';
import { agentAndPage, stateIs } from './agent-page.js';
import { noChromium, openPage } from './browser.js';
import { twoConflictsOfNotes } from './ui-fixture.js';

const skip = noChromium;

test('from the keyboard alone: Tab reaches every button, and a button pressed keeps the focus, so Enter again undoes it', { skip, timeout: 60_000 }, async (t) => {
  const { root, control, page, problems } = await agentAndPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await stateIs(page, 'In sync');
  const focused = () => page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent);
  const names: Array<string | null | undefined> = [];
  for (let i = 0; i < 4; i++) {
    await page.keyboard.press('Tab');
    names.push(await focused());
  }
  assert.deepEqual(names, ['Pause', 'Sync now', `Keep this: notes.txt in ${root}`, `Keep the other: notes.sync-conflict-20261201-101500-laptop.txt in ${root}`]);
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Shift+Tab');
  assert.equal(await focused(), 'Pause');
  await page.keyboard.press('Enter');
  await stateIs(page, 'Paused');
  await page.getByRole('button', { name: 'Resume' }).and(page.locator(':focus')).waitFor();
  await page.keyboard.press('Enter');
  await stateIs(page, 'In sync');
  await page.getByRole('button', { name: 'Pause' }).and(page.locator(':focus')).waitFor();
  assert.deepEqual(problems, []);
});

test('a conflict resolved from the keyboard takes its buttons away: the focus never lands on the next conflict\'s, where Enter again would resolve it unseen', { skip, timeout: 60_000 }, async (t) => {
  const { root, agent, control, page, problems } = await agentAndPage(t);
  const other = 'zeta.sync-conflict-20261201-101500-laptop.txt';
  await writeFile(join(root, 'zeta.txt'), 'mine');
  await writeFile(join(root, other), 'theirs');
  await page.goto(`${control.url}/#token=${control.token}`);
  await stateIs(page, 'In sync');
  agent.syncNow();
  await page.getByText('Conflicts (2)').waitFor({ timeout: 20_000 });
  await page.getByRole('button', { name: 'Keep this: notes.txt' }).focus();
  await page.keyboard.press('Enter');
  await page.getByText('Conflicts (1)').waitFor({ timeout: 20_000 });
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H3', 'the focus is on the list of conflicts');
  await page.keyboard.press('Enter');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), `Keep this: zeta.txt in ${root}`, 'Tab goes on to the next conflict');
  assert.deepEqual(agent.status().folders[0]?.conflicts.map((c) => c.copy), [other], 'the other conflict is left as it was');
  assert.deepEqual(problems, []);
});

test('a conflict resolved elsewhere, or a new one, changes only its own row: the focus stays on the button of a conflict listed after it', { skip, timeout: 60_000 }, async (t) => {
  const { desktop, agent, page, problems } = await twoConflictsOfNotes(t, 'focus');
  const second = page.getByRole('button', { name: `Keep the other: ${desktop.copy}` });
  await second.focus();
  // The laptop's conflict is resolved from the CLI while the user reads the desktop's.
  agent.status.folders[0]!.conflicts = [desktop];
  agent.update({});
  await page.getByText('Conflicts (1)').waitFor();
  await second.and(page.locator(':focus')).waitFor({ timeout: 2_000 });
  // A new conflict listed before it comes in without taking its place.
  agent.status.folders[0]!.conflicts = [{ path: 'anna.txt', copy: 'anna.sync-conflict-20261201-121500-laptop.txt', device: 'laptop' }, desktop];
  agent.update({});
  await page.getByText('Conflicts (2)').waitFor();
  await second.and(page.locator(':focus')).waitFor({ timeout: 2_000 });
  assert.deepEqual(agent.calls.filter((c) => c.command === 'resolveConflict'), []);
  assert.deepEqual(problems, []);
});

test('a status pushed at each step of a pass builds no conflict row again: only a conflict whose versions changed is rebuilt, in its own row, and the focus stays on its button', { skip, timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-ui-rows-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const root = '/home/alice/Work';
  const conflicts = Array.from({ length: 40 }, (_, i) => ({
    path: `f${i}.txt`,
    copy: `f${i}.sync-conflict-20261201-101500-laptop.txt`,
    device: 'laptop',
    versions: { name: { kind: 'file' as const, size: 100 + i, mtime: '2026-12-01T10:00:00Z' }, copy: { kind: 'file' as const, size: 200 + i, mtime: '2026-12-01T10:15:00Z' } },
  }));
  const agent = new FakeAgent([folderStatus(root, { conflicts })]);
  const control = await serveControl(agent, { stateDir: join(dir, 'state') });
  t.after(() => control.close());
  const { page, problems } = await openPage(t);
  // Counts the elements the page builds, by tag: what a render cost, whatever the machine.
  await page.addInitScript(() => {
    const made: Record<string, number> = {};
    (window as unknown as { made: typeof made }).made = made;
    const create = Document.prototype.createElement;
    Document.prototype.createElement = function (this: Document, tag: string, opts?: ElementCreationOptions) {
      made[tag] = (made[tag] ?? 0) + 1;
      return create.call(this, tag, opts);
    } as typeof create;
  });
  await page.goto(`${control.url}/#token=${control.token}`);
  await page.getByText('Conflicts (40)').waitFor();
  const row = conflicts[20]!;
  const button = page.getByRole('button', { name: `Keep the other: ${row.copy}` });
  await button.focus();
  /** From now on: the elements built, the changes under the list of conflicts, and the row of conflict 20 kept. */
  const watch = () =>
    page.evaluate((key) => {
      const w = window as unknown as { made: Record<string, number>; changed: string[]; row: Element | null };
      for (const k of Object.keys(w.made)) delete w.made[k];
      w.changed = [];
      w.row = document.querySelector(`li[data-key="${key}"]`);
      new MutationObserver((records) => {
        for (const r of records) w.changed.push(`${r.type} in ${(r.target instanceof Element ? r.target : r.target.parentElement)?.closest('li')?.getAttribute('data-key') ?? 'the list'}`);
      }).observe(document.querySelector('.conflicts')!, { subtree: true, childList: true, attributes: true, characterData: true });
    }, row.copy);
  const seen = (key: string) =>
    page.evaluate((k) => {
      const w = window as unknown as { made: Record<string, number>; changed: string[]; row: Element | null };
      return { tables: w.made.table ?? 0, rows: w.made.li ?? 0, changed: [...new Set(w.changed)], same: w.row === document.querySelector(`li[data-key="${k}"]`) };
    }, key);
  await watch();
  // A pass runs: a status at each step, the conflicts as they were.
  agent.status.folders[0]!.state = 'uploading';
  for (let files = 1; files <= 5; files++) {
    agent.status.folders[0]!.progress = { files, filesTotal: 5, bytes: files, bytesTotal: 5, rate: 0 };
    agent.update({});
    await page.locator('.folder-state').getByText(`Uploading: ${files} of 5 files`).waitFor();
  }
  assert.deepEqual(await seen(row.copy), { tables: 0, rows: 0, changed: [], same: true }, 'no row built, none changed');
  await button.and(page.locator(':focus')).waitFor({ timeout: 2_000 });
  // The pass changed the copy of the focused conflict: its row alone is built again, in place.
  await watch();
  row.versions.copy.size = 4096;
  agent.update({});
  await page.getByText('4.0 KiB').waitFor();
  const after = await seen(row.copy);
  assert.equal(after.tables, 1, 'one table built');
  assert.ok(after.changed.length > 0 && after.changed.every((c) => c.endsWith(` in ${row.copy}`)), `only its row changed: ${after.changed.join(', ')}`);
  assert.equal(after.same, true, 'the row is the same element');
  await button.and(page.locator(':focus')).waitFor({ timeout: 2_000 });
  // A warning now comes before the list, which takes another place in the folder: its rows go with it, as they were.
  await watch();
  agent.status.folders[0]!.warning = { code: 'E_WATCH_LIMIT', message: 'not watched', path: root };
  agent.update({});
  await page.getByText('Warning: not watched').waitFor();
  assert.equal(await page.locator('.conflicts > li').count(), 40);
  assert.equal(await page.locator('.conflicts table').count(), 40);
  const moved = await seen(row.copy);
  assert.deepEqual([moved.tables, moved.same], [0, true], 'no row built again');
  // While a command runs every button says it is unavailable, and says so no longer after: no row is built for that either.
  let release = () => {};
  agent.hold = new Promise((r) => (release = r));
  agent.holdCommand = 'pause';
  await watch();
  await page.getByRole('button', { name: 'Pause' }).click();
  await button.and(page.locator('[aria-disabled="true"]')).waitFor();
  release();
  await page.getByRole('button', { name: 'Resume' }).waitFor();
  await button.and(page.locator(':not([aria-disabled])')).waitFor();
  const paused = await seen(row.copy);
  assert.deepEqual([paused.tables, paused.same], [0, true], 'no row built for a command');
  assert.deepEqual(new Set(paused.changed), new Set(conflicts.map((c) => `attributes in ${c.copy}`)), 'only the buttons\' state changed');
  assert.deepEqual(agent.calls.filter((c) => c.command === 'resolveConflict'), []);
  assert.deepEqual(problems, []);
});
