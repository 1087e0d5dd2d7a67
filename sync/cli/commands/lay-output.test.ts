// What the CLI says of the settings mirror's news (lay-output.ts reportSettings), as `strata login`
// and `strata agent` print it: a problem is one warning naming the key and why, in the mirror's
// own words (which say what became of it), said once. Driven by a real mirror over an in-memory settings store.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SettingsMirror } from '../../settings/mirror.js';
import { MemorySettings } from '../../settings/testkit.js';
import { settingsRunner } from '../../signin/index.js';
import { Context } from '../context.js';
import { reportSettings } from './lay-output.js';

describe('reportSettings', () => {
  it('warns of a setting that is not synced once, naming the key and why, without saying "not synced" twice', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-lay-output-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    let stderr = '';
    const ctx = new Context({ stdout: () => undefined, stderr: { write: (s: string) => (stderr += s), isTTY: false }, env: {} }, 'agent', { values: {}, positionals: [] });
    await mkdir(join(dir, 'home'));
    const store = new MemorySettings();
    store.values.set('/org/test/app/theme', "'dark'");
    store.values.set('/org/test/app/bad name', "'x'");
    const mirror = new SettingsMirror({ root: join(dir, 'home'), store, dirs: ['/org/test/app/'], stateFile: join(dir, 'settings.json'), device: 'pc1', policy: 'layer-wins' });
    const pass = settingsRunner(mirror, (e) => reportSettings(ctx, e));
    await pass();
    await pass();
    const warnings = stderr.split('\n').filter((l) => l.startsWith('strata: warning:'));
    assert.equal(warnings.length, 1, stderr);
    assert.match(warnings[0] ?? '', /^strata: warning: setting \/org\/test\/app\/bad name: not synced: a name in it is not one the layer can hold/);
  });
});
