/**
 * What the UI's e2e tests over a stand-in agent (FakeAgent) share: the page of two conflicts of
 * one file, made by two other devices.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { serveControl } from '../sync/control/index.js';
import { FakeAgent, folderStatus } from '../sync/control/testkit.js';
import { openPage } from './browser.js';

/** The page of a fake agent with two conflicts of one file in /home/alice/Work (two other devices each edited notes.txt), once it lists them. */
export async function twoConflictsOfNotes(t: TestContext, name: string) {
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
