// The UI in a real Chromium (Debian's, driven by playwright-core), served by an agent's control
// endpoint on loopback (sync/control/ui.ts, renderer/): it shows the agent's state and a
// folder's conflicts, pauses and resumes the agent, resolves a conflict, restores then confirms a held mass delete, keeps the token
// out of the address bar (a reload still works), and without the token, or with a stale one, says how to get one.
// It is usable from the keyboard alone, readable in light and dark mode, and says what to do when the agent goes away.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import type { FolderStatus } from '../shared/agent-api.js';
import { serveControl } from '../sync/control/index.js';
import { FakeAgent, folderStatus } from '../sync/control/testkit.js';
import { agentAndPage, holdDeletes, stateIs } from './agent-page.js';
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

/** The page of a fake agent with two conflicts of one file in /home/alice/Work (two other devices each edited notes.txt), once it lists them. */
async function twoConflictsOfNotes(t: TestContext, name: string) {
  const dir = await mkdtemp(join(tmpdir(), `strata-ui-${name}-`));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const laptop = { path: 'notes.txt', copy: 'notes.sync-conflict-20261201-101500-laptop.txt', device: 'laptop' };
  const desktop = { path: 'notes.txt', copy: 'notes.sync-conflict-20261201-111500-desktop.txt', device: 'desktop' };
  const agent = new FakeAgent([folderStatus('/home/alice/Work', { conflicts: [laptop, desktop] })]);
  const control = await serveControl(agent, { stateDir: join(dir, 'state') });
  t.after(() => control.close());
  const { page, problems } = await openPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await page.getByText('Conflicts (2)').waitFor();
  return { laptop, desktop, agent, page, problems };
}

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

test('every button\'s accessible name starts with its visible label and says what it acts on: no two alike, with held deletes and conflicts in two folders', { skip, timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-ui-names-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const copy = 'notes.sync-conflict-20261201-101500-laptop.txt';
  const held = (id: string) => ({ files: 20, of: 25, direction: 'local' as const, id });
  const agent = new FakeAgent([
    folderStatus('/home/alice/Work', { pendingDeletes: held('w'), conflicts: [{ path: 'notes.txt', copy, device: 'laptop' }] }),
    folderStatus('/home/alice/Music', { pendingDeletes: held('m'), conflicts: [{ path: 'notes.txt', copy, device: 'laptop' }] }),
  ]);
  const control = await serveControl(agent, { stateDir: join(dir, 'state') });
  t.after(() => control.close());
  const { page, problems } = await openPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await page.getByText('Conflicts (1)').nth(1).waitFor();
  const buttons = page.getByRole('button');
  const names: string[] = [];
  for (const b of await buttons.all()) {
    // The name as the browser's accessibility tree has it (what voice control and screen readers use).
    const quoted = /button ("(?:[^"\\]|\\.)*")/.exec(await b.ariaSnapshot())?.[1];
    const name = quoted === undefined ? '' : (JSON.parse(quoted) as string);
    const label = (await b.innerText()).trim();
    assert.ok(name.startsWith(label), `the button "${label}" is named "${name}"`);
    names.push(name);
  }
  assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), [], 'no two buttons have the same name');
  for (const root of ['/home/alice/Work', '/home/alice/Music']) {
    for (const label of ['Delete 20 files', 'Restore 20 files']) assert.equal(names.filter((n) => n.startsWith(label) && n.includes(root)).length, 1, `${label} in ${root}`);
    assert.equal(names.filter((n) => n.startsWith('Keep this') && n.includes('notes.txt') && n.includes(root)).length, 1);
    assert.equal(names.filter((n) => n.startsWith('Keep the other') && n.includes(copy) && n.includes(root)).length, 1);
  }
  assert.deepEqual(problems, []);
});

test('two conflicts of one file (two other devices edited it) have buttons and tables told apart by name, not only by where they sit', { skip, timeout: 60_000 }, async (t) => {
  const { laptop, desktop, page, problems } = await twoConflictsOfNotes(t, 'twice');
  const names = async (role: 'button' | 'table'): Promise<string[]> => {
    const out: string[] = [];
    for (const el of await page.getByRole(role).all()) {
      const quoted = new RegExp(`${role} ("(?:[^"\\\\]|\\\\.)*")`).exec(await el.ariaSnapshot())?.[1];
      out.push(quoted === undefined ? '' : (JSON.parse(quoted) as string));
    }
    return out;
  };
  const buttons = await names('button');
  assert.deepEqual(buttons.filter((n, i) => buttons.indexOf(n) !== i), [], `no two buttons have the same name: ${buttons.join(' | ')}`);
  for (const c of [laptop, desktop]) assert.equal(buttons.filter((n) => n.startsWith('Keep this: notes.txt') && n.includes(c.copy)).length, 1, `Keep this, against ${c.copy}`);
  const tables = await names('table');
  assert.equal(new Set(tables).size, 2, `the tables are named apart: ${tables.join(' | ')}`);
  assert.deepEqual(problems, []);
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

/**
 * The texts on the page whose contrast with what is behind them is below 4.5:1 (WCAG AA for
 * normal text), each as "text: ratio". Backgrounds are composed from the element up to the canvas.
 */
async function lowContrast(page: Page): Promise<string[]> {
  // tsx compiles this file keeping function names: its named functions call a __name helper that
  // the page lacks.
  await page.evaluate('globalThis.__name = (f) => f');
  return page.evaluate(() => {
    type Rgba = [number, number, number, number];
    const parse = (c: string): Rgba => {
      const [r = 0, g = 0, b = 0, a = 1] = (c.match(/[\d.]+/g) ?? []).map(Number);
      return [r, g, b, a];
    };
    const over = (top: Rgba, below: Rgba): Rgba => [0, 1, 2].map((i) => top[i]! * top[3] + below[i]! * (1 - top[3])).concat(1) as Rgba;
    const luminance = (c: Rgba) => {
      const [r, g, b] = c.slice(0, 3).map((v) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4));
      return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
    };
    const probe = document.createElement('div');
    probe.style.background = 'Canvas'; // allowed: CSSOM, not an inline style attribute
    document.body.append(probe);
    const canvas = parse(getComputedStyle(probe).backgroundColor);
    probe.remove();
    const backdrop = (el: Element | null): Rgba => (el === null ? canvas : over(parse(getComputedStyle(el).backgroundColor), backdrop(el.parentElement)));
    const out: string[] = [];
    for (const el of document.querySelectorAll('main *')) {
      // WCAG asks nothing of a control that cannot be used.
      if (el.closest(':disabled, [aria-disabled="true"]')) continue;
      const text = [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent ?? '').join('').trim();
      if (text === '') continue;
      const style = getComputedStyle(el);
      const bg = backdrop(el);
      const fg = over(parse(style.color), bg);
      const [hi, lo] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
      const ratio = (hi! + 0.05) / (lo! + 0.05);
      if (ratio < 4.5) out.push(`${text}: ${ratio.toFixed(2)}`);
    }
    return out;
  });
}

test('every text on the page, an error included, stands out from its background in light and dark mode (WCAG AA, 4.5:1)', { skip, timeout: 60_000 }, async (t) => {
  const { control, page } = await agentAndPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await stateIs(page, 'In sync');
  await control.close();
  await page.getByRole('alert').filter({ hasText: 'Lost the connection' }).waitFor();
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    assert.deepEqual(await lowContrast(page), [], `${colorScheme} mode`);
  }
});

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

test('on a phone-wide window the buttons of a held mass delete and of a conflict stand apart, so that a tap on Restore cannot hit Delete', { skip, timeout: 60_000 }, async (t) => {
  const { root, control, page, problems } = await agentAndPage(t);
  await page.setViewportSize({ width: 360, height: 740 });
  await page.goto(`${control.url}/#token=${control.token}`);
  await holdDeletes(page, root);
  /** The space between two buttons' boxes, across or down, whichever they are laid out along. */
  const apart = async (a: string, b: string) => {
    const [x, y] = await Promise.all([a, b].map(async (name) => (await page.getByRole('button', { name }).boundingBox())!));
    const [first, second] = x!.y + x!.height <= y!.y || x!.x + x!.width <= y!.x ? [x!, y!] : [y!, x!];
    return Math.max(second.x - (first.x + first.width), second.y - (first.y + first.height));
  };
  assert.ok((await apart('Delete 20 files', 'Restore 20 files')) >= 8, 'Delete and Restore');
  assert.ok((await apart('Keep this: notes.txt', 'Keep the other: notes.sync-conflict-20261201-101500-laptop.txt')) >= 8, 'the two versions of a conflict');
  assert.deepEqual(problems, []);
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

test('long file names, paths and keys wrap inside the page: nothing makes it scroll sideways, on a wide window or a narrow one', { skip, timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-ui-long-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const long = 'a'.repeat(180);
  const agent = new FakeAgent(
    [
      folderStatus(`/home/alice/${long}`, {
        layer: `user/${long}`,
        state: 'error',
        error: { code: 'E_IO', message: 'permission denied', path: `${long}/${long}.txt` },
        conflicts: [{ path: `${long}.txt`, copy: `${long}.sync-conflict-20261201-101500-laptop.txt`, device: 'laptop', versions: { name: { kind: 'file', size: 3, mtime: '2026-12-01T10:00:00Z' } } }],
      }),
      folderStatus('/home/alice/Music', { warning: { code: 'E_WATCH_LIMIT', message: 'not watched', path: `/home/alice/Music/${long}` } }),
    ],
    `device-${long}`,
  );
  agent.status.settings = { store: 'dconf', problems: [{ key: `/org/gnome/${long}`, message: 'locked', standing: true }] };
  const control = await serveControl(agent, { stateDir: join(dir, 'state') });
  t.after(() => control.close());
  const { page, problems } = await openPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await stateIs(page, 'Error');
  for (const width of [800, 360]) {
    await page.setViewportSize({ width, height: 700 });
    const [scroll, client] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    assert.ok(scroll <= client, `${width} px wide: the page is ${scroll} px wide`);
  }
  assert.deepEqual(problems, []);
});

test("a conflict's versions table fits a narrow window whatever the device's name: a long one-word name wraps in its cell", { skip, timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-ui-device-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const device = 'DESKTOP-7F3K2LQ9-WORKSTATION';
  const versions = { name: { kind: 'file' as const, size: 3, mtime: '2026-12-01T10:00:00Z' }, copy: { kind: 'file' as const, size: 5, mtime: '2026-12-01T10:15:00Z' } };
  const agent = new FakeAgent([folderStatus('/home/alice/Work', { conflicts: [{ path: 'notes.txt', copy: `notes.sync-conflict-20261201-101500-${device}.txt`, device, versions }] })]);
  const control = await serveControl(agent, { stateDir: join(dir, 'state') });
  t.after(() => control.close());
  const { page, problems } = await openPage(t);
  await page.setViewportSize({ width: 360, height: 700 });
  await page.goto(`${control.url}/#token=${control.token}`);
  await page.getByRole('cell', { name: device }).waitFor();
  const [scroll, client] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
  assert.ok(scroll <= client, `the page is ${scroll} px wide in a ${client} px window`);
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

test("a folder's progress is read out politely: at once when its state changes, its figures at most every 10 s, never at each push", { skip, timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-ui-live-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const root = '/home/alice/Work';
  const progress = (files: number) => ({ files, filesTotal: 8, bytes: files * 1024, bytesTotal: 8192, rate: 0 });
  const agent = new FakeAgent([folderStatus(root, { state: 'uploading', progress: progress(1) })]);
  const control = await serveControl(agent, { stateDir: join(dir, 'state') });
  t.after(() => control.close());
  const { page, problems } = await openPage(t);
  // The page's clock stands still but where the test moves it.
  await page.clock.install({ time: new Date('2026-12-07T10:00:00Z') });
  await page.clock.pauseAt(new Date('2026-12-07T10:00:01Z'));
  await page.goto(`${control.url}/#token=${control.token}`);
  const folder = page.getByRole('heading', { name: root }).locator('..');
  const line = folder.locator('.folder-state');
  const live = folder.locator('[aria-live="polite"]');
  await line.getByText(/^Uploading: 1 of 8 files/).waitFor();
  assert.equal(await live.getAttribute('aria-atomic'), 'true');
  assert.match(await live.innerText(), /^\/home\/alice\/Work: Uploading: 1 of 8 files/);
  const push = (files: number, state: FolderStatus['state'] = 'uploading') => agent.update({ folders: [folderStatus(root, { state, ...(state === 'uploading' && { progress: progress(files) }) })] });

  push(2);
  await line.getByText(/^Uploading: 2 of 8 files/).waitFor();
  push(3);
  await line.getByText(/^Uploading: 3 of 8 files/).waitFor();
  assert.match(await live.innerText(), /Uploading: 1 of 8 files/, 'figures pushed within 10 s of the last read-out are not read out');
  await page.clock.fastForward(10_000);
  push(4);
  await live.getByText(/Uploading: 4 of 8 files/).waitFor();
  push(5);
  await line.getByText(/^Uploading: 5 of 8 files/).waitFor();
  assert.match(await live.innerText(), /Uploading: 4 of 8 files/);
  push(8, 'idle');
  await live.getByText(/^\/home\/alice\/Work: Idle$/).waitFor();
  assert.deepEqual(problems, []);
});
