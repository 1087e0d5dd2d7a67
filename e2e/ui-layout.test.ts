// The UI on a narrow window and with long names (in Debian's Chromium over an agent): buttons a
// tap could confuse stand apart, and long names, paths, keys and device names wrap inside the page:
// nothing makes it scroll sideways.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { serveControl } from '../sync/control/index.js';
import { FakeAgent, folderStatus } from '../sync/control/testkit.js';
import { agentAndPage, holdDeletes, stateIs } from './agent-page.js';
import { noChromium, openPage } from './browser.js';

const skip = noChromium;

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
