import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONTENT_SECURITY_POLICY, isAllowedNavigation, secureWebPreferences } from './security.js';

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

  it('serves no inline scripts and no remote origins', () => {
    assert.match(CONTENT_SECURITY_POLICY, /default-src 'none'/);
    assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-inline|unsafe-eval|\*/);
  });
});
