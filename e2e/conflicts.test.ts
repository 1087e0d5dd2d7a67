// The conflicts in the UI (renderer/, in Debian's Chromium over a real agent): each shows its two
// versions side by side — when each was modified (local time), its size, and the device it came
// from where the copy's name tells — in a table whose headers a screen reader reads out; keeping
// a version gone from the disk since the last scan changes nothing and says so (an error: the
// user chose a version that is no longer there); before the
// agent's first scan (started paused) the versions say they are not scanned yet; one resolved from
// the CLI before the page heard of it, or by a pass while the click waited, is said as already
// resolved, not as an error.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import type { CommandName } from '../shared/agent-api.js';
import { Agent } from '../sync/agent/index.js';
import { serveControl } from '../sync/control/index.js';
import { FakeAgent, folderStatus } from '../sync/control/testkit.js';
import { StrataError } from '../sync/errors.js';
import { agentAndPage, COPY, stateIs } from './agent-page.js';
import { noChromium, openPage } from './browser.js';

const skip = noChromium;

test('a conflict shows, for each of its versions, when it was modified, its size and the device it came from', { skip, timeout: 60_000 }, async (t) => {
  const { agent, control, page, problems } = await agentAndPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await stateIs(page, 'In sync');
  const table = page.getByRole('table', { name: 'The two versions of notes.txt' });
  for (const name of ['Modified', 'Size', 'From']) await table.getByRole('columnheader', { name }).waitFor();
  const cells = async (row: string) => (await table.getByRole('row', { name: new RegExp(`^${row}`) }).getByRole('cell').allInnerTexts()).map((s) => s.trim());
  const copyTime = '2026-12-01T10:15:00.000Z';
  const local = await page.evaluate((iso) => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }), copyTime);
  assert.deepEqual(await cells('The other version'), [local, '6 B', 'laptop']);
  await table.locator(`time[datetime="${copyTime}"]`).waitFor();
  const mine = await cells('This version');
  assert.deepEqual(mine.slice(1), ['4 B', 'not recorded']);
  const nameTime = agent.status().folders[0]?.conflicts[0]?.versions?.name?.mtime;
  assert.ok(nameTime !== undefined, 'the agent gives the name its time');
  assert.equal(mine[0], await page.evaluate((iso) => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }), nameTime));
  assert.equal(await page.getByText(COPY).count(), 1, 'the copy is named once');
  assert.deepEqual(problems, []);
});

test('an agent started paused lists its conflicts from the state dir, and their versions say they are not scanned yet, not gone', { skip, timeout: 60_000 }, async (t) => {
  const { root, agent, control, page, problems } = await agentAndPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await stateIs(page, 'In sync');
  await agent.pause();
  await control.close();
  await agent.stop();
  const stateDir = join(dirname(root), 'state');
  const again = await Agent.start({
    stateDir,
    folders: [{ root, layer: 'user/alice' }],
    openStore: () => assert.fail('a paused agent must not open the store'),
    watch: false,
    pollMs: 3_600_000,
  });
  t.after(() => again.stop());
  const served = await serveControl(again, { stateDir });
  t.after(() => served.close());
  await page.goto(`${served.url}/#token=${served.token}`);
  await stateIs(page, 'Paused');
  const table = page.getByRole('table', { name: 'The two versions of notes.txt' });
  for (const row of ['This version', 'The other version']) {
    const cells = await table.getByRole('row', { name: new RegExp(`^${row}`) }).getByRole('cell').allInnerTexts();
    assert.deepEqual(cells.map((s) => s.trim()), ['Not scanned yet (the agent has not looked at the disk since it started)'], row);
  }
  assert.equal(await page.getByText(/Not on the disk/).count(), 0);
  assert.deepEqual(problems, []);
});

test('keeping the other version of a conflict whose copy was deleted by hand says so plainly, and the conflict leaves the list', { skip, timeout: 60_000 }, async (t) => {
  const { root, agent, control, page, problems } = await agentAndPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await stateIs(page, 'In sync');
  await rm(join(root, COPY));
  await page.getByRole('button', { name: `Keep the other: ${COPY}` }).click();
  await page.getByRole('alert').filter({ hasText: /^the conflict copy is no longer on the disk/ }).waitFor();
  await page.getByText('Conflicts (1)').waitFor({ state: 'detached', timeout: 20_000 });
  assert.equal(await readFile(join(root, 'notes.txt'), 'utf8'), 'mine', 'nothing was changed');
  assert.deepEqual(agent.status().folders[0]?.conflicts, []);
  assert.deepEqual(problems.filter((p) => !/Failed to load resource/.test(p)), []);
});

test('keeping the version with the name after the file was deleted by hand keeps the copy, rather than leaving neither', { skip, timeout: 60_000 }, async (t) => {
  const { root, control, page, problems } = await agentAndPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await stateIs(page, 'In sync');
  await rm(join(root, 'notes.txt'));
  await page.getByRole('button', { name: 'Keep this: notes.txt' }).click();
  await page.getByRole('alert').filter({ hasText: /^the file is no longer on the disk/ }).waitFor();
  assert.equal(await readFile(join(root, COPY), 'utf8'), 'theirs');
  assert.deepEqual(problems.filter((p) => !/Failed to load resource/.test(p)), []);
});

test('keeping a version of a conflict that a pass ended meanwhile (resolved on another device) changes nothing and says briefly that it was already resolved, not as an error', { skip, timeout: 60_000 }, async (t) => {
  const { root, agent, control, page, problems, store } = await agentAndPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await stateIs(page, 'In sync');
  // A pass is under way (it waits at its first request) that will find the copy gone, as it
  // would after another device resolved the conflict; the click comes before it ends.
  store.close();
  agent.syncNow();
  await page.getByRole('heading', { name: root }).locator('..').getByText(/^Scanning/).waitFor();
  await rm(join(root, COPY));
  await writeFile(join(root, 'notes.txt'), 'theirs, kept elsewhere');
  await page.getByRole('button', { name: 'Keep this: notes.txt' }).click();
  store.open();
  const folder = page.getByRole('heading', { name: root }).locator('..');
  await folder.getByRole('status').filter({ hasText: 'notes.txt: already resolved elsewhere; nothing was changed.' }).waitFor({ timeout: 20_000 });
  await page.getByText('Conflicts (1)').waitFor({ state: 'detached', timeout: 20_000 });
  assert.equal(await readFile(join(root, 'notes.txt'), 'utf8'), 'theirs, kept elsewhere');
  assert.deepEqual(await page.getByRole('alert').allInnerTexts(), [], 'no error is shown');
  assert.deepEqual(problems.filter((p) => !/Failed to load resource/.test(p)), []);
});

test('keeping a version of a conflict resolved from the CLI before the page heard of it says briefly that it was already resolved, not as an error, and the list is refreshed', { skip, timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-conflict-gone-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const root = '/home/alice/Work';
  const agent = new FakeAgent([folderStatus(root, { conflicts: [{ path: 'notes.txt', copy: COPY, device: 'laptop' }] })]);
  // The CLI's resolve got there first, and the status it changed has not reached the page yet.
  const call = agent.call.bind(agent);
  agent.call = (async (command: CommandName, arg: never) => {
    if (command !== 'resolveConflict') return call(command, arg);
    agent.status.folders[0]!.conflicts = [];
    throw new StrataError('E_NO_CONFLICT', 'this folder lists no such conflict copy', { path: COPY });
  }) as typeof agent.call;
  const control = await serveControl(agent, { stateDir: join(dir, 'state') });
  t.after(() => control.close());
  const { page, problems } = await openPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await page.getByRole('button').filter({ hasText: 'Keep this' }).click();
  const folder = page.getByRole('heading', { name: root }).locator('..');
  await folder.getByRole('status').filter({ hasText: 'notes.txt: already resolved elsewhere; nothing was changed.' }).waitFor();
  await page.getByText('Conflicts (1)').waitFor({ state: 'detached' });
  assert.deepEqual(await page.getByRole('alert').allInnerTexts(), [], 'no error is shown');
  assert.deepEqual(problems.filter((p) => !/Failed to load resource/.test(p)), []);
});

test("a name with a right-to-left override (U+202E) stays inside itself: the page's own words around it read left to right", { skip, timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-conflict-bidi-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = 'report\u202Efdp.exe';
  const agent = new FakeAgent([folderStatus('/home/alice/Work', { conflicts: [{ path, copy: `${path}.sync-conflict-20261201-101500-laptop`, device: 'laptop' }] })]);
  const control = await serveControl(agent, { stateDir: join(dir, 'state') });
  t.after(() => control.close());
  const { page, problems } = await openPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await page.getByText('Conflicts (1)').waitFor();
  // Where the letters of "the other version is" are drawn: left to right, each after the one before.
  const xs = await page.locator('.conflicts li').evaluate((li) => {
    const words = ' — the other version is ';
    const node = [...li.childNodes].find((n) => n.nodeType === Node.TEXT_NODE && n.textContent === words);
    if (node === undefined) return [];
    const range = document.createRange();
    return [...words.trim()].flatMap((ch, i) => {
      if (ch === ' ') return [];
      const at = words.indexOf(words.trim()) + i;
      range.setStart(node, at);
      range.setEnd(node, at + 1);
      return [range.getBoundingClientRect().left];
    });
  });
  assert.ok(xs.length > 10, 'the words are on the page');
  assert.deepEqual(xs, [...xs].sort((a, b) => a - b), 'each letter is drawn right of the one before');
  assert.deepEqual(problems, []);
});

test('a name with a newline, a tab, or spaces at its ends or only shows them: "line1\\nline2.txt" never reads as "line1 line2.txt", nor a name of spaces as nothing', { skip, timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-conflict-blank-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const conflicts = [
    { path: 'line1\nline2.txt', copy: 'line1\nline2.sync-conflict-20261201-101500-laptop.txt', device: 'laptop' },
    { path: '   ', copy: '\t', device: ' pc ', versions: { copy: { kind: 'file' as const, size: 1, mtime: '2026-12-01T10:15:00Z' } } },
  ];
  const agent = new FakeAgent([folderStatus('/home/alice/Work ', { conflicts })]);
  agent.status.settings = { store: 'dconf', problems: [{ key: ' /org/x', message: 'locked', standing: true }] };
  const control = await serveControl(agent, { stateDir: join(dir, 'state') });
  t.after(() => control.close());
  const { page, problems } = await openPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await page.getByText('Conflicts (2)').waitFor();
  const names = await page.locator('.conflicts .path, .conflicts .copy').allTextContents();
  assert.deepEqual(names, ['line1\\nline2.txt', 'line1\\nline2.sync-conflict-20261201-101500-laptop.txt', '␣␣␣', '\\t']);
  await page.getByRole('heading', { name: '/home/alice/Work␣' }).waitFor();
  await page.getByRole('cell', { name: '␣pc␣' }).waitFor();
  await page.getByRole('button', { name: 'Keep this: ␣␣␣ in /home/alice/Work␣' }).waitFor();
  await page.getByText('␣/org/x').waitFor();
  assert.deepEqual(problems, []);
});
