import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Session, WebContents } from 'electron';
import { denyPermissions, isAllowedNavigation, secureWebPreferences, type PermissionHandlers } from './security.js';

/** Keeps the handlers a session is given, as Electron would call them. */
class FakeSession implements PermissionHandlers {
  request: Parameters<Session['setPermissionRequestHandler']>[0] = null;
  check: Parameters<Session['setPermissionCheckHandler']>[0] = null;
  device: Parameters<Session['setDevicePermissionHandler']>[0] = null;
  setPermissionRequestHandler(handler: FakeSession['request']): void {
    this.request = handler;
  }
  setPermissionCheckHandler(handler: FakeSession['check']): void {
    this.check = handler;
  }
  setDevicePermissionHandler(handler: FakeSession['device']): void {
    this.device = handler;
  }
}

describe('electron security policy', () => {
  it('turns isolation and the sandbox on and Node off', () => {
    const prefs = secureWebPreferences('/app/preload.js');
    assert.equal(prefs.contextIsolation, true);
    assert.equal(prefs.sandbox, true);
    assert.equal(prefs.nodeIntegration, false);
    assert.equal(prefs.webviewTag, false);
    assert.equal(prefs.preload, '/app/preload.js');
  });

  it('allows navigation only inside the app', () => {
    assert.equal(isAllowedNavigation('http://127.0.0.1:8384/', 'http://127.0.0.1:8384/conflicts'), true);
    assert.equal(isAllowedNavigation('http://127.0.0.1:8384/', 'http://127.0.0.1:9999/'), false);
    assert.equal(isAllowedNavigation('http://127.0.0.1:8384/', 'https://evil.example/'), false);
    assert.equal(isAllowedNavigation('file:///app/index.html', 'file:///etc/passwd'), false);
    assert.equal(isAllowedNavigation('file:///app/index.html', 'file:///app/index.html#x'), true);
    assert.equal(isAllowedNavigation('http://127.0.0.1:8384/', 'not a url'), false);
  });

  it('refuses every permission a page asks for or checks, and every device', () => {
    const session = new FakeSession();
    denyPermissions(session);
    const { request, check, device } = session;
    assert.ok(request && check && device, 'a request, a check and a device handler are set');
    const contents = {} as WebContents;
    const url = 'http://127.0.0.1:8384/';
    for (const permission of ['media', 'display-capture', 'geolocation', 'notifications', 'clipboard-read', 'openExternal', 'fileSystem', 'hid', 'unknown'] as const) {
      const answers: boolean[] = [];
      request(contents, permission, (granted) => answers.push(granted), { requestingUrl: url, isMainFrame: true });
      assert.deepEqual(answers, [false], `request for ${permission}`);
      assert.equal(check(contents, permission, 'http://127.0.0.1:8384', { requestingUrl: url, isMainFrame: true, embeddingOrigin: url }), false, `check of ${permission}`);
    }
    assert.equal(device({ deviceType: 'usb', origin: 'http://127.0.0.1:8384', device: { deviceId: '1', vendorId: 1, productId: 1 } } as unknown as Parameters<NonNullable<FakeSession['device']>>[0]), false);
  });
});
