// The UI as assistive technology meets it (in Debian's Chromium over an agent): every button's
// accessible name starts with its label and tells folders and conflicts apart, every text keeps
// 4.5:1 contrast in light and dark mode, and a folder's progress is read out politely.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import type { FolderStatus } from '../shared/agent-api.js';
import { serveControl } from '../sync/control/index.js';
import { FakeAgent, folderStatus } from '../sync/control/testkit.js';
import { agentAndPage, stateIs } from './agent-page.js';
import { noChromium, openPage } from './browser.js';
import { twoConflictsOfNotes } from './ui-fixture.js';

const skip = noChromium;

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
