import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AgentStatus, ConflictInfo, FolderStatus } from '../shared/agent-api.js';
import { StrataError } from '../sync/errors.js';
import { notices as noticesMarked, notificationFor, settingsNotice as settingsNoticeMarked, type Notice } from './notices.js';

/** A notice as it reads: without the isolate marks around its names, which show nothing ('isolates names' checks them). */
const unmarked = (n: Notice): Notice => ({ title: unmark(n.title), body: unmark(n.body) });
const unmark = (s: string): string => s.replace(/[\u2066\u2069]/g, '');
const notices = (...args: Parameters<typeof noticesMarked>): Notice[] => noticesMarked(...args).map(unmarked);
const settingsNotice = (...args: Parameters<typeof settingsNoticeMarked>): Notice | undefined => {
  const n = settingsNoticeMarked(...args);
  return n && unmarked(n);
};

function folder(over: Partial<FolderStatus> = {}): FolderStatus {
  return { root: '/home/dana', layer: 'user/dana', state: 'idle', conflicts: [], files: 10, syncedPasses: 0, passes: 0, ...over };
}
function status(...folders: FolderStatus[]): AgentStatus {
  return { deviceId: 'pc1', paused: false, state: 'idle', folders };
}
const conflict = (n: number): ConflictInfo => ({ path: `notes${n}.txt`, copy: `notes${n}.sync-conflict-20261206-101500-laptop.txt`, device: 'laptop' });
const titles = (before: AgentStatus | undefined, after: AgentStatus): string[] => notices(before, after).map((n) => n.title);

describe('notices', () => {
  it('tells a held mass delete once, when it appears', () => {
    const held = status(folder({ pendingDeletes: { files: 20, of: 25, direction: 'local' } }));
    const got = notices(status(folder()), held);
    assert.equal(got.length, 1);
    assert.equal(got[0]?.title, 'Strata is holding back a deletion');
    assert.match(got[0]?.body ?? '', /20 of 25 files in \/home\/dana were deleted on this computer/);
    assert.deepEqual(notices(held, held), []);
    assert.deepEqual(notices(held, status(folder())), [], 'nothing is told of a state that ended');
  });

  it('tells a new conflict by name, several at once as one notice, and never one it told before', () => {
    assert.deepEqual(titles(status(folder()), status(folder({ conflicts: [conflict(1)] }))), ['Conflict: notes1.txt']);
    assert.match(notices(undefined, status(folder({ conflicts: [conflict(1)] })))[0]?.body ?? '', /on laptop\. Both versions are kept; the other one is notes1\.sync-conflict/);
    assert.deepEqual(titles(status(folder({ conflicts: [conflict(1)] })), status(folder({ conflicts: [conflict(1), conflict(2), conflict(3)] }))), ['2 conflicts in /home/dana']);
    assert.deepEqual(titles(status(folder({ conflicts: [conflict(1)] })), status(folder({ conflicts: [conflict(1)] }))), []);
  });

  it('tells an error when it appears or changes, and never offline', () => {
    const failed = (message: string) => status(folder({ state: 'error', error: { code: 'E_IO', message } }));
    assert.deepEqual(titles(status(folder()), failed('disk full')), ['Sync stopped in /home/dana']);
    assert.deepEqual(titles(failed('disk full'), failed('disk full')), []);
    assert.deepEqual(titles(failed('disk full'), failed('permission denied')), ['Sync stopped in /home/dana']);
    assert.deepEqual(titles(status(folder()), status(folder({ state: 'offline', error: { code: 'E_STORE_UNREACHABLE', message: 'no network' } }))), []);
  });

  it('tells an error once while it stands: not again when the pass that retries it, or a resume, ends in it once more', () => {
    const error = { code: 'E_AUTH', message: 'access denied', key: 'heads/user/dana/pc1' };
    const failed = status(folder({ state: 'error', error }));
    const retrying = status(folder({ state: 'scanning', error }));
    assert.deepEqual(titles(failed, retrying), []);
    assert.deepEqual(titles(retrying, failed), [], 'the retry failed as the pass before it: nothing new');
    assert.deepEqual(titles(status(folder({ state: 'paused', error })), failed), [], 'a resume gives back the error it had');
    assert.deepEqual(titles(status(folder({ state: 'scanning' })), failed), ['Sync stopped in /home/dana'], 'after a pass that ended, the error is new');
  });

  it('says where an error is, the file or the object in the bucket, and tells the same error at a new place again', () => {
    const failed = (where: { path?: string; key?: string }) => status(folder({ state: 'error', error: { code: 'E_IO', message: 'permission denied', ...where } }));
    assert.deepEqual(notices(status(folder()), failed({ path: 'Documents/locked.txt' })), [{ title: 'Sync stopped in /home/dana', body: 'permission denied (Documents/locked.txt)' }]);
    assert.deepEqual(notices(status(folder()), failed({ key: 'heads/user/dana/pc1' })), [{ title: 'Sync stopped in /home/dana', body: 'permission denied (heads/user/dana/pc1)' }]);
    assert.deepEqual(titles(failed({ path: 'Documents/locked.txt' }), failed({ path: 'Documents/other.txt' })), ['Sync stopped in /home/dana']);
  });

  it('at start, tells what already waits', () => {
    const waiting = status(folder({ conflicts: [conflict(1)], pendingDeletes: { files: 9, of: 10, direction: 'remote' } }));
    assert.deepEqual(titles(undefined, waiting), ['Strata is holding back a deletion', 'Conflict: notes1.txt']);
    assert.match(notices(undefined, waiting)[0]?.body ?? '', /deleted on another computer/);
    assert.deepEqual(notices(undefined, status(folder())), []);
  });

  it('tells a setting that is not synced, and settings that cannot sync, by what failed and where; not a settings run that went well', () => {
    assert.deepEqual(settingsNotice({ type: 'settings-problem', problem: { key: '/org/gnome/x/bad name', message: 'not synced: a name in it is not one the layer can hold' } }), {
      title: 'A setting is not synced',
      body: '/org/gnome/x/bad name: not synced: a name in it is not one the layer can hold',
    });
    assert.deepEqual(settingsNotice({ type: 'settings-failed', error: new StrataError('E_DCONF', 'dconf is not installed', { path: '/usr/bin/dconf' }) }), {
      title: 'Settings are not synced',
      body: 'E_DCONF /usr/bin/dconf: dconf is not installed. Files sync on.',
    });
    assert.equal(settingsNotice({ type: 'settings-synced', result: { changed: ['/a'], applied: ['/b'], conflicts: [], problems: [] } }), undefined);
  });

  it('on Linux, a name from the bucket shows as text in the notice, never as markup the notification server renders', () => {
    const evil: ConflictInfo = { path: '<a href="https://evil.example">Fix sync</a>.txt', copy: 'x.sync-conflict-20261206-101500-<b>laptop</b>.txt', device: '<img src="file:///etc/x.png"> & co' };
    const [notice] = notices(undefined, status(folder({ conflicts: [evil] })));
    assert.ok(notice);
    const shown = notificationFor(notice, 'linux');
    assert.equal(shown.title, notice.title, 'the summary is plain text to every server');
    assert.doesNotMatch(shown.body, /[<>]/);
    assert.equal(shown.body.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&'), notice.body);
    assert.match(shown.body, /on &lt;img src=&quot;file:\/\/\/etc\/x\.png&quot;&gt; &amp; co\./);
    assert.deepEqual(notificationFor(notice, 'darwin'), notice, 'macOS and Windows show the body as text already');
    assert.deepEqual(notificationFor(notice, 'win32'), notice);
  });

  it('shows what would be invisible in a name: a newline, a tab, or spaces at its ends or only', () => {
    const blank: ConflictInfo = { path: 'line1\nline2.txt', copy: '\t', device: ' ' };
    const [notice] = notices(undefined, status(folder({ root: '/home/dana ', conflicts: [blank], pendingDeletes: { files: 9, of: 10, direction: 'remote' } })));
    assert.match(notice?.body ?? '', /files in \/home\/dana␣ were deleted/);
    const [told] = notices(undefined, status(folder({ conflicts: [blank] })));
    assert.deepEqual(told, { title: 'Conflict: line1\\nline2.txt', body: 'It changed here and on ␣. Both versions are kept; the other one is \\t.' });
    assert.equal(settingsNotice({ type: 'settings-problem', problem: { key: '  ', message: 'locked' } })?.body, '␣␣: locked');
  });

  it('isolates names: a folder or a file name with a right-to-left override (U+202E) reorders only itself, never the words around it', () => {
    const evil: ConflictInfo = { path: 'report\u202Efdp.exe', copy: 'c\u202Eopy', device: 'lap\u202Etop' };
    const [held, told] = noticesMarked(undefined, status(folder({ root: '/home/\u202Edana', conflicts: [evil], pendingDeletes: { files: 9, of: 10, direction: 'remote' } })));
    assert.match(held?.body ?? '', /files in \u2066\/home\/\u202Edana\u2069 were deleted/);
    assert.deepEqual(told, { title: 'Conflict: \u2066report\u202Efdp.exe\u2069', body: 'It changed here and on \u2066lap\u202Etop\u2069. Both versions are kept; the other one is \u2066c\u202Eopy\u2069.' });
    const [stopped] = noticesMarked(undefined, status(folder({ root: '/w\u202E', state: 'error', error: { code: 'E_IO', message: 'denied', path: 'a\u202Eb' } })));
    assert.deepEqual(stopped, { title: 'Sync stopped in \u2066/w\u202E\u2069', body: 'denied (\u2066a\u202Eb\u2069)' });
    assert.equal(settingsNoticeMarked({ type: 'settings-problem', problem: { key: '/k\u202E', message: 'locked' } })?.body, '\u2066/k\u202E\u2069: locked');
  });
});
