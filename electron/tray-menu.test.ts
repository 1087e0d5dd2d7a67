import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AgentStatus, FolderStatus } from '../shared/agent-api.js';
import { signInMenu, statusLines as statusLinesMarked, trayMenu as trayMenuMarked, trayTooltip as trayTooltipMarked, type TrayItem } from './tray-menu.js';

/** The text as it reads: without the isolate marks around names, which show nothing ('isolates names' checks them). */
const unmark = (s: string): string => s.replace(/[\u2066\u2069]/g, '');
const statusLines = (...args: Parameters<typeof statusLinesMarked>): string[] => statusLinesMarked(...args).map(unmark);
const trayMenu = (...args: Parameters<typeof trayMenuMarked>): TrayItem[] => trayMenuMarked(...args).map((i) => (i.type === 'item' ? { ...i, label: unmark(i.label) } : i));
const trayTooltip = (...args: Parameters<typeof trayTooltipMarked>): string => unmark(trayTooltipMarked(...args));

function folder(over: Partial<FolderStatus> = {}): FolderStatus {
  return { root: '/home/alice', layer: 'user/alice', state: 'idle', conflicts: [], files: 10, syncedPasses: 1, passes: 1, lastSyncedPass: 1, lastSync: '2026-12-05T10:00:00Z', ...over };
}

function status(over: Partial<AgentStatus> = {}, folders = [folder()]): AgentStatus {
  return { deviceId: 'pc1', paused: false, state: 'idle', folders, lastSync: '2026-12-05T10:00:00Z', ...over };
}

const actions = (items: TrayItem[]): string[] => items.flatMap((i) => (i.type === 'item' && i.action ? [`${i.action}${i.enabled ? '' : ' (disabled)'}`] : []));

describe('tray menu', () => {
  it('offers Pause and Sync now while syncing, Resume alone while paused', () => {
    assert.deepEqual(actions(trayMenu(status())), ['open', 'pause', 'syncNow', 'quit']);
    assert.deepEqual(actions(trayMenu(status({ paused: true, state: 'paused' }, [folder({ state: 'paused' })]))), ['open', 'resume', 'syncNow (disabled)', 'quit']);
  });

  it('says a pass still stopping after a pause as pausing, never as syncing on, while Resume is offered', () => {
    // Agent.pause marks the agent paused at once, then waits for the running pass to stop: statuses pushed meanwhile say both.
    const stopping = status({ paused: true, state: 'uploading' }, [folder({ state: 'uploading', progress: { files: 3, filesTotal: 8, bytes: 1024, bytesTotal: 8192, rate: 512 } })]);
    assert.equal(statusLines(stopping)[0], 'Pausing');
    assert.equal(trayTooltip(stopping), 'Strata — Pausing');
    assert.deepEqual(actions(trayMenu(stopping)), ['open', 'resume', 'syncNow (disabled)', 'quit']);
  });

  it('before the agent answers, offers only Open and Quit', () => {
    assert.deepEqual(actions(trayMenu(undefined)), ['open', 'pause (disabled)', 'syncNow (disabled)', 'quit']);
    assert.equal(trayTooltip(undefined), 'Strata — Starting…');
  });

  it('says what waits for the user: a held mass delete, conflicts, an error; and progress while busy', () => {
    const busy = status({ state: 'uploading' }, [
      folder({ state: 'uploading', progress: { files: 3, filesTotal: 8, bytes: 1024, bytesTotal: 8192, rate: 0 }, conflicts: [{ path: 'a.txt', copy: 'a.sync-conflict-20261205-100000-pc2.txt', device: 'pc2' }] }),
      folder({ root: '/home/alice/Music', pendingDeletes: { files: 20, of: 25, direction: 'remote' } }),
      folder({ root: '/home/alice/Videos', state: 'offline', error: { code: 'E_TRANSIENT', message: 'the bucket did not answer' } }),
    ]);
    assert.deepEqual(statusLines(busy), [
      'Uploading',
      '3 of 8 files, 1.0 KiB of 8.0 KiB',
      'Offline: the bucket did not answer',
      'Waiting for you: 20 files deleted',
      '1 conflict to resolve',
    ]);
    assert.equal(trayTooltip(status()), 'Strata — In sync');
    const first = trayMenu(busy)[0];
    assert.ok(first?.type === 'item' && !first.enabled && first.action === undefined, 'status lines are not clickable');
  });

  it('says a warning under a state that stays in sync: the folder syncs on', () => {
    const warning = { code: 'E_WATCH_LIMIT', message: 'not watched; raise fs.inotify.max_user_watches', path: '/home/alice/src' };
    const warned = status({}, [folder({ warning })]);
    assert.deepEqual(statusLines(warned), ['In sync', 'Warning in /home/alice: not watched; raise fs.inotify.max_user_watches (/home/alice/src)']);
    assert.equal(trayTooltip(warned), 'Strata — In sync');
  });

  it('says an answer the user gave to a held mass delete, which no pass has carried out yet, instead of waiting for one', () => {
    const held = (answer: 'confirm' | 'restore', paused = false) =>
      status(paused ? { paused, state: 'paused' } : {}, [folder({ state: paused ? 'paused' : 'idle', pendingDeletes: { files: 20, of: 25, direction: 'local', answer } })]);
    assert.deepEqual(statusLines(held('confirm')), ['About to delete 20 files', 'Confirmed: deleting 20 files on the next pass']);
    assert.deepEqual(statusLines(held('restore')), ['About to put 20 files back', 'Restore chosen: putting 20 files back on the next pass']);
    assert.equal(trayTooltip(held('confirm')), 'Strata — About to delete 20 files');
    assert.deepEqual(statusLines(held('confirm', true)), ['Paused', 'Confirmed: deleting 20 files when sync resumes']);
  });

  it('says an answer that found nothing held any more, and why', () => {
    const lines = statusLines(status({}, [folder({ notCarried: { answer: 'restore', why: 'the files are already back' } })]));
    assert.deepEqual(lines, ['In sync', 'In /home/alice, the restore could not be carried out: the files are already back']);
  });

  it('says first what waits for the user, then a pass that works, then the answers given', () => {
    const confirmed = folder({ pendingDeletes: { files: 20, of: 25, direction: 'local', answer: 'confirm' } });
    const waiting = folder({ root: '/home/alice/Music', pendingDeletes: { files: 12, of: 20, direction: 'remote' } });
    assert.equal(statusLines(status({}, [confirmed, waiting]))[0], 'Waiting for you');
    assert.equal(statusLines(status({ state: 'downloading' }, [folder({ ...confirmed, state: 'downloading' })]))[0], 'Downloading');
    const restored = folder({ root: '/home/alice/Music', pendingDeletes: { files: 12, of: 20, direction: 'remote', answer: 'restore' } });
    assert.equal(statusLines(status({}, [restored, confirmed]))[0], 'About to delete 20 files', 'deletes are said before files put back');
  });

  it("says where an error is: the folder, and the file or the bucket's object", () => {
    const failed = status({ state: 'error' }, [
      folder(),
      folder({ root: '/home/alice/Work', state: 'error', error: { code: 'E_AUTH', message: 'access denied', key: 'heads/user/alice/pc1' } }),
      folder({ root: '/home/alice/Music', state: 'error', error: { code: 'E_IO', message: 'permission denied', path: 'song.ogg' } }),
    ]);
    assert.deepEqual(statusLines(failed).slice(1), ['Error in /home/alice/Work: access denied (heads/user/alice/pc1)', 'Error in /home/alice/Music: permission denied (song.ogg)']);
  });

  it('says an error that stands from the last pass, while paused or while a pass runs again, as the last pass failing, not as the state', () => {
    const error = { code: 'E_AUTH', message: 'access denied', key: 'heads/user/alice/pc1' };
    const paused = status({ paused: true, state: 'paused' }, [folder({ root: '/home/alice/Work', state: 'paused', error })]);
    assert.deepEqual(statusLines(paused), ['Paused', 'Last pass failed in /home/alice/Work: access denied (heads/user/alice/pc1)']);
    const again = status({ state: 'scanning' }, [folder({ root: '/home/alice/Work', state: 'scanning', error: { code: 'E_TRANSIENT', message: 'the bucket did not answer' } })]);
    assert.deepEqual(statusLines(again), ['Scanning', 'Last pass failed in /home/alice/Work: the bucket did not answer']);
  });

  it('says settings that are not synced in the menu and the tooltip: why none sync, or how many keys; not those that no longer stand', () => {
    const locked = { key: '/org/app/locked', message: 'locked on this machine by its administrator', locked: true as const, standing: true };
    const refused = { key: '/org/app/size', message: 'not applied: bad value', standing: true };
    const earlier = { key: '/org/app/old', message: "dconf refused the layer's value (x); the file gets this machine's value back", standing: false };
    const keys = status({ settings: { store: 'dconf', problems: [locked, refused, earlier] } });
    assert.deepEqual(statusLines(keys), ['In sync', '2 settings not synced']);
    assert.equal(trayTooltip(keys), 'Strata — In sync; 2 settings not synced');
    const one = status({ settings: { store: 'dconf', problems: [locked, earlier] } });
    assert.deepEqual(statusLines(one), ['In sync', '1 setting not synced']);
    const down = status({ settings: { store: 'dconf', error: { code: 'E_SETTINGS', message: 'dconf is not running' }, problems: [locked] } });
    assert.deepEqual(statusLines(down), ['In sync', 'Settings not synced: dconf is not running']);
    assert.equal(trayTooltip(down), 'Strata — In sync; settings not synced');
    const news = status({ settings: { store: 'dconf', problems: [earlier] } });
    assert.deepEqual(statusLines(news), ['In sync']);
    assert.equal(trayTooltip(news), 'Strata — In sync');
    assert.deepEqual(trayMenu(keys)[1], { type: 'item', label: '2 settings not synced', enabled: false });
  });

  it('while nobody is signed in, says where the sign-in stands and offers Open and Quit only', () => {
    const defaults = { org: '', user: 'dana' };
    const lines = (items: TrayItem[]): string[] => items.flatMap((i) => (i.type === 'item' && !i.action ? [i.label] : []));
    assert.deepEqual(actions(signInMenu({ step: 'form', defaults })), ['open', 'quit']);
    assert.deepEqual(lines(signInMenu({ step: 'form', defaults })), ['Not signed in']);
    assert.deepEqual(lines(signInMenu({ step: 'keychain', defaults })), ['Not signed in: no keychain']);
    assert.deepEqual(lines(signInMenu({ step: 'checking', defaults })), ['Signing in…']);
    assert.deepEqual(lines(signInMenu({ step: 'laying', defaults, progress: { filesDone: 3, files: 40, bytesDone: 1, bytes: 2, ready: false } })), ['Laying your files: 3 of 40']);
    assert.deepEqual(lines(signInMenu({ step: 'starting', defaults })), ['Starting sync…']);
  });

  it('offers Start at login as a checkbox when the app can set it', () => {
    const item = (on: boolean) => trayMenu(status(), on).find((i) => i.type === 'item' && i.action === 'autostart');
    assert.deepEqual(item(false), { type: 'item', label: 'Start at login', action: 'autostart', enabled: true, checked: false });
    assert.deepEqual(item(true), { type: 'item', label: 'Start at login', action: 'autostart', enabled: true, checked: true });
    assert.deepEqual(actions(trayMenu(status(), true)), ['open', 'pause', 'syncNow', 'autostart', 'quit']);
  });

  it('shows what would be invisible in a folder or a file name: a newline, a tab, spaces at its ends', () => {
    const lines = statusLines(status({}, [folder({ root: '/home/alice\n', state: 'error', error: { code: 'E_IO', message: 'denied', path: 'a\tb ' }, warning: { code: 'E_WATCH_LIMIT', message: 'not watched' } })]));
    assert.ok(lines.includes('Error in /home/alice\\n: denied (a\\tb␣)'), lines.join(' | '));
    assert.ok(lines.includes('Warning in /home/alice\\n: not watched'), lines.join(' | '));
  });

  it('isolates names: a folder or a file name with a right-to-left override (U+202E) reorders only itself, never the words around it', () => {
    const f = folder({ root: '/home/\u202Ealice', state: 'error', error: { code: 'E_IO', message: 'denied', path: 'a\u202Eb' }, notCarried: { answer: 'restore', why: 'the files are already back' } });
    const lines = statusLinesMarked(status({}, [f]));
    assert.ok(lines.includes('Error in \u2066/home/\u202Ealice\u2069: denied (\u2066a\u202Eb\u2069)'), lines.join(' | '));
    assert.ok(lines.includes('In \u2066/home/\u202Ealice\u2069, the restore could not be carried out: the files are already back'), lines.join(' | '));
  });
});
