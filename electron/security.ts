/**
 * The desktop shell's security policy (DESIGN §6), as plain data and pure functions so that it
 * is tested without Electron: every window runs with context isolation and the sandbox on and
 * Node integration off, under a strict CSP (the one sync/control/ui.ts serves with every page of
 * the app, which the windows load from loopback); it may not navigate away from the app nor open
 * new windows; it is granted no permission (camera, microphone, location, notifications, devices
 * …), which Electron would otherwise grant to any page that asks. The main process applies these;
 * it must never loosen them per window or per session.
 */
import type { Session, WebPreferences } from 'electron';

export function secureWebPreferences(preloadPath?: string): WebPreferences {
  return {
    ...(preloadPath === undefined ? {} : { preload: preloadPath }),
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    spellcheck: false,
  };
}

/** What `denyPermissions` sets on a session: Electron's Session, narrowed so that a test can stand in for it. */
export type PermissionHandlers = Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler' | 'setDevicePermissionHandler'>;

/**
 * Refuses every permission request and check of the session's pages, and every device: the app's
 * pages need none, and without these handlers Electron grants whatever a page asks for.
 */
export function denyPermissions(session: PermissionHandlers): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler(() => false);
}

/**
 * May a window showing `appUrl` navigate to `target`? Only within the app's own origin and
 * scheme; `file:` pages may not move to another file path (a file URL's origin is opaque).
 */
export function isAllowedNavigation(appUrl: string, target: string): boolean {
  let app: URL;
  let next: URL;
  try {
    app = new URL(appUrl);
    next = new URL(target);
  } catch {
    return false;
  }
  if (app.protocol === 'file:') return next.protocol === 'file:' && next.pathname === app.pathname;
  return next.protocol === app.protocol && next.host === app.host;
}
