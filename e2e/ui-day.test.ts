// A day of a demanding user at the agent's page (in Debian's Chromium over a real agent): a large
// first sync's progress, a big upload paused and resumed, conflicts that come while the page is
// open and are resolved each way, the bucket out of reach and back, and an entry the layer cannot hold.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Agent } from '../sync/agent/index.js';
import { waitFor } from '../sync/agent/live-testkit.js';
import { StrataError } from '../sync/errors.js';
import { ForwardingStore } from '../sync/store/forwarding.js';
import { bodySize, type ByteRange, type ListOptions, type ObjectInfo, type ObjectStore, type PutBody } from '../sync/store/index.js';
import type { Page } from 'playwright-core';
import { agentAndPage, stateIs, type GateStore } from './agent-page.js';
import { noChromium } from './browser.js';

const skip = noChromium;

/** A bucket behind a slow network that a test can cut: each put takes `delayMs`, and fails while `down`; `uploaded` counts the bytes put. */
class Network extends ForwardingStore {
  uploaded = 0;
  down = false;
  constructor(
    inner: ObjectStore,
    private readonly delayMs = 0,
  ) {
    super(inner);
  }

  private reach(op: string): void {
    if (this.down) throw new StrataError('E_TRANSIENT', `${op} at ${this.location} failed: connect ECONNREFUSED 127.0.0.1:9000`);
  }

  override async put(key: string, body: PutBody): Promise<void> {
    this.reach('put');
    await new Promise((r) => setTimeout(r, this.delayMs));
    this.reach('put');
    await super.put(key, body);
    this.uploaded += bodySize(body);
  }

  override get(key: string, range?: ByteRange): Promise<Uint8Array> {
    this.reach('get');
    return super.get(key, range);
  }

  override list(prefix: string, opts?: ListOptions): AsyncIterable<ObjectInfo> {
    this.reach('list');
    return super.list(prefix, opts);
  }
}

/** The folder's line as it changes, each text once, until one matches `end` (a minute at most). */
async function lines(page: Page, end: RegExp): Promise<string[]> {
  const seen: string[] = [];
  const line = page.locator('.folder-state');
  const until = Date.now() + 60_000;
  while (!end.test(seen.at(-1) ?? '')) {
    if (Date.now() > until) assert.fail(`the folder's line never read ${String(end)}: ${JSON.stringify(seen)}`);
    const text = await line.innerText().catch(() => '');
    if (text !== seen.at(-1)) seen.push(text);
    await new Promise((r) => setTimeout(r, 50));
  }
  return seen;
}

test('a large first sync shows its progress moving, in files and bytes, and ends in sync', { skip, timeout: 120_000 }, async (t) => {
  let net: Network | undefined;
  const files = 24;
  const { control, page, problems, store } = await agentAndPage(t, {
    prepare: async (root) => {
      for (let i = 0; i < files; i++) await writeFile(join(root, `photo${i}.raw`), randomBytes(1 << 20));
    },
    // The first pass waits for the page: it starts with the agent.
    wrap: (s) => ((s as GateStore).close(), (net = new Network(s, 300))),
  });
  await page.goto(`${control.url}/#token=${control.token}`);
  await page.locator('.folder-state').waitFor();
  store.open();
  const seen = await lines(page, /^In sync$/);
  // Its figures, files and bytes done, while the totals are still counted too ("12 of 17+ files").
  const done = seen.flatMap((s) => /^Uploading: (\d+) of \d+\+? files, ([\d.]+ [KMG]?i?B) of [\d.]+ [KMG]?i?B\+?/.exec(s)?.slice(1, 3).join() ?? []);
  assert.ok(new Set(done).size >= 2, `the progress moved: ${JSON.stringify(seen)}`);
  await page.getByText(`Layer user/alice, ${files + 2} files`).waitFor();
  assert.ok(net!.uploaded >= files << 20);
  assert.deepEqual(problems, []);
});

test('a big upload paused says so at once, stops, and on Resume goes on without starting over', { skip, timeout: 120_000 }, async (t) => {
  let net: Network | undefined;
  const { root, agent, control, page, problems } = await agentAndPage(t, { wrap: (s) => (net = new Network(s, 600)) });
  await page.goto(`${control.url}/#token=${control.token}`);
  await stateIs(page, 'In sync');
  const size = 48 << 20;
  await writeFile(join(root, 'video.mkv'), randomBytes(size));
  const before = net!.uploaded;
  await page.getByRole('button', { name: 'Sync now' }).click();
  // (notes.txt, written as the test began, is read again: 2 files.)
  await lines(page, /^Uploading: \d of 2 files, [1-9][\d.]* MiB of 48\.0 MiB/);
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.getByRole('status').filter({ hasText: /^(Pausing|Paused)$/ }).waitFor();
  await stateIs(page, 'Paused');
  const atPause = net!.uploaded - before;
  assert.ok(atPause < size, 'paused before the end');
  await page.getByRole('button', { name: 'Resume' }).waitFor();
  assert.equal(net!.uploaded - before, atPause, 'nothing put while paused');
  await page.getByRole('button', { name: 'Resume' }).click();
  await stateIs(page, 'In sync');
  const total = net!.uploaded - before;
  assert.ok(total < size + atPause / 2 + (4 << 20), `went on where it stopped: ${total} bytes put for a file of ${size}`);
  assert.equal(agent.status().folders[0]?.files, 3);
  assert.deepEqual(problems, []);
});

test('the bucket out of reach is said in one line, and the line goes once it is back', { skip, timeout: 120_000 }, async (t) => {
  let net: Network | undefined;
  const { root, control, page, problems } = await agentAndPage(t, { wrap: (s) => (net = new Network(s)) });
  await page.goto(`${control.url}/#token=${control.token}`);
  await stateIs(page, 'In sync');
  net!.down = true;
  await writeFile(join(root, 'report.txt'), 'q4');
  await page.getByRole('button', { name: 'Sync now' }).click();
  await stateIs(page, 'Offline');
  const alerts = await page.getByRole('alert').allInnerTexts();
  assert.equal(alerts.length, 1, JSON.stringify(alerts));
  assert.match(alerts[0]!, /ECONNREFUSED/);
  assert.doesNotMatch(alerts[0]!, /\n/);
  net!.down = false;
  await page.getByRole('button', { name: 'Sync now' }).click();
  await stateIs(page, 'In sync');
  assert.deepEqual(await page.getByRole('alert').allInnerTexts(), []);
  await page.getByText('Layer user/alice, 3 files').waitFor();
  assert.deepEqual(problems, []);
});

test('an entry the layer cannot hold (a name ending in a dot) is said on the page with what to do, and the words go once it is renamed', { skip, timeout: 120_000 }, async (t) => {
  const { root, control, page, problems } = await agentAndPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await stateIs(page, 'In sync');
  await writeFile(join(root, 'draft.'), 'a draft');
  await page.getByRole('button', { name: 'Sync now' }).click();
  const warning = page.locator('.folder .warning');
  await warning.waitFor({ timeout: 20_000 });
  assert.match(await warning.innerText(), /draft\./);
  assert.match(await warning.innerText(), /rename it/);
  await rename(join(root, 'draft.'), join(root, 'draft.txt'));
  await page.getByRole('button', { name: 'Sync now' }).click();
  await warning.waitFor({ state: 'detached', timeout: 20_000 });
  await page.getByText('Layer user/alice, 3 files').waitFor();
  assert.deepEqual(problems, []);
});

test('conflicts made while the page is open show without a reload, and keeping this, the other or both leaves the disk as said, on both devices', { skip, timeout: 120_000 }, async (t) => {
  const { root, agent, control, page, problems, store } = await agentAndPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await stateIs(page, 'In sync');
  const names = ['a.txt', 'b.txt', 'c.txt'];
  for (const n of names) await writeFile(join(root, n), 'base');
  await page.getByRole('button', { name: 'Sync now' }).click();
  await page.getByText('Layer user/alice, 5 files').waitFor({ timeout: 20_000 });
  // A second device on the same bucket, which takes the files, then edits them first.
  const other = await mkdtemp(join(tmpdir(), 'strata-ui-other-'));
  t.after(() => rm(other, { recursive: true, force: true }));
  const theirs = join(other, 'home');
  await mkdir(theirs);
  const b = await Agent.start({ stateDir: join(other, 'state'), folders: [{ root: theirs, layer: 'user/alice' }], openStore: () => store, watch: false, pollMs: 3_600_000 });
  t.after(() => b.stop());
  await waitFor('the files on the other device', () => existsSync(join(theirs, 'c.txt')));
  await waitFor('the other device in sync', () => b.status().folders[0]?.lastSync !== undefined);
  for (const n of names) await writeFile(join(theirs, n), `theirs ${n}`);
  const pushed = b.passesDone(1);
  b.syncNow();
  await pushed;
  const later = new Date(Date.now() + 60_000);
  for (const n of names) {
    await writeFile(join(root, n), `mine ${n}`);
    await utimes(join(root, n), later, later);
  }
  await page.getByRole('button', { name: 'Sync now' }).click();
  await page.getByText('Conflicts (4)').waitFor({ timeout: 20_000 });
  const copyOf = (n: string) => agent.status().folders[0]!.conflicts.find((c) => c.path === n)!.copy;
  const [copyA, copyB, copyC] = names.map(copyOf);
  await page.getByRole('button', { name: `Keep this: a.txt in` }).click();
  await page.getByText('Conflicts (3)').waitFor();
  await page.getByRole('button', { name: `Keep the other: ${copyB!}` }).click();
  await page.getByText('Conflicts (2)').waitFor();
  await page.getByRole('button', { name: `Keep both: c.txt and` }).click();
  await page.getByText('Conflicts (1)').waitFor();
  const note = await page.locator('.note').innerText();
  const kept = await readdir(root);
  assert.equal(await readFile(join(root, 'a.txt'), 'utf8'), 'mine a.txt');
  assert.equal(existsSync(join(root, copyA!)), false);
  assert.equal(await readFile(join(root, 'b.txt'), 'utf8'), 'theirs b.txt');
  assert.equal(existsSync(join(root, copyB!)), false);
  assert.equal(await readFile(join(root, 'c.txt'), 'utf8'), 'mine c.txt');
  assert.equal(existsSync(join(root, copyC!)), false);
  const beside = kept.find((n) => n !== 'c.txt' && n.startsWith('c') && n.endsWith('.txt'))!;
  assert.equal(await readFile(join(root, beside), 'utf8'), 'theirs c.txt');
  assert.match(note, new RegExp(`^${beside.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} now holds the other version of c.txt`));
  await stateIs(page, 'In sync');
  const pulled = b.passesDone(1);
  b.syncNow();
  await pulled;
  const onOther = Object.fromEntries(await Promise.all((await readdir(theirs)).map(async (n) => [n, await readFile(join(theirs, n), 'utf8')])));
  const onMine = Object.fromEntries(await Promise.all(kept.map(async (n) => [n, await readFile(join(root, n), 'utf8')])));
  assert.deepEqual(onOther, onMine);
  assert.deepEqual(problems, []);
});

test("the name an entry not synced has is isolated as every name is: right-to-left letters or an override in it never reorder the warning's own words", { skip, timeout: 120_000 }, async (t) => {
  const { root, control, page, problems } = await agentAndPage(t);
  await page.goto(`${control.url}/#token=${control.token}`);
  await stateIs(page, 'In sync');
  const name = 'טיוטה\u202etxt.';
  await writeFile(join(root, name), 'a draft');
  await page.getByRole('button', { name: 'Sync now' }).click();
  const warning = page.locator('.folder .warning');
  await warning.waitFor({ timeout: 20_000 });
  // What of the warning is not inside a <bdi>: the page's and the agent's own words.
  const outside = await warning.evaluate((el) => {
    const copy = el.cloneNode(true) as HTMLElement;
    for (const b of copy.querySelectorAll('bdi')) b.remove();
    return copy.textContent;
  });
  assert.doesNotMatch(outside, /[\u05d0-\u05ea\u202e]/u, `the name stays in its <bdi>: ${JSON.stringify(outside)}`);
  assert.match(await warning.innerText(), /rename it/);
  assert.deepEqual(problems, []);
});
