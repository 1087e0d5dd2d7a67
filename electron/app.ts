/**
 * The desktop app, without Electron: it hosts the agent of the signed-in session (sync/signin's
 * host, the same `strata agent` runs; an interrupted sign-in's lay is finished first, as there),
 * keeps the tray's menu and tooltip in step with the agent's status (tray-menu.ts), runs the
 * menu's actions, and opens the UI window on the agent's loopback endpoint. main.ts gives it a
 * Shell made of Electron's Tray, Menu and BrowserWindow; tests give it a fake one.
 *
 * What must hold:
 * - the window loads the UI from the loopback endpoint with the token in the URL's fragment (the
 *   page keeps it for the tab and drops it from the address: the same page and API a browser gets
 *   from `strata ui`), and may navigate nowhere else (security.ts);
 * - quitting stops the agent (a pass in flight ends its step; the control endpoint and its
 *   control.json go) before the app exits; a start that fails says why and quits.
 */
import type { AgentStatus } from '../shared/agent-api.js';
import { ChunkPool } from '../sync/chunker/index.js';
import { describeError } from '../sync/errors.js';
import type { ChunkFileFn } from '../sync/restore/index.js';
import { layHome, openSignedIn, ORG_CHECK_MS, startSessionHost, type SessionHost, type SignInEvent } from '../sync/signin/index.js';
import { isAllowedNavigation } from './security.js';
import { trayMenu, trayTooltip, type TrayAction, type TrayItem } from './tray-menu.js';

export interface TrayHandle {
  setToolTip(text: string): void;
  /** Shows `items` as the tray's menu; a click on one runs `onAction` with its action. */
  setMenu(items: TrayItem[], onAction: (action: TrayAction) => void): void;
}

export interface WindowHandle {
  isDestroyed(): boolean;
  focus(): void;
}

export interface Shell {
  createTray(): TrayHandle;
  /** A window showing `url`, whose navigation `allowed` decides (new windows are always refused). */
  openWindow(url: string, allowed: (target: string) => boolean): WindowHandle;
  showError(title: string, message: string): void;
  /** Ends the process; the app has stopped everything before it calls this. */
  exit(): void;
}

export interface AppOptions {
  shell: Shell;
  stateDir: string;
  /** How often the org layers are checked for new versions (default as `strata agent`). */
  orgCheckMs?: number;
}

export class StrataApp {
  private host: SessionHost | undefined;
  private pool: ChunkPool | undefined;
  private status: AgentStatus | undefined;
  private window: WindowHandle | undefined;
  private stopping: Promise<void> | undefined;
  private readonly tray: TrayHandle;

  private constructor(private readonly opts: AppOptions) {
    this.tray = opts.shell.createTray();
    this.refresh();
  }

  /** Shows the tray, then starts the agent; a failure is shown and the app exits. */
  static async start(opts: AppOptions): Promise<StrataApp> {
    const app = new StrataApp(opts);
    try {
      app.host = await app.startHost();
    } catch (err) {
      opts.shell.showError('Strata could not start', `${describeError(err)}\n\nSign in with \`strata login\`, then start Strata again.`);
      await app.quit();
      return app;
    }
    app.status = app.host.agent.status();
    app.host.agent.subscribe((e) => {
      if (e.type !== 'status') return;
      app.status = e.status;
      app.refresh();
    });
    app.refresh();
    return app;
  }

  /** The agent's loopback endpoint, once started. */
  get control(): SessionHost['control'] | undefined {
    return this.host?.control;
  }

  async run(action: TrayAction): Promise<void> {
    try {
      if (action === 'open') return this.openWindow();
      if (action === 'quit') return await this.quit();
      const agent = this.host?.agent;
      if (!agent) return;
      this.status = action === 'pause' ? await agent.pause() : action === 'resume' ? await agent.resume() : await agent.syncNow();
      this.refresh();
    } catch (err) {
      this.opts.shell.showError('Strata', describeError(err));
    }
  }

  openWindow(): void {
    const control = this.host?.control;
    if (!control) return;
    if (this.window && !this.window.isDestroyed()) return this.window.focus();
    const appUrl = `${control.url}/`;
    this.window = this.opts.shell.openWindow(`${appUrl}#token=${encodeURIComponent(control.token)}`, (target) => isAllowedNavigation(appUrl, target));
  }

  /** Stops the agent and the chunk pool, then exits; every call waits for the same stop. */
  quit(): Promise<void> {
    this.stopping ??= (async () => {
      try {
        await this.host?.stop();
        await this.pool?.close();
      } finally {
        this.opts.shell.exit();
      }
    })();
    return this.stopping;
  }

  private refresh(): void {
    this.tray.setToolTip(trayTooltip(this.status));
    this.tray.setMenu(trayMenu(this.status), (action) => void this.run(action));
  }

  private async startHost(): Promise<SessionHost> {
    const { stateDir } = this.opts;
    const pool = (this.pool = new ChunkPool());
    const chunkFile: ChunkFileFn = (path, params, hash) => pool.chunkFile(path, params, { hash });
    const onEvent = (e: SignInEvent): void => {
      if (e.type === 'progress') this.tray.setToolTip(`Strata — laying your files: ${e.filesDone} of ${e.files}`);
    };
    const { session, org } = await openSignedIn(stateDir, async (s, o) => (await layHome({ store: o.store, session: s, stateDir, chunkFile, onEvent })).session);
    // The host owns the bucket from here: it closes it when it stops, or when its start fails.
    return startSessionHost({ stateDir, session, org, chunker: pool, orgCheckMs: this.opts.orgCheckMs ?? ORG_CHECK_MS });
  }
}
