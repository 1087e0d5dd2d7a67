import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COMMAND_NAMES, SYNC_STATES, isCommandName, overallState, parseCommand, type SyncState } from './agent-api.js';

describe('parseCommand', () => {
  it('accepts every command with its argument, and a missing argument for those that take none', () => {
    for (const name of COMMAND_NAMES) {
      const args: Record<string, object> = { confirmDeletes: { root: '/home/alice/Documents' }, restoreDeletes: { root: '/home/alice/Documents' }, resolveConflict: { root: '/home/alice/Documents', copy: 'a.sync-conflict-20260101-000000-pc.txt', keep: 'copy' }, resolveConflicts: { root: '/home/alice/Documents', keep: 'both' } };
      const arg = args[name] ?? {};
      assert.deepEqual(parseCommand(name, arg), { command: name, arg });
      if (args[name] === undefined) {
        assert.deepEqual(parseCommand(name, undefined), { command: name, arg: {} });
        assert.deepEqual(parseCommand(name, null), { command: name, arg: {} });
      }
    }
  });

  it('refuses unknown commands, including names every object inherits', () => {
    for (const name of ['format', '', 'Status', 'toString', 'constructor', '__proto__', 'hasOwnProperty', 7, null, undefined, {}]) {
      assert.equal(isCommandName(name), false, String(name));
      assert.throws(() => parseCommand(name, {}), /unknown command/, String(name));
    }
  });

  it('refuses an argument that is not a plain object', () => {
    for (const arg of [[], 'x', 1, true, [{ root: '/x' }]]) {
      assert.throws(() => parseCommand('pause', arg), /pause: the argument must be an object/, JSON.stringify(arg));
      assert.throws(() => parseCommand('confirmDeletes', arg), /must be an object/, JSON.stringify(arg));
    }
  });

  it('refuses extra fields, missing fields, wrong types and empty strings', () => {
    assert.throws(() => parseCommand('pause', { force: true }), /pause: unexpected field "force"/);
    assert.throws(() => parseCommand('confirmDeletes', {}), /confirmDeletes: field "root" must be a non-empty string/);
    assert.throws(() => parseCommand('confirmDeletes', { root: '' }), /non-empty string/);
    assert.throws(() => parseCommand('confirmDeletes', { root: 7 }), /non-empty string/);
    assert.throws(() => parseCommand('confirmDeletes', { root: ['/x'] }), /non-empty string/);
    assert.throws(() => parseCommand('confirmDeletes', { root: '/x', all: true }), /unexpected field "all"/);
    // JSON.parse makes "__proto__" an own field, which must count as unexpected rather than vanish.
    assert.throws(() => parseCommand('confirmDeletes', JSON.parse('{"root":"/x","__proto__":{"polluted":1}}')), /unexpected field "__proto__"/);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('takes an optional field when given or left out, and refuses it empty or of another type', () => {
    for (const name of ['confirmDeletes', 'restoreDeletes']) {
      assert.deepEqual(parseCommand(name, { root: '/x', id: 'abc' }), { command: name, arg: { root: '/x', id: 'abc' } });
      assert.deepEqual(parseCommand(name, { root: '/x' }), { command: name, arg: { root: '/x' } });
      assert.throws(() => parseCommand(name, { root: '/x', id: '' }), new RegExp(`${name}: field "id" must be a non-empty string`));
      assert.throws(() => parseCommand(name, { root: '/x', id: 7 }), /field "id" must be a non-empty string/);
      assert.throws(() => parseCommand(name, { id: 'abc' }), /field "root" must be a non-empty string/);
    }
  });
});

describe('parseCommand, a list', () => {
  it('takes a list of non-empty strings when given, or none, and refuses anything else', () => {
    const root = '/home/alice/Documents';
    for (const copies of [['a.sync-conflict-20260101-000000-pc.txt'], []]) assert.deepEqual(parseCommand('resolveConflicts', { root, keep: 'name', copies }), { command: 'resolveConflicts', arg: { root, keep: 'name', copies } });
    for (const copies of ['a.txt', [''], [7], [['a.txt']], { 0: 'a.txt' }, null]) {
      assert.throws(() => parseCommand('resolveConflicts', { root, keep: 'name', copies }), /resolveConflicts: field "copies" must be an array of non-empty strings/, JSON.stringify(copies));
    }
  });
});

describe('overallState', () => {
  it('is the most urgent folder state', () => {
    const cases: [SyncState[], boolean, SyncState][] = [
      [['idle', 'error', 'uploading'], false, 'error'],
      [['uploading', 'offline'], false, 'offline'],
      [['scanning', 'uploading', 'idle'], false, 'uploading'],
      [['uploading', 'downloading'], false, 'downloading'],
      [['idle', 'scanning'], false, 'scanning'],
      [['paused', 'idle'], true, 'paused'],
      [['idle', 'idle'], false, 'idle'],
      [['error', 'paused'], true, 'error'],
    ];
    for (const [states, paused, want] of cases) assert.equal(overallState(states, paused), want, `${states.join(',')} paused=${paused}`);
  });

  it('is paused or idle without folders, and never leaves out a state that is present', () => {
    assert.equal(overallState([], true), 'paused');
    assert.equal(overallState([], false), 'idle');
    for (const a of SYNC_STATES) {
      for (const b of SYNC_STATES) {
        const got = overallState([a, b], false);
        assert.ok(got === a || got === b, `${a},${b} → ${got}`);
        assert.equal(overallState([b, a], false), got, 'order of folders does not matter');
      }
    }
  });
});
