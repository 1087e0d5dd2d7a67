import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AgentEvent } from '../../shared/agent-api.js';
import { StrataError } from '../errors.js';
import { MAX_EARLIER, SettingsReport } from './settings-report.js';
import { FakeAgent } from './testkit.js';

describe('SettingsReport', () => {
  it("puts the mirror's problems in every status, pushes a status when they change, and keeps those that no longer stand as news", async () => {
    const report = new SettingsReport('dconf');
    const api = report.around(new FakeAgent());
    const events: AgentEvent[] = [];
    const off = api.subscribe((e) => events.push(e));
    report.ran({ problems: [{ key: '/a/locked', message: 'locked', locked: true }, { key: '/a/size', message: 'refused' }] });
    await new Promise((r) => setImmediate(r));
    assert.equal(events.length, 1, 'a change is pushed');
    report.ran({ problems: [{ key: '/a/locked', message: 'locked', locked: true }] });
    report.ran({ problems: [{ key: '/a/locked', message: 'locked', locked: true }] });
    await new Promise((r) => setImmediate(r));
    assert.equal(events.length, 2, 'a run that changes nothing pushes nothing');
    assert.deepEqual((await api.call('pause', {})).settings, {
      store: 'dconf',
      problems: [
        { key: '/a/locked', message: 'locked', locked: true, standing: true },
        { key: '/a/size', message: 'refused', standing: false },
      ],
    });
    report.ran({ error: new StrataError('E_SETTINGS', 'dconf load / failed: no bus') });
    const failed = (await api.call('status', {})).settings;
    assert.deepEqual(failed?.error, { code: 'E_SETTINGS', message: 'dconf load / failed: no bus' });
    assert.equal(failed?.problems.length, 2, 'a failed run leaves the problems as they were');
    report.ran({ problems: [] });
    assert.equal((await api.call('status', {})).settings?.error, undefined, 'a run that works ends the failure');
    off();
  });

  it(`keeps at most ${MAX_EARLIER} problems that no longer stand, the newest`, () => {
    const report = new SettingsReport('dconf');
    for (let i = 0; i < MAX_EARLIER + 5; i++) report.ran({ problems: [{ key: `/a/k${i}`, message: 'refused' }] });
    report.ran({ problems: [] });
    const keys = report.status().problems.map((p) => p.key);
    assert.equal(keys.length, MAX_EARLIER);
    assert.equal(keys[0], `/a/k${MAX_EARLIER + 4}`);
  });
});
