// Keeping both versions of a conflict in the UI (renderer/, in Debian's Chromium over a real
// agent), and ending all of a folder's conflicts at once: "Keep both" renames the copy beside the
// file and says its new name; "… for all" ends each conflict the page shows the same way, asks
// first where versions are let go, and says each conflict it could not end.
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { keptName } from '../sync/agent/keep-both.js';
import { agentAndPage, COPY, stateIs } from './agent-page.js';
import { noChromium } from './browser.js';

const skip = noChromium;

test('Keep both renames the copy beside the file, says its new name, and the conflict leaves the list', { skip, timeout: 60_000 }, async (t) => {
  const { root, agent, control, page, problems } = await agentAndPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await stateIs(page, 'In sync');
  const kept = keptName(agent.status().folders[0]!.conflicts[0]!);
  const button = page.getByRole('button', { name: `Keep both: notes.txt and ${COPY} in ${root}` });
  await button.focus();
  await page.keyboard.press('Enter');
  const folder = page.getByRole('heading', { name: root }).locator('..');
  await folder.getByRole('status').filter({ hasText: `${kept} now holds the other version of notes.txt: both are kept.` }).waitFor({ timeout: 20_000 });
  await page.getByText('Conflicts (1)').waitFor({ state: 'detached' });
  assert.deepEqual((await readdir(root)).sort(), [kept, 'notes.txt'].sort());
  assert.equal(await readFile(join(root, kept), 'utf8'), 'theirs');
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H2', 'the focus goes to the folder, not the top of the page');
  assert.deepEqual(problems, []);
});

test('"… for all" ends every conflict shown the same way: asked first where versions go, each one it could not end said', { skip, timeout: 60_000 }, async (t) => {
  const { root, agent, control, page, problems } = await agentAndPage(t);
  const copies = ['a', 'b'].map((n) => `${n}.sync-conflict-20261201-101500-laptop.txt`);
  for (const n of ['a', 'b']) await writeFile(join(root, `${n}.txt`), `mine ${n}`);
  for (const c of copies) await writeFile(join(root, c), `theirs ${c[0]}`);
  await page.goto(`${control.url}/#token=${control.token}`);
  await page.getByRole('button', { name: 'Sync now' }).click();
  await page.getByText('Conflicts (3)').waitFor({ timeout: 20_000 });
  // Keeping the names deletes the copies: asked first, and a no changes nothing.
  const questions: string[] = [];
  page.once('dialog', (d) => {
    questions.push(d.message());
    void d.dismiss();
  });
  await page.getByRole('button', { name: `Keep this for all: the 3 conflicts in ${root}` }).click();
  assert.match(questions[0] ?? '', /^Keep the version with the name for all 3 conflicts in .*\? The 3 other versions \(the conflict copies\) are deleted, on every device\./);
  await page.getByText('Conflicts (3)').waitFor();
  // Keeping both asks nothing; a copy deleted by hand since the scan is said, the others are kept.
  await rm(join(root, copies[1]!));
  page.once('dialog', () => assert.fail('keeping both loses nothing and asks nothing'));
  const before = agent.status().folders[0]!.conflicts;
  await page.getByRole('button', { name: `Keep both for all: the 3 conflicts in ${root}` }).click();
  const folder = page.getByRole('heading', { name: root }).locator('..');
  await folder.getByRole('status').filter({ hasText: /^Kept both versions of 2 conflicts/ }).waitFor({ timeout: 20_000 });
  await folder.getByRole('alert').filter({ hasText: `One conflict was left as it was:${copies[1]}: the conflict copy is no longer on the disk` }).waitFor();
  const kept = before.filter((c) => c.copy !== copies[1]).map((c) => keptName(c));
  assert.deepEqual((await readdir(root)).sort(), ['a.txt', 'b.txt', 'notes.txt', ...kept].sort());
  await page.getByText(/^Conflicts \(/).waitFor({ state: 'detached', timeout: 20_000 });
  assert.deepEqual(problems, []);
});
