/**
 * What the UI's e2e tests start: a real agent on one folder over an in-memory bucket, its control
 * endpoint on loopback, and a Chromium page; all closed after the test. The folder holds a
 * conflict a merge left earlier (notes.txt and its copy from a device "laptop").
 */
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import { Agent } from '../sync/agent/index.js';
import { initStore } from '../sync/agent/testkit.js';
import { serveControl } from '../sync/control/index.js';
import { ForwardingStore } from '../sync/store/forwarding.js';
import type { ListOptions, ObjectInfo, ObjectStore } from '../sync/store/index.js';
import { MemoryStore } from '../sync/store/memory.js';
import { openPage } from './browser.js';

export const COPY = 'notes.sync-conflict-20261201-101500-laptop.txt';

/** A bucket whose listings wait while it is closed: a pass started then stops at its first request. */
export class GateStore extends ForwardingStore {
  private opened: Promise<void> = Promise.resolve();
  private openIt: () => void = () => undefined;

  close(): void {
    this.opened = new Promise((r) => (this.openIt = r));
  }

  open(): void {
    this.openIt();
  }

  override async *list(prefix: string, opts?: ListOptions): AsyncIterable<ObjectInfo> {
    await this.opened;
    yield* super.list(prefix, opts);
  }
}

/** What a test changes of agentAndPage's set-up: more in the folder before the agent starts, and the bucket the agent sees (over the gate). */
export interface PageSetup {
  prepare?: (root: string) => Promise<void>;
  wrap?: (store: ObjectStore) => ObjectStore;
}

export async function agentAndPage(t: TestContext, setup: PageSetup = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'strata-ui-'));
  t.after(() => rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));
  const root = join(dir, 'home');
  await mkdir(root);
  await writeFile(join(root, 'notes.txt'), 'mine');
  await writeFile(join(root, COPY), 'theirs');
  // The copy's version is the older one, as a merge leaves it (its mtime is the stamp in its name).
  const stamp = new Date('2026-12-01T10:15:00Z');
  await utimes(join(root, COPY), stamp, stamp);
  await setup.prepare?.(root);
  const store = new GateStore(new MemoryStore());
  await initStore(store);
  const seen = setup.wrap?.(store) ?? store;
  const agent = await Agent.start({ stateDir: join(dir, 'state'), folders: [{ root, layer: 'user/alice' }], openStore: () => seen, watch: false, pollMs: 3_600_000 });
  t.after(() => {
    store.open(); // a test that failed with the bucket closed must not hold up the stop
    return agent.stop();
  });
  const control = await serveControl(agent, { stateDir: join(dir, 'state') });
  t.after(() => control.close());
  const { page, problems } = await openPage(t);
  return { root, agent, control, page, problems, store, stateDir: join(dir, 'state') };
}

/** Waits until the page's overall state reads `label`. */
export async function stateIs(page: Page, label: string): Promise<void> {
  await page.getByRole('status').filter({ hasText: new RegExp(`^${label}$`) }).waitFor({ timeout: 20_000 });
}

/** 20 files synced, then deleted: the pass holds, and the page offers "Delete 20 files". */
export async function holdDeletes(page: Page, root: string): Promise<void> {
  for (let i = 0; i < 20; i++) await writeFile(join(root, `f${i}.txt`), `file ${i}`);
  await page.getByRole('button', { name: 'Sync now' }).click();
  await page.getByText('Layer user/alice, 22 files').waitFor({ timeout: 20_000 });
  for (let i = 0; i < 20; i++) await rm(join(root, `f${i}.txt`));
  await page.getByRole('button', { name: 'Sync now' }).click();
  await page.getByRole('button', { name: 'Delete 20 files' }).waitFor({ timeout: 20_000 });
}
