import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isStrataError } from '../errors.js';
import { isDeviceId } from '../repo/names.js';
import { newDeviceId, openAgentState, STATE_FILE } from './config.js';
import { defaultStateDir } from './paths.js';
import { tempDir } from './testkit.js';

describe('agent state (config.ts)', () => {
  it('creates a state file with a valid random device id, not paused', async (t) => {
    const dir = await tempDir(t, 'cfg');
    const state = await openAgentState(dir);
    assert.ok(isDeviceId(state.deviceId), state.deviceId);
    assert.equal(state.deviceId.length, 16);
    assert.deepEqual(state.get(), { version: 1, deviceId: state.deviceId, paused: false, folders: [] });
    const onDisk = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8')) as { deviceId: string };
    assert.equal(onDisk.deviceId, state.deviceId);
  });

  it('round-trips updates, and the device id survives every reopen', async (t) => {
    const dir = await tempDir(t, 'cfg');
    const first = await openAgentState(dir);
    await first.update((d) => {
      d.paused = true;
      d.lastSync = '2026-11-22T04:30:00.000Z';
      d.folders.push({ root: '/home/u/Documents', layer: 'user/alice' });
    });
    for (let i = 0; i < 3; i++) {
      const again = await openAgentState(dir, { newDeviceId: () => 'must-not-be-used' });
      assert.equal(again.deviceId, first.deviceId);
      assert.deepEqual(again.get(), {
        version: 1, deviceId: first.deviceId, paused: true, lastSync: '2026-11-22T04:30:00.000Z',
        folders: [{ root: '/home/u/Documents', layer: 'user/alice' }],
      });
    }
  });

  it('refuses an update that changes the device id or breaks the schema, and keeps the old state', async (t) => {
    const dir = await tempDir(t, 'cfg');
    const state = await openAgentState(dir, { newDeviceId: () => 'dev-one' });
    await assert.rejects(state.update((d) => { d.deviceId = 'dev-two'; }), (e) => isStrataError(e, 'E_BAD_STATE'));
    await assert.rejects(state.update((d) => { d.folders.push({ root: '/x', layer: 'nope' }); }), (e) => isStrataError(e, 'E_BAD_STATE'));
    await assert.rejects(state.update((d) => { d.lastSync = 'yesterday'; }), (e) => isStrataError(e, 'E_BAD_STATE'));
    const reopened = await openAgentState(dir);
    assert.deepEqual(reopened.get(), { version: 1, deviceId: 'dev-one', paused: false, folders: [] });
    assert.deepEqual(state.get(), reopened.get());
  });

  it('serializes concurrent updates', async (t) => {
    const dir = await tempDir(t, 'cfg');
    const state = await openAgentState(dir);
    await Promise.all(Array.from({ length: 10 }, (_, i) => state.update((d) => { d.folders.push({ root: `/r${i}`, layer: 'user/u' }); })));
    assert.equal((await openAgentState(dir)).get().folders.length, 10);
  });

  const garbage: Record<string, string> = {
    empty: '',
    'not JSON': 'hello {',
    'truncated JSON': '{"version":1,"deviceId":"abc","pau',
    'an array': '[]',
    'no device id': '{"version":1,"paused":false,"folders":[]}',
    'bad device id': '{"version":1,"deviceId":"../x","paused":false,"folders":[]}',
    'unknown version': '{"version":2,"deviceId":"abc","paused":false,"folders":[]}',
    'paused not boolean': '{"version":1,"deviceId":"abc","paused":"no","folders":[]}',
  };
  for (const [name, text] of Object.entries(garbage)) {
    it(`a state file that is ${name} → E_BAD_STATE naming the file, file left as it was`, async (t) => {
      const dir = await tempDir(t, 'cfg');
      const file = join(dir, STATE_FILE);
      await writeFile(file, text);
      await assert.rejects(openAgentState(dir), (e) => isStrataError(e, 'E_BAD_STATE') && e.path === file && e.toString().includes(file));
      assert.equal(await readFile(file, 'utf8'), text);
    });
  }

  it('newDeviceId encodes 10 bytes as 16 base32 characters', () => {
    assert.equal(newDeviceId(new Uint8Array(10)), 'aaaaaaaaaaaaaaaa');
    assert.equal(newDeviceId(new Uint8Array(10).fill(255)), '7777777777777777');
    assert.notEqual(newDeviceId(), newDeviceId());
  });
});

describe('defaultStateDir', () => {
  it('follows each OS convention', () => {
    assert.equal(defaultStateDir('linux', {}, '/home/u'), '/home/u/.local/state/strata');
    assert.equal(defaultStateDir('linux', { XDG_STATE_HOME: '/xdg/state' }, '/home/u'), '/xdg/state/strata');
    assert.equal(defaultStateDir('linux', { XDG_STATE_HOME: 'relative' }, '/home/u'), '/home/u/.local/state/strata');
    assert.equal(defaultStateDir('freebsd', {}, '/home/u'), '/home/u/.local/state/strata');
    assert.equal(defaultStateDir('darwin', { XDG_STATE_HOME: '/ignored' }, '/Users/u'), '/Users/u/Library/Application Support/Strata');
    assert.equal(defaultStateDir('win32', { LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'C:\\Users\\u'), 'C:\\Users\\u\\AppData\\Local\\Strata');
    assert.equal(defaultStateDir('win32', {}, 'C:\\Users\\u'), 'C:\\Users\\u\\AppData\\Local\\Strata');
  });
});
