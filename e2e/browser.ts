/**
 * What every e2e test needs of the browser: Debian's Chromium driven by playwright-core, with the
 * launch flags that work on these machines, and a page that records its script errors.
 */
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** A `skip` value: CI installs Chromium (.ci/run), so there a missing one is a failure, not a skip. */
export const noChromium: string | false = !existsSync(CHROMIUM) && !process.env.CI ? `no ${CHROMIUM} (apt-get install chromium)` : false;

/** A new page in a browser closed after the test; `problems` collects the page's script errors and console errors. */
export async function openPage(t: TestContext): Promise<{ page: Page; problems: string[] }> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  return { page, problems };
}
