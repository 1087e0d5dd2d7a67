// strata status, pause, resume, sync-now, ui, conflicts, resolve and deletes through the CLI's run(), against a real control
// endpoint on loopback serving a fake agent; and the one-line failure when no agent runs.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { AgentStatus, Progress } from '../../../shared/agent-api.js';
import { StrataError } from '../../errors.js';
import { CONTROL_FILE, connectControl, serveControl, type ControlServer } from '../../control/index.js';
import { FakeAgent, folderStatus } from '../../control/testkit.js';
import { run } from '../run.js';
import { pauseAgent } from './pause.js';
import { statusLines, syncFailed } from './status.js';

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function strata(...argv: string[]): Promise<Ran> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    stdout: (s) => (stdout += s),
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    env: {},
  });
  return { code, stdout, stderr };
}

function failedWith(r: Ran, code: string): void {
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, '');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0] as string, new RegExp(`^strata: ${code} `));
}

const DOCS = folderStatus('/home/alice/Documents', {
  state: 'uploading',
  progress: { files: 3, filesTotal: 10, bytes: 1024, bytesTotal: 5120, rate: 2048, etaSeconds: 2 },
  lastSync: '2024-05-01T10:00:00.123Z',
  files: 10,
});
const WORK = folderStatus('/home/alice/Work', {
  layer: 'user/alice-work',
  state: 'error',
  error: { code: 'E_AUTH', message: 'access denied', key: 'heads/user/alice-work' },
  pendingDeletes: { files: 40, of: 50, direction: 'local' },
  conflicts: [{ path: 'a.txt', copy: 'a.sync-conflict-20240501-100000-other.txt', device: 'other' }],
});

describe('strata status, pause, resume, sync-now', () => {
  let tmp: string;
  let stateDir: string;
  let agent: FakeAgent;
  let server: ControlServer;

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'strata-cli-agent-'));
  });
  after(() => rm(tmp, { recursive: true, force: true }));
  beforeEach(async (t) => {
    stateDir = join(tmp, t.name.replace(/\W+/g, '-'));
    agent = new FakeAgent([structuredClone(DOCS), structuredClone(WORK)]);
    agent.update({ lastSync: '2024-05-01T09:00:00Z' });
    server = await serveControl(agent, { stateDir });
  });
  afterEach(() => server.close());

  it('status prints the overall state and one line per folder', async () => {
    const r = await strata('status', '--state-dir', stateDir);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'agent: error, deletes waiting (strata deletes), device test-device, last sync 2024-05-01T09:00:00Z');
    assert.match(lines[1] as string, /^ROOT +LAYER +STATE +PROGRESS +LAST SYNC +CONFLICTS +PENDING DELETES$/);
    assert.match(lines[2] as string, /^\/home\/alice\/Documents +user\/alice +uploading +3 of 10 files, 1\.0 KiB of 5\.0 KiB, 2\.0 KiB\/s, 2 s left +2024-05-01T10:00:00Z +0 +-$/);
    assert.match(lines[3] as string, /^\/home\/alice\/Work +user\/alice-work +error +- +- +1 +40 of 50 files \(local\), waiting$/);
    assert.equal(lines[4], '/home/alice/Work: E_AUTH heads/user/alice-work: access denied');
    assert.equal(lines.length, 5);
    assert.deepEqual(agent.calls, [{ command: 'status', arg: {} }]);
  });

  it('status prints a path of several KB shortened in the middle, its start and its end kept; --json carries it whole', async () => {
    const deep = `/home/alice/Work/${Array.from({ length: 40 }, (_, i) => `level-${i}-${'d'.repeat(90)}`).join('/')}/end.txt`;
    agent.update({ folders: [folderStatus('/home/alice/Work', { warning: { code: 'E_PATH_TOO_LONG', message: 'its path is longer than this system allows', path: deep } })] });
    const r = await strata('status', '--state-dir', stateDir);
    assert.equal(r.code, 0, r.stderr);
    const line = r.stdout.trimEnd().split('\n').at(-1)!;
    assert.ok(line.length < 300, line);
    assert.match(line, /^\/home\/alice\/Work: warning: E_PATH_TOO_LONG \/home\/alice\/Work\/level-0-d+…-?d+\/end\.txt: its path is longer than this system allows$/);
    const json = await strata('status', '--json', '--state-dir', stateDir);
    assert.equal((JSON.parse(json.stdout) as AgentStatus).folders[0]!.warning?.path, deep);
  });

  it('status --json prints the status the agent answered', async () => {
    const r = await strata('status', '--json', '--state-dir', stateDir);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), agent.status);
  });

  it("status prints the settings mirror's problems, one line each, escaped as a folder's error is; --json carries them", async () => {
    const settings = {
      store: 'dconf',
      error: { code: 'E_SETTINGS', message: 'dconf load / failed: no bus' },
      problems: [
        { key: '/org/app/locked', message: 'locked on this machine by its administrator', locked: true as const, standing: true },
        { key: '/org/app/\x1b[2Jevil\nkey', message: 'not synced: a\nb', standing: true },
        { key: '/org/app/size', message: "dconf refused the layer's value (bad); the file gets this machine's value back", standing: false },
      ],
    };
    agent.update({ settings });
    const r = await strata('status', '--state-dir', stateDir);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trimEnd().split('\n').slice(5), [
      'settings (dconf): E_SETTINGS dconf load / failed: no bus; files sync on',
      'setting /org/app/locked: locked on this machine by its administrator',
      'setting /org/app/\\x1b[2Jevil\\nkey: not synced: a\\nb',
      "earlier, setting /org/app/size: dconf refused the layer's value (bad); the file gets this machine's value back",
    ]);
    assert.deepEqual((JSON.parse((await strata('status', '--json', '--state-dir', stateDir)).stdout) as AgentStatus).settings, settings);
    agent.update({ folders: [], settings: { store: 'dconf', problems: [] } });
    assert.deepEqual((await strata('status', '--state-dir', stateDir)).stdout.trimEnd().split('\n').slice(1), ['no folders'], 'no settings line while settings sync');
    agent.update({ settings: { store: 'dconf', problems: settings.problems } });
    assert.equal((await strata('status', '--state-dir', stateDir)).stdout.trimEnd().split('\n').length, 5, 'settings problems are shown without folders too');
  });

  it('pause and resume change the agent and show the status after', async () => {
    const paused = await strata('pause', '--state-dir', stateDir);
    assert.equal(paused.code, 0, paused.stderr);
    assert.equal(agent.status.paused, true);
    assert.deepEqual(paused.stdout.split('\n').slice(0, 2), ['sync paused', 'agent: error, paused, deletes waiting (strata deletes), device test-device, last sync 2024-05-01T09:00:00Z']);
    const again = await strata('pause', '--json', '--state-dir', stateDir);
    assert.equal(again.code, 0, 'pausing a paused agent is no error');
    assert.equal((JSON.parse(again.stdout) as AgentStatus).paused, true);
    const resumed = await strata('resume', '--json', '--state-dir', stateDir);
    assert.equal((JSON.parse(resumed.stdout) as AgentStatus).paused, false);
    assert.equal(agent.status.paused, false);
    assert.deepEqual(agent.calls.map((c) => c.command), ['pause', 'pause', 'resume']);
  });

  it('a pause whose running pass is slow to stop answers paused, the pass stopping, not E_AGENT_TIMEOUT', async () => {
    let release = (): void => undefined;
    agent.hold = new Promise<void>((resolve) => (release = resolve));
    agent.holdCommand = 'pause';
    try {
      const r = await pauseAgent(await connectControl(stateDir, { timeoutMs: 200 }));
      assert.equal(r.status.paused, true);
      assert.equal(r.stopping, true);
      assert.equal(agent.status.paused, true);
    } finally {
      release();
    }
  });

  it("ui prints the address of the agent's UI, with the token in its fragment", async () => {
    const r = await strata('ui', '--state-dir', stateDir);
    assert.equal(r.code, 0, r.stderr);
    const url = new URL(r.stdout.trim());
    assert.equal(url.origin, server.url);
    assert.equal(url.pathname, '/');
    assert.equal(new URLSearchParams(url.hash.slice(1)).get('token'), server.token);
  });

  it('conflicts lists each folder\'s conflicts; resolve ends one, found by its copy', async () => {
    const listed = await strata('conflicts', '--state-dir', stateDir);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^\/home\/alice\/Work: a\.txt\n(?:.*\n){2} {2}copy +a\.sync-conflict-20240501-100000-other\.txt +not scanned yet +- +other\n/);
    const usage = await strata('resolve', 'a.sync-conflict-20240501-100000-other.txt', '--keep', 'all', '--state-dir', stateDir);
    assert.equal(usage.code, 2, usage.stderr);
    assert.match(usage.stderr, /^strata: E_USAGE --keep must be "name", "copy" or "both", got "all"/);
    assert.equal((await strata('resolve', '--keep', 'name', '--state-dir', stateDir)).code, 2, 'no copy and no --all');
    const none = await strata('resolve', 'b.sync-conflict-20240501-100000-other.txt', '--keep', 'name', '--state-dir', stateDir);
    assert.equal(none.code, 2, 'a path here, outside the folders, listed by none of them');
    assert.match(none.stderr, /^strata: E_USAGE .*b\.sync-conflict-20240501-100000-other\.txt is outside every folder/);
    const r = await strata('resolve', 'a.sync-conflict-20240501-100000-other.txt', '--keep', 'copy', '--state-dir', stateDir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'kept the version from a.sync-conflict-20240501-100000-other.txt as a.txt\n');
    assert.deepEqual(agent.calls.at(-1), { command: 'resolveConflict', arg: { root: '/home/alice/Work', copy: 'a.sync-conflict-20240501-100000-other.txt', keep: 'copy' } });
    assert.equal((await strata('conflicts', '--state-dir', stateDir)).stdout, 'no conflicts\n');
  });

  it('resolve --keep both says where the copy went; --all ends every conflict of a folder, says each one left, and fails', async () => {
    const conflict = (name: string) => ({ path: `${name}.txt`, copy: `${name}.sync-conflict-20240501-100000-other.txt`, device: 'other' });
    agent.update({ folders: [folderStatus('/home/alice/Work', { conflicts: [conflict('a'), conflict('b'), conflict('c')] }), folderStatus('/home/alice/Documents')] });
    const one = await strata('resolve', 'a.sync-conflict-20240501-100000-other.txt', '--keep', 'both', '--state-dir', stateDir);
    assert.deepEqual([one.code, one.stdout, one.stderr], [0, 'kept both: a.txt, and the other version as a.txt (kept)\n', '']);
    assert.deepEqual(agent.calls.at(-1), { command: 'resolveConflict', arg: { root: '/home/alice/Work', copy: 'a.sync-conflict-20240501-100000-other.txt', keep: 'both' } });
    const all = await strata('resolve', '--all', '--keep', 'name', '--state-dir', stateDir);
    assert.deepEqual([all.code, all.stdout, all.stderr], [0, '/home/alice/Work: kept the version with the name of 2 conflicts\n', '']);
    assert.deepEqual(agent.calls.at(-1), { command: 'resolveConflicts', arg: { root: '/home/alice/Work', keep: 'name' } });
    assert.equal((await strata('resolve', '--all', '--keep', 'name', '--state-dir', stateDir)).stdout, 'no conflicts\n');
    const outside = await strata('resolve', '--all', join(tmp, 'elsewhere'), '--keep', 'copy', '--state-dir', stateDir);
    assert.equal(outside.code, 2);
    assert.match(outside.stderr, /is not a folder the agent syncs/);
    agent.update({ folders: [folderStatus('/home/alice/Work', { conflicts: [conflict('d')] }), folderStatus('/home/alice/Documents', { conflicts: [conflict('e')] })] });
    const which = await strata('resolve', '--all', '--keep', 'copy', '--state-dir', stateDir);
    assert.equal(which.code, 2);
    assert.match(which.stderr, /^strata: E_USAGE 2 folders list conflicts; name one: \/home\/alice\/Work, \/home\/alice\/Documents/);
    // One the agent could not end, besides those it did.
    const real = agent.call.bind(agent);
    agent.call = (async (command: never, arg: never) => {
      const r = (await real(command, arg)) as { failed: unknown[] };
      if (command === 'resolveConflicts') r.failed.push({ copy: 'x.sync-conflict-20240501-100000-other.txt', error: { code: 'E_VERSION_GONE', message: 'the conflict copy is no longer on the disk', path: 'x.sync-conflict-20240501-100000-other.txt' } });
      return r;
    }) as typeof agent.call;
    const left = await strata('resolve', '--all', '/home/alice/Documents', '--keep', 'both', '--state-dir', stateDir);
    assert.equal(left.code, 1);
    assert.equal(left.stdout, 'kept both: e.txt, and the other version as e.txt (kept)\n');
    assert.equal(
      left.stderr,
      'strata: warning: E_VERSION_GONE x.sync-conflict-20240501-100000-other.txt: the conflict copy is no longer on the disk\nstrata: E_NOT_RESOLVED /home/alice/Documents: 1 of 2 conflicts were left as they were (each said above)\n',
    );
  });

  it('conflicts shows both versions of each conflict as the UI does: when each was modified, its size, the device it came from; --json carries them', async () => {
    const copy = 'a.sync-conflict-20240501-100000-other.txt';
    const mine = 'notes/b.sync-conflict-20240502-080000-test-device.md';
    agent.update({
      folders: [
        folderStatus('/home/alice/Work', {
          conflicts: [
            { path: 'a.txt', copy, device: 'other', versions: { name: { kind: 'file', size: 1536, mtime: '2024-05-01T09:58:12.345Z' }, copy: { kind: 'file', size: 20, mtime: '2024-05-01T10:00:00.000Z' } } },
            { path: 'notes/b.md', copy: mine, device: 'test-device', versions: { name: { kind: 'symlink' }, copy: { kind: 'file', size: 0 } } },
            { path: 'c', copy: 'c.sync-conflict-20240503-090000-other', device: 'other', versions: { copy: { kind: 'dir', mtime: '2024-05-03T09:00:00.000Z' } } },
          ],
        }),
        folderStatus('/home/alice/Documents', { conflicts: [{ path: 'd.txt', copy: 'd.sync-conflict-20240504-100000-other.txt', device: 'other' }] }),
      ],
    });
    const r = await strata('conflicts', '--state-dir', stateDir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        '/home/alice/Work: a.txt',
        '  KEEP  FILE                                       MODIFIED              SIZE     FROM',
        `  name  a.txt                                      2024-05-01T09:58:12Z  1.5 KiB  not recorded`,
        `  copy  ${copy}  2024-05-01T10:00:00Z  20 B     other`,
        '',
        '/home/alice/Work: notes/b.md',
        '  KEEP  FILE                                                  MODIFIED  SIZE  FROM',
        '  name  notes/b.md                                            unknown   link  not recorded',
        `  copy  ${mine}  unknown   0 B   test-device (this device)`,
        '',
        '/home/alice/Work: c',
        '  KEEP  FILE                                   MODIFIED              SIZE    FROM',
        '  name  c                                      not on the disk       -       not recorded',
        '  copy  c.sync-conflict-20240503-090000-other  2024-05-03T09:00:00Z  folder  other',
        '',
        '/home/alice/Documents: d.txt',
        '  KEEP  FILE                                       MODIFIED         SIZE  FROM',
        '  name  d.txt                                      not scanned yet  -     not recorded',
        '  copy  d.sync-conflict-20240504-100000-other.txt  not scanned yet  -     other',
        '',
        "end one with strata resolve <copy> --keep name|copy|both, or all of a folder's with strata resolve --all <folder> --keep …",
        '',
      ].join('\n'),
    );
    const json = await strata('conflicts', '--json', '--state-dir', stateDir);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), agent.status.folders.map((f) => ({ root: f.root, conflicts: f.conflicts })));
    assert.deepEqual((JSON.parse(json.stdout) as { conflicts: { versions: unknown }[] }[])[0]!.conflicts[0]!.versions, agent.status.folders[0]!.conflicts[0]!.versions);
  });

  it('resolve takes the copy by an absolute path or one relative to the working directory, through symlinks, and refuses one outside the folders', async () => {
    const real = join(tmp, 'real-docs');
    const link = join(tmp, 'link-docs');
    await mkdir(join(real, 'notes'), { recursive: true });
    await symlink(real, link);
    const copy = 'notes/r.sync-conflict-20240501-100000-other.txt';
    await writeFile(join(real, copy), 'other');
    const conflict = { path: 'notes/r.txt', copy, device: 'other' };
    const resolved = { command: 'resolveConflict', arg: { root: link, copy, keep: 'name' } };
    const cwd = process.cwd();
    try {
      for (const [root, given, where] of [
        [link, join(real, copy), real],
        [real, join(link, copy), cwd],
        [link, copy, real],
        [link, 'r.sync-conflict-20240501-100000-other.txt', join(link, 'notes')],
        [real, join('..', '..', 'link-docs', copy), join(real, 'notes')],
      ] as const) {
        agent.update({ folders: [folderStatus(root, { conflicts: [conflict] })] });
        process.chdir(where);
        const r = await strata('resolve', given, '--keep', 'name', '--state-dir', stateDir);
        assert.equal(r.code, 0, `${given} from ${where}: ${r.stderr}`);
        assert.deepEqual(agent.calls.at(-1), { ...resolved, arg: { ...resolved.arg, root } }, `${given} from ${where}`);
      }
      failedWith(await strata('resolve', join(real, 'notes', 'r.txt'), '--keep', 'name', '--state-dir', stateDir), 'E_NO_CONFLICT');
      process.chdir(tmp);
      const outside = await strata('resolve', join(tmp, 'r.sync-conflict-20240501-100000-other.txt'), '--keep', 'name', '--state-dir', stateDir);
      assert.equal(outside.code, 2, outside.stderr);
      assert.match(outside.stderr, /^strata: E_USAGE [^\n]*r\.sync-conflict-20240501-100000-other\.txt[^\n]* outside [^\n]*real-docs/);
      assert.equal(outside.stderr.trimEnd().split('\n').length, 1, outside.stderr);
    } finally {
      process.chdir(cwd);
    }
  });

  it('deletes lists the held mass deletes; --restore or --confirm answers one, the folder named or the only one waiting', async () => {
    const listed = await strata('deletes', '--state-dir', stateDir);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(listed.stdout, '/home/alice/Work: 40 of 50 files deleted on this machine, waiting\n  answer with strata deletes [<folder>] --confirm or --restore\n');
    assert.equal((await strata('deletes', '--confirm', '--restore', '--state-dir', stateDir)).code, 2);
    failedWith(await strata('deletes', '/home/alice/Documents', '--restore', '--state-dir', stateDir), 'E_NOT_HELD');
    const unsynced = await strata('deletes', '/home/alice/Music', '--confirm', '--state-dir', stateDir);
    assert.equal(unsynced.code, 2, unsynced.stderr);
    assert.match(unsynced.stderr, /^strata: E_USAGE [^\n]*\/home\/alice\/Music is not a folder the agent syncs \([^\n]*\/home\/alice\/Work/);
    assert.equal(unsynced.stderr.trimEnd().split('\n').length, 1, unsynced.stderr);
    const r = await strata('deletes', '--restore', '--state-dir', stateDir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '/home/alice/Work: putting the 40 files back\n');
    assert.deepEqual(agent.calls.at(-1), { command: 'restoreDeletes', arg: { root: '/home/alice/Work' } });
    assert.equal((await strata('deletes', '--state-dir', stateDir)).stdout, 'no deletes waiting\n');
    failedWith(await strata('deletes', '--confirm', '--state-dir', stateDir), 'E_NOT_HELD');
  });

  it('deletes says an answer that found nothing held any more, and why', async () => {
    agent.update({ folders: [folderStatus('/home/alice/Work', { notCarried: { answer: 'restore', why: 'the files are already back' } })] });
    const listed = await strata('deletes', '--state-dir', stateDir);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(listed.stdout, '/home/alice/Work: the restore could not be carried out: the files are already back\nno deletes waiting\n');
    const json = JSON.parse((await strata('deletes', '--json', '--state-dir', stateDir)).stdout) as unknown;
    assert.deepEqual(json, [{ root: '/home/alice/Work', notCarried: { answer: 'restore', why: 'the files are already back' } }]);
  });

  it('deletes and status say an answer given that no pass has carried out yet, and ask for none', async () => {
    agent.update({ folders: [folderStatus('/home/alice/Work', { pendingDeletes: { files: 40, of: 50, direction: 'local', answer: 'confirm' } }), folderStatus('/home/alice/Music', { pendingDeletes: { files: 12, of: 20, direction: 'remote', answer: 'restore' } })] });
    const listed = await strata('deletes', '--state-dir', stateDir);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(
      listed.stdout,
      '/home/alice/Work: 40 of 50 files deleted on this machine, confirmed: deleting them on the next pass\n/home/alice/Music: 12 of 20 files deleted on another machine, restore chosen: putting them back on the next pass\n',
    );
    const json = JSON.parse((await strata('deletes', '--json', '--state-dir', stateDir)).stdout) as { pendingDeletes: { answer?: string } }[];
    assert.deepEqual(json.map((f) => f.pendingDeletes.answer), ['confirm', 'restore']);
    agent.update({ paused: true });
    assert.match((await strata('deletes', '--state-dir', stateDir)).stdout, /^\/home\/alice\/Work: .*, confirmed: deleting them when sync resumes$/m);
    const status = (await strata('status', '--state-dir', stateDir)).stdout;
    assert.match(status, /40 of 50 files \(local\), confirmed: deleting them when sync resumes$/m);
  });

  it('deletes finds the folder named through a symlink, and a folder the agent knows through one', async () => {
    const real = join(tmp, 'real-work');
    const link = join(tmp, 'link-work');
    await mkdir(real, { recursive: true });
    await symlink(real, link);
    const held = { files: 40, of: 50, direction: 'local' as const };
    agent.update({ folders: [folderStatus(real, { pendingDeletes: held })] });
    const r = await strata('deletes', link, '--restore', '--state-dir', stateDir);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(agent.calls.at(-1), { command: 'restoreDeletes', arg: { root: real } }, "the agent is asked with its own folder's path");
    agent.update({ folders: [folderStatus(link, { pendingDeletes: held })] });
    const c = await strata('deletes', real, '--confirm', '--state-dir', stateDir);
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual(agent.calls.at(-1), { command: 'confirmDeletes', arg: { root: link } });
  });

  it('deletes --confirm and --restore name the hold they read, and say so when the agent holds another by then', async () => {
    const held = { files: 40, of: 50, direction: 'local' as const, id: 'hold-a' };
    agent.update({ folders: [folderStatus('/home/alice/Work', { pendingDeletes: held })] });
    const r = await strata('deletes', '--confirm', '--state-dir', stateDir);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(agent.calls.at(-1), { command: 'confirmDeletes', arg: { root: '/home/alice/Work', id: 'hold-a' } });
    agent.update({ folders: [folderStatus('/home/alice/Work', { pendingDeletes: held })] });
    agent.failCommand = 'restoreDeletes';
    agent.failWith = new StrataError('E_HOLD_CHANGED', 'the held deletes changed since they were shown', { path: '/home/alice/Work' });
    try {
      failedWith(await strata('deletes', '--restore', '--state-dir', stateDir), 'E_HOLD_CHANGED');
      assert.deepEqual(agent.calls.at(-1), { command: 'restoreDeletes', arg: { root: '/home/alice/Work', id: 'hold-a' } });
    } finally {
      agent.failWith = undefined;
      agent.failCommand = undefined;
    }
  });

  it('sync-now asks the agent for a pass', async () => {
    const r = await strata('sync-now', '--state-dir', stateDir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split('\n')[0], 'sync requested');
    assert.deepEqual(agent.calls, [{ command: 'syncNow', arg: {} }]);
  });

  it('an agent error is one line with its code', async () => {
    agent.failWith = new Error('the agent broke');
    failedWith(await strata('status', '--state-dir', stateDir), 'E_AGENT_INTERNAL');
  });

  it("an agent's refusal is its own one line; bad usage exits 2, a conflict gone or anything else 1", async () => {
    const copy = 'a.sync-conflict-20240501-100000-other.txt';
    agent.failCommand = 'resolveConflict';
    agent.failWith = new StrataError('E_USAGE', 'a folder conflict is resolved by hand: move or delete one of the folders', { path: '/home/alice/Work/a.txt' });
    const usage = await strata('resolve', copy, '--keep', 'copy', '--state-dir', stateDir);
    assert.deepEqual([usage.code, usage.stdout, usage.stderr], [2, '', 'strata: E_USAGE /home/alice/Work/a.txt: a folder conflict is resolved by hand: move or delete one of the folders\n']);
    agent.failWith = new StrataError('E_CONFLICT_GONE', 'this conflict is no longer listed; nothing was changed', { path: copy });
    const gone = await strata('resolve', copy, '--keep', 'copy', '--state-dir', stateDir);
    assert.deepEqual([gone.code, gone.stdout, gone.stderr], [1, '', `strata: E_CONFLICT_GONE ${copy}: this conflict is no longer listed; nothing was changed\n`]);
    agent.failWith = new StrataError('E_VERSION_GONE', 'the conflict copy is no longer on the disk (deleted or moved since the last scan); nothing was changed', { path: copy });
    const missing = await strata('resolve', copy, '--keep', 'copy', '--state-dir', stateDir);
    assert.deepEqual([missing.code, missing.stdout, missing.stderr], [1, '', `strata: E_VERSION_GONE ${copy}: the conflict copy is no longer on the disk (deleted or moved since the last scan); nothing was changed\n`]);
  });

  it('fails with one line and exit 1 when no agent runs, or only a stale control.json is left', async () => {
    for (const command of ['status', 'pause', 'resume', 'sync-now', 'ui', 'conflicts']) {
      failedWith(await strata(command, '--state-dir', join(tmp, 'no-agent')), 'E_AGENT_NOT_RUNNING');
    }
    const stale = join(tmp, 'stale');
    await mkdir(stale, { mode: 0o700 });
    const port = Number(new URL(server.url).port);
    await server.close();
    await writeFile(join(stale, CONTROL_FILE), JSON.stringify({ url: `http://127.0.0.1:${port}`, token: 'x', pid: 2 ** 22 + 1 }), { mode: 0o600 });
    const r = await strata('status', '--state-dir', stale);
    failedWith(r, 'E_AGENT_NOT_RUNNING');
    assert.match(r.stderr, /stale/);
  });

  it('refuses an empty --state-dir as bad usage', async () => {
    const r = await strata('status', '--state-dir', '');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^strata: E_USAGE /);
  });
});

describe('status lines', () => {
  /** The PROGRESS cell of a folder's row, as `strata status` prints it. */
  const progressOf = (progress: Progress | undefined): string => {
    const lines = statusLines({ deviceId: 'd', paused: false, state: 'uploading', folders: [folderStatus('/r', { state: 'uploading', ...(progress && { progress }) })] });
    return (lines[2] as string).split(/ {2,}/)[3] as string;
  };

  it('show a paused agent without folders, and progress without rate or eta', () => {
    assert.deepEqual(statusLines({ deviceId: 'd', paused: true, state: 'paused', folders: [] }), ['agent: paused, device d, last sync never', 'no folders']);
    assert.equal(progressOf({ files: 0, filesTotal: 2, bytes: 0, bytesTotal: 100, rate: 0 }), '0 of 2 files, 0 B of 100 B');
    assert.equal(progressOf(undefined), '-');
    assert.equal(progressOf({ files: 3, filesTotal: 10, bytes: 0, bytesTotal: 100, rate: 0, counting: true }), '3 of 10+ files, 0 B of 100 B+, still counting');
  });

  it('say progress as the UI and the tray do (shared/status-text.ts), never "0 s left" at the end of a pass', () => {
    const at = (over: Partial<Progress>) => progressOf({ files: 1, filesTotal: 2, bytes: 1024, bytesTotal: 2048, rate: 512, ...over });
    assert.equal(at({ etaSeconds: 0 }), '1 of 2 files, 1.0 KiB of 2.0 KiB, 512 B/s', 'a time left of 0 is none');
    assert.equal(at({ etaSeconds: 185 }), '1 of 2 files, 1.0 KiB of 2.0 KiB, 512 B/s, 4 min left', 'a time left in the unit that reads best, rounded up');
    assert.equal(at({ etaSeconds: 0.4 }), '1 of 2 files, 1.0 KiB of 2.0 KiB, 512 B/s, 1 s left', 'a time left still running is never said as 0');
    assert.equal(at({ files: 0, filesTotal: 1 }), '0 of 1 file, 1.0 KiB of 2.0 KiB, 512 B/s');
    assert.equal(at({ counting: true, etaSeconds: 20 }), '1 of 2+ files, 1.0 KiB of 2.0 KiB+, 512 B/s, still counting', 'no time left for totals that only grow');
    assert.equal(progressOf({ files: 0, filesTotal: 0, bytes: 0, bytesTotal: 0, rate: 0, counting: true }), 'looking for changes');
  });

  it('say a held mass delete of one file as "1 file"', () => {
    const lines = statusLines({ deviceId: 'd', paused: false, state: 'idle', folders: [folderStatus('/r', { pendingDeletes: { files: 1, of: 1, direction: 'local' } })] });
    assert.match(lines[2] as string, / 1 of 1 file \(local\), waiting$/);
  });

  it("say a folder's error that stands from its last pass, while paused or while a pass runs again, as the last pass failing", () => {
    const error = { code: 'E_AUTH', message: 'access denied', key: 'heads/user/alice-work' };
    const lines = statusLines({ deviceId: 'd', paused: true, state: 'paused', folders: [folderStatus('/home/alice/Work', { state: 'paused', error })] });
    assert.equal(lines.at(-1), '/home/alice/Work: last pass failed: E_AUTH heads/user/alice-work: access denied');
    const failing = statusLines({ deviceId: 'd', paused: false, state: 'error', folders: [folderStatus('/home/alice/Work', { state: 'error', error })] });
    assert.equal(failing.at(-1), '/home/alice/Work: E_AUTH heads/user/alice-work: access denied');
  });

  it('say on the overall line that a held mass delete waits for the user, as the tray and the UI do, and not once it is answered', () => {
    const held = (answer?: 'confirm') => folderStatus('/home/alice/Work', { pendingDeletes: { files: 40, of: 50, direction: 'local', ...(answer ? { answer } : {}) } });
    const idle = { deviceId: 'd', paused: false, state: 'idle' as const, lastSync: '2024-05-01T09:00:00Z' };
    assert.equal(statusLines({ ...idle, folders: [held()] })[0], 'agent: idle, deletes waiting (strata deletes), device d, last sync 2024-05-01T09:00:00Z');
    assert.equal(statusLines({ ...idle, state: 'uploading', folders: [folderStatus('/home/alice/Documents', { state: 'uploading' }), held()] })[0], 'agent: uploading, deletes waiting (strata deletes), device d, last sync 2024-05-01T09:00:00Z');
    assert.equal(statusLines({ ...idle, folders: [held('confirm')] })[0], 'agent: idle, device d, last sync 2024-05-01T09:00:00Z');
  });

  it('say an answer to a held mass delete that found no hold any more, as the tray and the UI do', () => {
    const lines = statusLines(new FakeAgent([folderStatus('/home/alice/Work', { notCarried: { answer: 'restore', why: 'the files are already back' } })]).status);
    assert.equal(lines.at(-1), '/home/alice/Work: the restore could not be carried out: the files are already back');
  });

  it("say a folder's warning under the folders, while the agent syncs on", () => {
    const warning = { code: 'E_WATCH_LIMIT', message: 'not watched (raise fs.inotify.max_user_watches)', path: '/home/alice/Documents/src' };
    const lines = statusLines(new FakeAgent([folderStatus('/home/alice/Documents', { warning })]).status);
    assert.equal(lines[0], 'agent: idle, device test-device, last sync never');
    assert.equal(lines.at(-1), '/home/alice/Documents: warning: E_WATCH_LIMIT /home/alice/Documents/src: not watched (raise fs.inotify.max_user_watches)');
  });
});

// `strata sync` and `strata agent` ending on a folder in error fail with E_SYNC: the folder, then
// the folder's own error whole (its code, where, what), each said once.
it('a live sync that ended in error fails naming the folder and its error', () => {
  const status = new FakeAgent([structuredClone(DOCS), structuredClone(WORK)]).status;
  assert.equal(String(syncFailed(status)), 'E_SYNC /home/alice/Work: sync of this folder stopped: E_AUTH heads/user/alice-work: access denied');
  assert.equal(statusLines(status).at(-1), '/home/alice/Work: E_AUTH heads/user/alice-work: access denied');
});
