// The desktop app (app.ts) without Electron: a fake shell stands for Tray, Menu and BrowserWindow;
// everything behind it is real — a session signed in on Swift with the real keychain, the agent,
// its loopback endpoint and UI. Also: on a machine nobody signed in on, the sign-in screen, and a
// start that fails.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it, type TestContext } from 'node:test';
import { writeTree } from '../sync/cli/testkit.js';
import { CONTROL_FILE, serveControl } from '../sync/control/index.js';
import { writeControlFile } from '../sync/control/file.js';
import { FakeAgent } from '../sync/control/testkit.js';
import { MemorySettings } from '../sync/settings/testkit.js';
import type { AgentStatus } from '../shared/agent-api.js';
import { preloadUserLayer } from '../sync/profile/index.js';
import type { SignInState } from '../shared/signin-api.js';
import { findCredentialsAsync } from '@napi-rs/keyring';
import { deleteCredentials, userPrincipal } from '../sync/credentials/index.js';
import { readSession, SESSION_FILE } from '../sync/signin/index.js';
import { makeMachine, makeTestOrg, signInAndLay, signInSkipReason, type Machine } from '../sync/signin/testkit.js';
import { StrataApp, type AppOptions, type Shell } from './app.js';
import { AUTOSTART_FILE, xdgAutostart } from './autostart.js';
import type { Notice } from './notices.js';
import type { TrayAction, TrayItem } from './tray-menu.js';

const skip = await signInSkipReason();

class FakeShell implements Shell {
  tooltip = '';
  items: TrayItem[] = [];
  errors: string[] = [];
  notices: { notice: Notice; onClick: () => void }[] = [];
  windows: { url: string; allowed: (target: string) => boolean; focused: number; closed: boolean }[] = [];
  exited = false;
  private onAction: ((a: TrayAction) => void) | undefined;
  private watchers: (() => void)[] = [];

  createTray(): ReturnType<Shell['createTray']> {
    return {
      setToolTip: (text) => {
        this.tooltip = text;
        this.changed();
      },
      setMenu: (items, onAction) => {
        this.items = items;
        this.onAction = onAction;
        this.changed();
      },
    };
  }

  openWindow(url: string, allowed: (target: string) => boolean): ReturnType<Shell['openWindow']> {
    const w = { url, allowed, focused: 0, closed: false };
    this.windows.push(w);
    return { isDestroyed: () => w.closed, focus: () => void w.focused++, close: () => void (w.closed = true) };
  }

  showError(title: string, message: string): void {
    this.errors.push(`${title}: ${message}`);
  }

  notify(notice: Notice, onClick: () => void): void {
    this.notices.push({ notice, onClick });
    this.changed();
  }

  exit(): void {
    this.exited = true;
    this.changed();
  }

  /** Clicks the menu item with this action; it must be there and enabled. */
  click(action: TrayAction): void {
    const item = this.items.find((i) => i.type === 'item' && i.action === action);
    assert.ok(item?.type === 'item' && item.enabled, `${action} is in the menu and enabled: ${JSON.stringify(this.items)}`);
    this.onAction?.(action);
  }

  labels(): string[] {
    return this.items.flatMap((i) => (i.type === 'item' ? [i.label] : []));
  }

  /** Resolves once `ok` holds after a tray update (or holds already). */
  until(ok: () => boolean, what: string, ms = 20_000): Promise<void> {
    if (ok()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; tray: ${this.tooltip} / ${this.labels().join(' | ')}`)), ms);
      const check = (): void => {
        if (!ok()) return;
        clearTimeout(timer);
        this.watchers = this.watchers.filter((w) => w !== check);
        resolve();
      };
      this.watchers.push(check);
    });
  }

  private changed(): void {
    for (const w of [...this.watchers]) w();
  }
}

/** Apps the running test started (startApp). */
const started = new Set<StrataApp>();

/**
 * Starts the app; it quits once the test is over, passed or failed. Not in a t.after hook: those
 * run in the order they were added, so the org's cleanup (added first) would remove the state dir
 * under the running agent, and a hook that fails skips the ones after it — the quit among them,
 * which left the agent's endpoint listening and the test process alive for good.
 */
async function startApp(opts: AppOptions): Promise<StrataApp> {
  const app = await StrataApp.start(opts);
  started.add(app);
  return app;
}

// afterEach hooks run before the test's own hooks, and a failing one skips none of those.
afterEach(async () => {
  const apps = [...started];
  started.clear();
  await Promise.all(apps.map((app) => app.quit()));
});

function appOptions(shell: Shell, m: Machine): AppOptions {
  return { shell, stateDir: m.stateDir, home: m.home, signInDefaults: { org: '', user: 'dana' }, orgCheckMs: 0, autostart: xdgAutostart(join(m.home, '.config'), ['/usr/bin/strata-app']) };
}

const autostartEntry = (m: Machine): string => join(m.home, '.config/autostart', AUTOSTART_FILE);

/** Every entry under `dir` with its size and mtime: what a start that touches nothing leaves the same. */
async function stateOf(dir: string): Promise<string[]> {
  const names = (await readdir(dir, { recursive: true })).sort();
  return Promise.all(names.map(async (n) => {
    const st = await lstat(join(dir, n));
    return `${n} ${st.size} ${st.mtimeMs}`;
  }));
}

/** Asks the app's agent for `n` passes, through its endpoint as the UI does, each waited for. */
async function passes(app: StrataApp, n: number): Promise<void> {
  const control = app.control;
  assert.ok(control);
  const call = async (command: string): Promise<AgentStatus> =>
    (await (await fetch(`${control.url}/api/${command}`, { method: 'POST', headers: { authorization: `Bearer ${control.token}`, 'content-type': 'application/json' }, body: '{}' })).json()) as AgentStatus;
  const done = async (): Promise<number> => (await call('status')).folders.reduce((sum, f) => sum + f.syncedPasses, 0);
  for (let i = 0; i < n; i++) {
    const before = await done();
    await call('syncNow');
    while ((await done()) <= before) await new Promise((r) => setTimeout(r, 50));
  }
}

async function signedInMachine(t: TestContext) {
  const org = await makeTestOrg(t, { folders: ['Documents'] });
  const tpl = join(org.dir, 'tpl');
  await writeTree(tpl, { Documents: { 'welcome.txt': 'welcome aboard' } });
  await preloadUserLayer(await org.admin(), 'dana', { from: tpl });
  const m = await makeMachine(org, 'pc');
  await signInAndLay(org, m, 'dana');
  return { ...m, org };
}

describe('desktop app', { skip }, () => {
  it('hosts the agent: the tray follows its state, pauses and resumes it, opens the UI on loopback, and quitting stops it', async (t) => {
    const m = await signedInMachine(t);
    // A conflict an earlier pass left: the app tells it once.
    await writeFile(join(m.home, 'Documents/notes.txt'), 'mine');
    await writeFile(join(m.home, 'Documents/notes.sync-conflict-20261201-101500-laptop.txt'), 'theirs');
    const shell = new FakeShell();
    const app = await startApp(appOptions(shell, m));
    assert.deepEqual(shell.errors, []);
    await shell.until(() => shell.tooltip === 'Strata — In sync', 'the first pass');
    assert.deepEqual(
      shell.notices.map((n) => n.notice.title),
      // The name isolated (LRI … PDI): a right-to-left override in it cannot reorder the title.
      ['Conflict: \u2066Documents/notes.txt\u2069'],
    );
    assert.ok(existsSync(join(m.stateDir, CONTROL_FILE)), 'the control endpoint is up');

    shell.click('pause');
    await shell.until(() => shell.labels().includes('Resume sync'), 'Resume in the menu');
    assert.equal(shell.tooltip, 'Strata — Paused');
    assert.ok(!shell.labels().includes('Pause sync'));
    shell.click('resume');
    await shell.until(() => shell.labels().includes('Pause sync'), 'Pause in the menu again');

    const startAtLogin = (): boolean | undefined => {
      const item = shell.items.find((i) => i.type === 'item' && i.action === 'autostart');
      return item?.type === 'item' ? item.checked : undefined;
    };
    assert.equal(startAtLogin(), false);
    shell.click('autostart');
    await shell.until(() => existsSync(autostartEntry(m)) && startAtLogin() === true, 'Start at login checked');
    shell.click('autostart');
    await shell.until(() => !existsSync(autostartEntry(m)) && startAtLogin() === false, 'Start at login unchecked');

    shell.click('open');
    shell.click('open');
    assert.equal(shell.windows.length, 1, 'a second Open focuses the window');
    const w = shell.windows[0];
    assert.ok(w);
    assert.equal(w.focused, 1);
    shell.notices[0]?.onClick();
    assert.equal(w.focused, 2, "the notice's click shows the window");
    assert.equal(shell.windows.length, 1);
    const control = app.control;
    assert.ok(control);
    assert.equal(w.url, `${control.url}/#token=${encodeURIComponent(control.token)}`);
    const page = await fetch(`${control.url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<main id="app">/);
    assert.equal(w.allowed(`${control.url}/#conflicts`), true);
    assert.equal(w.allowed('https://example.com/'), false);
    // The page's own API call, with the token it was given.
    const status = await fetch(`${control.url}/api/status`, { method: 'POST', headers: { authorization: `Bearer ${control.token}`, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(status.status, 200);

    shell.click('quit');
    await shell.until(() => shell.exited, 'exit');
    await app.quit();
    assert.equal(existsSync(join(m.stateDir, CONTROL_FILE)), false, 'control.json is gone');
    assert.equal(await readFile(join(m.home, 'Documents/welcome.txt'), 'utf8'), 'welcome aboard');
  });

  it("tells a setting that is not synced in a notice, once until it changes, as strata agent warns of it, and in the tray's menu and tooltip while it stands", async (t) => {
    const org = await makeTestOrg(t, { folders: ['Documents'], settings: { dconf: ['/org/test/app/'] } });
    const m = await makeMachine(org, 'pc');
    const settings = new MemorySettings();
    settings.values.set('/org/test/app/theme', "'dark'");
    await signInAndLay(org, m, 'dana', { settingsStore: settings });
    settings.values.set('/org/test/app/bad name', "'x'");
    const shell = new FakeShell();
    const app = await startApp({ ...appOptions(shell, m), settingsStore: settings });
    const told = (): string[] => shell.notices.filter((n) => n.notice.title === 'A setting is not synced').map((n) => n.notice.body);
    await shell.until(() => told().length === 1, 'the notice of the setting');
    assert.match(told()[0] ?? '', /^\u2066\/org\/test\/app\/bad name\u2069: not synced: /);
    await shell.until(() => shell.tooltip === 'Strata — In sync; 1 setting not synced', 'the tray saying the setting');
    assert.ok(shell.labels().includes('1 setting not synced'), shell.labels().join(' | '));
    await passes(app, 2);
    assert.equal(told().length, 1, 'a problem that stays is told once');
    settings.values.set('/org/test/app/also bad', "'y'");
    await shell.until(() => told().length === 2, 'the notice of the new problem');
    assert.match(told()[1] ?? '', /^\u2066\/org\/test\/app\/also bad\u2069: /);
    shell.notices.at(-1)?.onClick();
    assert.equal(shell.windows.length, 1, "the notice's click opens the window");
  });

  it('refuses to start while an agent (strata agent) serves the state dir, before it starts its own, and says so', async (t) => {
    const m = await signedInMachine(t);
    const other = await serveControl(new FakeAgent(), { stateDir: m.stateDir });
    t.after(() => other.close());
    const [stateBefore, homeBefore] = [await stateOf(m.stateDir), await stateOf(m.home)];
    const shell = new FakeShell();
    await startApp(appOptions(shell, m));
    assert.equal(shell.exited, true);
    assert.deepEqual(await stateOf(m.stateDir), stateBefore, 'the state dir is untouched');
    assert.deepEqual(await stateOf(m.home), homeBefore, 'home is untouched');
    assert.deepEqual(shell.windows, []);
    assert.equal(shell.errors.length, 1, shell.errors.join('\n'));
    assert.match(shell.errors[0] ?? '', new RegExp(`^Strata is already running: E_AGENT_ALREADY_RUNNING ${m.stateDir}: an agent \\(pid ${process.pid}\\) already serves this state dir`));
  });

  it('refuses to start while an agent that does not answer (stopped, or busy) serves the state dir, and says so in its title', async (t) => {
    const m = await signedInMachine(t);
    // An endpoint that takes the connection and never answers, named by a pid that lives (this one).
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => silent.close(() => resolve())));
    silent.on('connection', (socket) => t.after(() => socket.destroy()));
    const address = silent.address();
    assert.ok(address !== null && typeof address === 'object');
    await writeControlFile(m.stateDir, { url: `http://127.0.0.1:${address.port}`, token: 'a'.repeat(43), pid: process.pid });
    const homeBefore = await stateOf(m.home);
    const shell = new FakeShell();
    await startApp(appOptions(shell, m));
    assert.equal(shell.exited, true);
    assert.deepEqual(await stateOf(m.home), homeBefore, 'home is untouched');
    assert.deepEqual(shell.windows, []);
    assert.equal(shell.errors.length, 1, shell.errors.join('\n'));
    assert.match(shell.errors[0] ?? '', new RegExp(`^Strata is already running but does not answer: E_AGENT_NOT_ANSWERING ${m.stateDir}: an agent \\(pid ${process.pid}\\) serves this state dir but does not answer`));
  });

  it('when the credentials are gone from the keychain, opens the sign-in screen for the same user and org', async (t) => {
    const m = await signedInMachine(t);
    assert.equal(await deleteCredentials(m.org.org, userPrincipal('dana')), true);
    const shell = new FakeShell();
    const app = await startApp({ ...appOptions(shell, m), signInDefaults: { org: '', user: 'someone-else' } });
    assert.deepEqual(shell.errors, []);
    const screen = app.signInScreen;
    assert.ok(screen);
    const state = (await (await fetch(`${screen.url}/api/signin`, { headers: { authorization: `Bearer ${screen.token}` } })).json()) as SignInState;
    assert.deepEqual(state.defaults, { org: m.org.configPath, user: 'dana' });
    assert.equal(app.control, undefined, 'no agent without credentials');
  });

  it('on a machine nobody signed in on, opens the sign-in screen: a wrong secret is refused, and a sign-in lays the layer and starts the agent', async (t) => {
    const org = await makeTestOrg(t, { folders: ['Documents'] });
    const tpl = join(org.dir, 'tpl');
    await writeTree(tpl, { Documents: { 'welcome.txt': 'welcome aboard' } });
    await preloadUserLayer(await org.admin(), 'dana', { from: tpl });
    const m = await makeMachine(org, 'new-pc');
    const shell = new FakeShell();
    const app = await startApp({ ...appOptions(shell, m), signInDefaults: { org: org.configPath, user: 'dana' } });
    assert.deepEqual(shell.errors, []);
    assert.equal(shell.exited, false);
    assert.equal(shell.tooltip, 'Strata — Not signed in');
    assert.deepEqual(shell.labels(), ['Not signed in', 'Open Strata', 'Quit Strata']);
    const screen = app.signInScreen;
    assert.ok(screen);
    const w = shell.windows[0];
    assert.equal(w?.url, `${screen.url}/#token=${encodeURIComponent(screen.token)}`, 'the sign-in window opens by itself');
    assert.match(await (await fetch(`${screen.url}/`)).text(), /src="\/ui\/renderer\/signin\.js"/);

    const api = (body?: unknown) =>
      fetch(`${screen.url}/api/signin`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { authorization: `Bearer ${screen.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const state = async (): Promise<SignInState> => (await (await api()).json()) as SignInState;
    assert.deepEqual(await state(), { step: 'form', defaults: { org: org.configPath, user: 'dana' } });
    assert.equal((await fetch(`${screen.url}/api/signin`)).status, 401, 'the token is required');

    // A wrong secret: refused by the bucket; back to the form, nothing kept.
    const wrong = await api({ org: org.configPath, user: 'dana', accessKeyId: org.creds.accessKeyId, secretAccessKey: 'not-the-secret' });
    assert.equal(wrong.status, 202);
    let s: SignInState;
    while ((s = await state()).step !== 'form') await new Promise((r) => setTimeout(r, 50));
    assert.ok(s.error, JSON.stringify(s));
    assert.doesNotMatch(JSON.stringify(s), /not-the-secret/);
    assert.deepEqual(await findCredentialsAsync(`strata:${org.org}`), []);
    await assert.rejects(readSession(m.stateDir));
    assert.equal((await api({ org: org.configPath, user: 'dana' })).status, 400, 'a form without keys');

    const good = await api({ org: org.configPath, user: 'dana', ...org.creds });
    assert.equal(good.status, 202);
    assert.equal((await api({ org: org.configPath, user: 'dana', ...org.creds })).status, 409, 'one sign-in at a time');
    await shell.until(() => shell.tooltip === 'Strata — In sync', 'the agent after the sign-in');
    assert.equal(await readFile(join(m.home, 'Documents/welcome.txt'), 'utf8'), 'welcome aboard');
    assert.equal((await readSession(m.stateDir)).user, 'dana');
    assert.equal(w?.closed, true, 'the sign-in window closed');
    assert.ok(existsSync(autostartEntry(m)), 'a sign-in through the app turns Start at login on');
    const control = app.control;
    assert.ok(control);
    assert.equal(shell.windows.length, 2);
    assert.equal(shell.windows[1]?.url, `${control.url}/#token=${encodeURIComponent(control.token)}`, "the agent's UI opened in its place");
    assert.equal(app.signInScreen, undefined);
    await assert.rejects(fetch(`${screen.url}/api/signin`), 'the sign-in screen is closed');
    shell.click('quit');
    await shell.until(() => shell.exited, 'exit');
  });
});

it('a start that fails says why and exits', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-app-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const stateDir = join(dir, 'state');
  await mkdir(stateDir);
  await writeFile(join(stateDir, SESSION_FILE), '{"version": 1, "user": ');
  const shell = new FakeShell();
  await startApp({ shell, stateDir, home: join(dir, 'home'), signInDefaults: { org: '', user: 'dana' } });
  assert.equal(shell.exited, true);
  assert.equal(shell.errors.length, 1);
  assert.match(shell.errors[0] ?? '', /^Strata could not start: .*session/s);
  assert.equal(shell.windows.length, 0);
});

it('refuses to start while an agent serves the state dir, rather than offering a sign-in over it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-app-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const stateDir = join(dir, 'state');
  const other = await serveControl(new FakeAgent(), { stateDir });
  t.after(() => other.close());
  const before = await stateOf(stateDir);
  const shell = new FakeShell();
  const app = await startApp({ shell, stateDir, home: join(dir, 'home'), signInDefaults: { org: '', user: 'dana' } });
  assert.equal(app.signInScreen, undefined);
  assert.deepEqual(shell.windows, []);
  assert.equal(shell.exited, true);
  assert.match(shell.errors.join('\n'), /^Strata is already running: E_AGENT_ALREADY_RUNNING /);
  assert.deepEqual(await stateOf(stateDir), before);
});
