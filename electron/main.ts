/**
 * The desktop app's main process (DESIGN §5): Electron's Tray, Menu and BrowserWindow given to
 * StrataApp (app.ts), which hosts the agent and holds every decision; this file only wires them.
 * Windows get security.ts's web preferences and refuse new windows; every session refuses every
 * permission (denyPermissions); a second launch opens the window of the first; closing the window
 * keeps the app in the tray; quitting stops the agent before the process ends.
 *
 * Run with `npm run app` where Electron's binary is installed (`npm run build` first). Without a
 * session the app opens its sign-in screen (or sign in with `strata login`). STRATA_STATE_DIR
 * overrides the state dir; STRATA_ORG_CONFIG fills the sign-in form's org config (the file or URL
 * an admin distributed to the machine).
 */
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { app, BrowserWindow, dialog, Menu, nativeImage, Notification, session, Tray } from 'electron';
import { defaultStateDir } from '../sync/state/index.js';
import { StrataApp, type Shell } from './app.js';
import { xdgAutostart, type Autostart } from './autostart.js';
import { notificationFor } from './notices.js';
import { denyPermissions, secureWebPreferences } from './security.js';

/** Three stacked bars, 16×16. */
const ICON = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAYAAAAf8/9hAAAAHElEQVR42mNgGB5AvqvrPzmYegaMhsFoGAx9AAA++rhpAorPFQAAAABJRU5ErkJggg==';

const stateDir = process.env.STRATA_STATE_DIR ?? defaultStateDir(process.platform, process.env, homedir());
let exiting = false;

const shell: Shell = {
  createTray() {
    const tray = new Tray(nativeImage.createFromDataURL(ICON));
    return {
      setToolTip: (text) => tray.setToolTip(text),
      setMenu: (items, onAction) => {
        tray.setContextMenu(
          Menu.buildFromTemplate(
            items.map((item) =>
              item.type === 'separator'
                ? { type: 'separator' as const }
                : {
                    label: item.label,
                    enabled: item.enabled,
                    ...(item.checked !== undefined ? { type: 'checkbox' as const, checked: item.checked } : {}),
                    ...(item.action ? { click: () => onAction(item.action as NonNullable<typeof item.action>) } : {}),
                  },
            ),
          ),
        );
      },
    };
  },
  openWindow(url, allowed) {
    const window = new BrowserWindow({ width: 720, height: 640, title: 'Strata', show: false, webPreferences: secureWebPreferences() });
    window.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
    window.webContents.on('will-navigate', (event, target) => {
      if (!allowed(target)) event.preventDefault();
    });
    window.once('ready-to-show', () => window.show());
    void window.loadURL(url);
    return {
      isDestroyed: () => window.isDestroyed(),
      close: () => window.close(),
      focus: () => {
        window.show();
        window.focus();
      },
    };
  },
  showError: (title, message) => dialog.showErrorBox(title, message),
  notify: (notice, onClick) => {
    if (!Notification.isSupported()) return;
    const { title, body } = notificationFor(notice, process.platform);
    const notification = new Notification({ title, body });
    notification.on('click', onClick);
    notification.show();
  },
  exit: () => {
    exiting = true;
    app.quit();
  },
};

/** Starting at login: an XDG autostart entry on Linux, the login item elsewhere (autostart.ts). */
function autostart(): Autostart {
  if (process.platform === 'linux') {
    // A packaged app is its own executable; in development Electron runs the app's folder.
    const command = app.isPackaged ? [process.execPath] : [process.execPath, app.getAppPath()];
    return xdgAutostart(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), command);
  }
  return {
    enabled: () => Promise.resolve(app.getLoginItemSettings().openAtLogin),
    set: (on) => Promise.resolve(app.setLoginItemSettings({ openAtLogin: on })),
  };
}

async function main(): Promise<void> {
  if (!app.requestSingleInstanceLock()) return app.quit();
  // A tray app: closing the window keeps it running.
  app.on('window-all-closed', () => undefined);
  app.on('session-created', denyPermissions);
  await app.whenReady();
  denyPermissions(session.defaultSession);
  const signInDefaults = { org: process.env.STRATA_ORG_CONFIG ?? '', user: userInfo().username };
  const strata = await StrataApp.start({ shell, stateDir, home: homedir(), signInDefaults, autostart: autostart() });
  app.on('second-instance', () => strata.openWindow());
  app.on('before-quit', (event) => {
    if (exiting) return;
    // The agent stops first; StrataApp then quits for real (shell.exit).
    event.preventDefault();
    void strata.quit();
  });
}

void main();
