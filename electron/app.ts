/**
 * The desktop app, without Electron: it hosts the agent of the signed-in session (sync/signin's
 * host, the same `strata agent` runs; an interrupted sign-in's lay is finished first, as there),
 * keeps the tray's menu and tooltip in step with the agent's status (tray-menu.ts), runs the
 * menu's actions, and opens the UI window on the agent's loopback endpoint. main.ts gives it a
 * Shell made of Electron's Tray, Menu and BrowserWindow; tests give it a fake one.
 *
 * On a machine nobody is signed in on, it opens the sign-in screen instead (sync/control's
 * signin-server.ts over sync/signin's flow.ts): the form, then the lay's progress in the window
 * and the tray; once laid, the agent starts on the new session and the window moves on to its UI.
 *
 * What must hold:
 * - the window loads the UI from the loopback endpoint with the token in the URL's fragment (the
 *   page keeps it for the tab and drops it from the address: the same page and API a browser gets
 *   from `strata ui`), and may navigate nowhere else (security.ts);
 * - "Start at login" in the menu shows and sets whether Strata starts at login; a sign-in
 *   through the app turns it on;
 * - what needs the user (a held mass delete, new conflicts, an error, a setting not synced) is
 *   told once in a notification, whose click opens the window;
 * - quitting stops the agent (a pass in flight ends its step; the control endpoint and its
 *   control.json go) before the app exits; a start that fails says why and quits;
 * - one agent per state dir, as `strata agent` and `strata sync` keep it: while another agent
 *   (the CLI's, or another copy of the app) serves the state dir, the app says Strata is already
 *   running and quits before it reads the session, lays anything or starts an agent of its own.
 */
import type { AgentStatus } from '../shared/agent-api.js';
import { ChunkPool } from '../sync/chunker/index.js';
import { refuseRunningAgent, serveSignIn, type SignInServer } from '../sync/control/index.js';
import { describeError, isStrataError } from '../sync/errors.js';
import type { ChunkFileFn } from '../sync/restore/index.js';
import type { SettingsStore } from '../sync/settings/settings.js';
import { layHome, openSignedIn, ORG_CHECK_MS, readSession, SignInFlow, startSessionHost, type HostableSession, type Relay, type Session, type SessionHost, type SignInEvent } from '../sync/signin/index.js';
import type { Autostart } from './autostart.js';
import { notices, settingsNotice, type Notice } from './notices.js';
import { isAllowedNavigation } from './security.js';
import { layingLine, signInLine, signInMenu, trayMenu, trayTooltip, type TrayAction, type TrayItem } from './tray-menu.js';

export interface TrayHandle {
  setToolTip(text: string): void;
  /** Shows `items` as the tray's menu; a click on one runs `onAction` with its action. */
  setMenu(items: TrayItem[], onAction: (action: TrayAction) => void): void;
}

export interface WindowHandle {
  isDestroyed(): boolean;
  focus(): void;
  close(): void;
}

export interface Shell {
  createTray(): TrayHandle;
  /** A window showing `url`, whose navigation `allowed` decides (new windows are always refused). */
  openWindow(url: string, allowed: (target: string) => boolean): WindowHandle;
  showError(title: string, message: string): void;
  /** A desktop notification, its title and body plain text (the shell shows them as text: notices.ts notificationFor); a click on it runs `onClick`. */
  notify(notice: Notice, onClick: () => void): void;
  /** Ends the process; the app has stopped everything before it calls this. */
  exit(): void;
}

export interface AppOptions {
  shell: Shell;
  stateDir: string;
  /** Where the layer is laid when someone signs in here (the OS user's home). */
  home: string;
  /** What the sign-in form starts with: the machine's org config ('' for none), the OS user's name. */
  signInDefaults: { org: string; user: string };
  /** Starting at login (autostart.ts); without it the menu has no "Start at login". */
  autostart?: Autostart;
  /** How often the org layers are checked for new versions (default as `strata agent`). */
  orgCheckMs?: number;
  /** The settings store the org's settings are mirrored from (default: dconf, as `strata agent`). */
  settingsStore?: SettingsStore;
}

/** The title of the error a start that failed shows: another agent holding the state dir is not a fault of this one. */
function startFailureTitle(failure: unknown): string {
  if (isStrataError(failure, 'E_AGENT_ALREADY_RUNNING')) return 'Strata is already running';
  if (isStrataError(failure, 'E_AGENT_NOT_ANSWERING')) return 'Strata is already running but does not answer';
  return 'Strata could not start';
}

export class StrataApp {
  private host: SessionHost | undefined;
  private signIn: { flow: SignInFlow; server: SignInServer } | undefined;
  private pool: ChunkPool | undefined;
  private status: AgentStatus | undefined;
  private autostartOn: boolean | undefined;
  private window: WindowHandle | undefined;
  private stopping: Promise<void> | undefined;
  private readonly tray: TrayHandle;

  private constructor(private readonly opts: AppOptions) {
    this.tray = opts.shell.createTray();
    this.refresh();
  }

  /**
   * Shows the tray, then starts the agent — or, when nobody is signed in here, opens the sign-in
   * screen. A failure to start is shown and the app exits.
   */
  static async start(opts: AppOptions): Promise<StrataApp> {
    const app = new StrataApp(opts);
    app.autostartOn = await opts.autostart?.enabled().catch(() => undefined);
    try {
      await refuseRunningAgent(opts.stateDir);
      const session = await openSignedIn(opts.stateDir, (s, o) => app.relay(s, o));
      app.host = await app.startHost(session);
    } catch (err) {
      try {
        // Nobody signed in here, or their credentials are gone from the keychain: sign in (again).
        if (!isStrataError(err, 'E_NOT_SIGNED_IN') && !isStrataError(err, 'E_NO_CREDENTIALS')) throw err;
        await app.offerSignIn();
      } catch (failure) {
        opts.shell.showError(startFailureTitle(failure), describeError(failure));
        await app.quit();
      }
      return app;
    }
    app.hosted();
    return app;
  }

  /** The agent's loopback endpoint, once started. */
  get control(): SessionHost['control'] | undefined {
    return this.host?.control;
  }

  /** The sign-in screen's endpoint, while it is open. */
  get signInScreen(): SignInServer | undefined {
    return this.signIn?.server;
  }

  async run(action: TrayAction): Promise<void> {
    try {
      if (action === 'open') return this.openWindow();
      if (action === 'quit') return await this.quit();
      if (action === 'autostart') return await this.setAutostart(!this.autostartOn);
      const api = this.host?.api;
      if (!api) return;
      this.status = await api.call(action === 'pause' ? 'pause' : action === 'resume' ? 'resume' : 'syncNow', {});
      this.refresh();
    } catch (err) {
      this.opts.shell.showError('Strata', describeError(err));
    }
  }

  /** The agent's UI, or the sign-in screen while nobody is signed in; one window, focused if open. */
  openWindow(): void {
    const endpoint = this.host?.control ?? this.signIn?.server;
    if (!endpoint) return;
    if (this.window && !this.window.isDestroyed()) return this.window.focus();
    const appUrl = `${endpoint.url}/`;
    this.window = this.opts.shell.openWindow(`${appUrl}#token=${encodeURIComponent(endpoint.token)}`, (target) => isAllowedNavigation(appUrl, target));
  }

  /** Stops the sign-in screen, the agent and the chunk pool, then exits; every call waits for the same stop. */
  quit(): Promise<void> {
    this.stopping ??= (async () => {
      try {
        await this.signIn?.server.close();
        await this.host?.stop();
        await this.pool?.close();
      } finally {
        this.opts.shell.exit();
      }
    })();
    return this.stopping;
  }

  private refresh(): void {
    const signingIn = this.host ? undefined : this.signIn?.flow.state();
    this.tray.setToolTip(signingIn ? `Strata — ${signInLine(signingIn)}` : trayTooltip(this.status));
    this.tray.setMenu(signingIn ? signInMenu(signingIn) : trayMenu(this.status, this.autostartOn), (action) => void this.run(action));
  }

  private async setAutostart(on: boolean): Promise<void> {
    const autostart = this.opts.autostart;
    if (!autostart) return;
    try {
      await autostart.set(on);
    } finally {
      this.autostartOn = await autostart.enabled().catch(() => undefined);
      this.refresh();
    }
  }

  private get chunkPool(): ChunkPool {
    return (this.pool ??= new ChunkPool());
  }

  private chunkFile: ChunkFileFn = (path, params, hash) => this.chunkPool.chunkFile(path, params, { hash });

  /** Lays an interrupted sign-in's layer again, its progress in the tray. */
  private async relay(...[session, org]: Parameters<Relay>): Promise<Session> {
    const onEvent = (e: SignInEvent): void => {
      if (e.type === 'progress') this.tray.setToolTip(`Strata — ${layingLine(e.filesDone, e.files)}`);
    };
    return (await layHome({ store: org.store, session, stateDir: this.opts.stateDir, chunkFile: this.chunkFile, onEvent })).session;
  }

  /** Starts live sync; the host owns the bucket from here: it closes it when it stops, or when its start fails. */
  private startHost({ session, org }: HostableSession): Promise<SessionHost> {
    const { stateDir, orgCheckMs = ORG_CHECK_MS, settingsStore } = this.opts;
    return startSessionHost({
      stateDir,
      session,
      org,
      chunker: this.chunkPool,
      orgCheckMs,
      ...(settingsStore ? { settingsStore } : {}),
      onSettings: (e) => {
        const notice = settingsNotice(e);
        if (notice) this.opts.shell.notify(notice, () => this.openWindow());
      },
    });
  }

  /** The tray follows the agent from here on, and what needs the user is told in a notification (notices.ts). */
  private hosted(): void {
    const host = this.host;
    if (!host) return;
    const show = (status: AgentStatus): void => {
      for (const notice of notices(this.status, status)) this.opts.shell.notify(notice, () => this.openWindow());
      this.status = status;
      this.refresh();
    };
    // The statuses the UI gets (host.api): they carry the settings mirror's standing too.
    show(host.agent.status());
    host.api.subscribe((e) => {
      if (e.type === 'status') show(e.status);
    });
  }

  /** The sign-in screen in a window; once signed in, the agent, and its UI in the window. */
  private async offerSignIn(): Promise<void> {
    const { stateDir, home, signInDefaults } = this.opts;
    // Credentials gone from the keychain: the session says who was signed in, and with which org.
    const before = await readSession(stateDir).catch(() => undefined);
    const flow = new SignInFlow({
      stateDir,
      home,
      defaults: before ? { org: before.source, user: before.user } : signInDefaults,
      chunkFile: this.chunkFile,
      onChange: () => this.refresh(),
      onSignedIn: async (signedIn) => {
        if (this.stopping) {
          signedIn.org.close();
          return;
        }
        this.host = await this.startHost(signedIn);
        this.hosted();
        // Signed in here through the app: from now on Strata starts with the user's session.
        await this.setAutostart(true).catch((err: unknown) => this.opts.shell.showError('Strata could not add itself to the programs started at login', describeError(err)));
        const screen = this.signIn;
        this.signIn = undefined;
        this.window?.close();
        this.window = undefined;
        this.openWindow();
        await screen?.server.close();
      },
    });
    this.signIn = { flow, server: await serveSignIn(flow) };
    this.refresh();
    this.openWindow();
  }
}
