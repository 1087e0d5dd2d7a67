// A held mass delete in the UI (renderer/, in Debian's Chromium over a real agent): an answer shows
// at once that it was taken, for every page and after a reload, until the pass that acts on it
// ends with its result; a failed answer says why in the box, however many statuses the agent
// pushes meanwhile, and can be given again.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import type { AgentStatus, CommandName } from '../shared/agent-api.js';
import { serveControl } from '../sync/control/index.js';
import { FakeAgent, folderStatus } from '../sync/control/testkit.js';
import { StrataError } from '../sync/errors.js';
import { agentAndPage, holdDeletes, stateIs } from './agent-page.js';
import { noChromium, openPage } from './browser.js';

const skip = noChromium;

/** The requests that answer a held pass, counted from now. */
function answersSent(page: Page): () => number {
  let n = 0;
  page.on('request', (r) => {
    if (/\/api\/(confirm|restore)Deletes$/.test(new URL(r.url()).pathname)) n++;
  });
  return () => n;
}

/** An agent and its page, with a mass delete held and sync then paused. */
async function heldWhilePaused(t: TestContext) {
  const { root, control, page, problems } = await agentAndPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await stateIs(page, 'In sync');
  await holdDeletes(page, root);
  await page.getByRole('button', { name: 'Pause' }).click();
  await stateIs(page, 'Paused');
  return { root, page, problems };
}

test('an answer to a held mass delete shows at once that it was taken, on a reload too, and the box gives way to the result when the pass ends', { skip, timeout: 90_000 }, async (t) => {
  const { root, agent, control, page, problems, store } = await agentAndPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await stateIs(page, 'In sync');
  await holdDeletes(page, root);
  const box = page.locator('.pending');
  // The pass that acts on the answer waits at its first request until the test lets it go.
  store.close();
  const shown = agent.status().folders[0]?.pendingDeletes?.id;
  const request = page.waitForRequest((r) => new URL(r.url()).pathname === '/api/confirmDeletes');
  await page.getByRole('button', { name: 'Delete 20 files' }).click();
  assert.deepEqual((await request).postDataJSON(), { root, id: shown }, 'the answer names the hold the box showed');
  await box.getByText('Deleting 20 files…').waitFor();
  const sent = answersSent(page);
  for (const name of ['Delete 20 files', 'Restore 20 files']) {
    const button = page.getByRole('button', { name });
    assert.equal(await button.getAttribute('aria-disabled'), 'true', `${name} is unavailable`);
    await button.click({ force: true });
  }
  assert.equal(agent.status().folders[0]?.pendingDeletes?.answer, 'confirm', 'the agent holds the answer');
  await page.reload();
  await box.getByText('Deleting 20 files…').waitFor();
  assert.equal(sent(), 0, 'a second answer was not sent');
  store.open();
  await box.waitFor({ state: 'detached', timeout: 20_000 });
  await page.getByRole('status').filter({ hasText: 'Deleted 20 files.' }).waitFor();
  await stateIs(page, 'In sync');
  assert.equal(existsSync(join(root, 'f7.txt')), false);
  assert.deepEqual(problems, []);
});

test('an answer given while the agent is paused says it waits for Resume', { skip, timeout: 90_000 }, async (t) => {
  const { root, page, problems } = await heldWhilePaused(t);
  await page.getByRole('button', { name: 'Restore 20 files' }).click();
  await page.locator('.pending').getByText('Restoring 20 files when sync resumes…').waitFor();
  await page.getByRole('button', { name: 'Resume' }).click();
  await page.getByRole('status').filter({ hasText: 'Restored 20 files.' }).waitFor({ timeout: 20_000 });
  assert.equal(existsSync(join(root, 'f7.txt')), true);
  assert.deepEqual(problems, []);
});

test('a failed answer says why in the box, also after the agent pushed statuses, and can be given again', { skip, timeout: 90_000 }, async (t) => {
  const { root, agent, control, page, problems, store } = await agentAndPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await stateIs(page, 'In sync');
  await holdDeletes(page, root);
  const box = page.locator('.pending');
  await page.route('**/api/restoreDeletes', (r) => r.abort(), { times: 1 });
  await page.getByRole('button', { name: 'Restore 20 files' }).click();
  await box.getByText(/^The answer failed: Could not reach the agent/).waitFor();
  // A pass runs (a poll, Sync now): its statuses reach the page while the message stays.
  store.close();
  agent.syncNow();
  await page.getByRole('heading', { name: root }).locator('..').getByText(/^Scanning/).waitFor();
  await box.getByText(/^The answer failed: Could not reach the agent/).waitFor();
  store.open();
  const restore = page.getByRole('button', { name: 'Restore 20 files' });
  assert.notEqual(await restore.getAttribute('aria-disabled'), 'true');
  await restore.click();
  await page.getByRole('status').filter({ hasText: 'Restored 20 files.' }).waitFor({ timeout: 20_000 });
  assert.equal(existsSync(join(root, 'f7.txt')), true);
  // The aborted request is the one console error the page may show.
  assert.deepEqual(problems.filter((p) => !/Failed to load resource/.test(p)), []);
});

test('an answer the pass did not need (the files came back before it ran) is not reported as carried out', { skip, timeout: 90_000 }, async (t) => {
  const { root, page, problems } = await heldWhilePaused(t);
  await page.getByRole('button', { name: 'Delete 20 files' }).click();
  await page.locator('.pending').getByText('Deleting 20 files when sync resumes…').waitFor();
  // Meanwhile the user puts the files back (from the trash): nothing is left to delete.
  for (let i = 0; i < 20; i++) await writeFile(join(root, `f${i}.txt`), `file ${i}`);
  await page.getByRole('button', { name: 'Resume' }).click();
  await page.locator('.pending').waitFor({ state: 'detached', timeout: 20_000 });
  await stateIs(page, 'In sync');
  const result = page.getByRole('heading', { name: root }).locator('..').locator('.result');
  assert.doesNotMatch((await result.textContent()) ?? '', /Deleted/);
  assert.equal(existsSync(join(root, 'f7.txt')), true);
  assert.deepEqual(problems, []);
});

/** The agent's refusal of an answer whose hold is gone. */
const notHeld = (root: string) => new StrataError('E_NOT_HELD', 'no pass of this folder is waiting for a confirmation', { path: root });

test('an answer refused because the hold ended meanwhile (answered from the CLI, its pass done) leaves no note behind for the next hold', { skip, timeout: 60_000 }, async (t) => {
  const root = '/home/alice/Work';
  // The CLI's answer and its pass got there first: the hold is gone when the page's answer arrives.
  let pageSawIt: () => void = () => undefined;
  const seen = new Promise<void>((resolve) => (pageSawIt = resolve));
  const { agent, page, problems } = await heldOnFake(t, root, async (agent) => {
    agent.status.folders[0]!.pendingDeletes = undefined;
    agent.update({});
    await seen;
    throw notHeld(root);
  });
  const box = page.locator('.pending');
  const answered = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/confirmDeletes');
  await page.getByRole('button', { name: 'Delete 20 files' }).click();
  await box.waitFor({ state: 'detached' });
  pageSawIt();
  await answered;
  // Later, another mass delete: the box asks, with nothing about an answer the user never gave it.
  await nextHoldHasNoNote(agent, page);
  assert.deepEqual(problems.filter((p) => !/Failed to load resource/.test(p)), []);
});

test("an answer refused before the page heard that its hold ended (the reply first, then the folder's next hold) leaves no note on that next hold", { skip, timeout: 60_000 }, async (t) => {
  const root = '/home/alice/Work';
  const { agent, page, problems } = await heldOnFake(t, root, () => Promise.reject(notHeld(root)));
  await page.getByRole('button', { name: 'Delete 20 files' }).click();
  await page.locator('.pending .problem').filter({ hasText: 'The answer failed' }).waitFor();
  // The status the page hears next already holds other deletes: the one that ended the first hold never came.
  await nextHoldHasNoNote(agent, page);
  assert.deepEqual(problems.filter((p) => !/Failed to load resource/.test(p)), []);
});

/** The folder holds other deletes: the box asks about them, with no note about an earlier answer. */
async function nextHoldHasNoNote(agent: FakeAgent, page: Page): Promise<void> {
  agent.status.folders[0]!.pendingDeletes = { files: 7, of: 9, direction: 'remote', id: 'second' };
  agent.update({});
  const box = page.locator('.pending');
  await box.getByRole('button', { name: 'Delete 7 files' }).waitFor();
  assert.deepEqual(await box.locator('.problem').allInnerTexts(), []);
}

/**
 * A fake agent holding 20 deletes in `root`, served with a page that shows them; the page's
 * answers (confirmDeletes, restoreDeletes) go to `onAnswer`, every other command to the fake.
 */
async function heldOnFake(t: TestContext, root: string, onAnswer: (agent: FakeAgent, command: 'confirmDeletes' | 'restoreDeletes') => Promise<AgentStatus>) {
  const dir = await mkdtemp(join(tmpdir(), 'strata-held-fake-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const agent = new FakeAgent([folderStatus(root, { lastSync: '2026-12-01T10:00:00Z', pendingDeletes: { files: 20, of: 25, direction: 'local', id: 'first' } })]);
  const call = agent.call.bind(agent);
  agent.call = ((command: CommandName, arg: never) => (command === 'confirmDeletes' || command === 'restoreDeletes' ? onAnswer(agent, command) : call(command, arg))) as typeof agent.call;
  const control = await serveControl(agent, { stateDir: join(dir, 'state') });
  t.after(() => control.close());
  const { page, problems } = await openPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  return { agent, page, problems };
}

/** Answers are taken and kept, as an agent keeps the last one given; `answer` gives one as the CLI would. */
async function answersKept(t: TestContext, root: string) {
  const answer = (agent: FakeAgent, a: 'confirm' | 'restore') => {
    const f = agent.status.folders[0]!;
    f.pendingDeletes = { ...f.pendingDeletes!, answer: a };
    agent.update({});
    return agent.status;
  };
  const held = await heldOnFake(t, root, (agent, command) => Promise.resolve(answer(agent, command === 'confirmDeletes' ? 'confirm' : 'restore')));
  return { ...held, answer: (a: 'confirm' | 'restore') => void answer(held.agent, a) };
}

test('an answer given again elsewhere (the CLI) after the page\'s is said as changed, in the box and in the result, never as an answer not needed', { skip, timeout: 60_000 }, async (t) => {
  const root = '/home/alice/Work';
  const { agent, page, problems, answer } = await answersKept(t, root);
  const box = page.locator('.pending');
  await page.getByRole('button', { name: 'Restore 20 files' }).click();
  await box.getByText('Restoring 20 files…').waitFor();
  answer('confirm');
  await box.getByText('Deleting 20 files…').waitFor();
  assert.deepEqual(await box.locator('.problem').allInnerTexts(), ['The answer changed to delete: it was given again elsewhere (the CLI or another page).']);
  agent.status.folders[0]!.pendingDeletes = undefined;
  agent.update({ folders: [{ ...agent.status.folders[0]!, answered: 'confirm' }] });
  await page.getByRole('status').filter({ hasText: 'Deleted 20 files.' }).waitFor();
  assert.deepEqual(problems, []);
});

test('an answer changed elsewhere while the page\'s stream was down, its pass done, is said as carried out, never as an answer not needed', { skip, timeout: 60_000 }, async (t) => {
  const root = '/home/alice/Work';
  const { agent, page, problems } = await answersKept(t, root);
  await page.getByRole('button', { name: 'Restore 20 files' }).click();
  await page.locator('.pending').getByText('Restoring 20 files…').waitFor();
  // The CLI's Delete, then the pass that carried it out, while no status reached the page: the
  // next it gets is the one after.
  const f = agent.status.folders[0]!;
  agent.status.folders[0] = { ...f, pendingDeletes: undefined, answered: 'confirm' };
  agent.update({});
  const result = page.getByRole('heading', { name: root }).locator('..').locator('.result');
  await result.waitFor();
  assert.equal(await result.innerText(), 'The answer changed to delete elsewhere: deleted 20 files.');
  assert.deepEqual(problems, []);
});
