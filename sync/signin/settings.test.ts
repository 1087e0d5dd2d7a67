import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, it, type TestContext } from 'node:test';
import { parseOrgConfig, type OrgConfig } from '../../shared/org-config.js';
import { writeTree } from '../cli/testkit.js';
import { publishOrgLayer, writeProfile } from '../profile/index.js';
import { openRepository } from '../repo/index.js';
import type { SettingsStore } from '../settings/settings.js';
import { MemorySettings, needsDconf, startDconf } from '../settings/testkit.js';
import { openAgentState } from '../state/index.js';
import type { ObjectStore } from '../store/index.js';
import { startSessionHost, type SessionHost } from './host.js';
import { layHome } from './lay.js';
import { readSession, writeSession, type Session } from './session.js';
import type { SettingsEvent } from './settings.js';
import { latestTree, memoryBucket } from './testkit.js';

const APP = '/org/test/app/';
const FILE = '.strata/settings/dconf/org/test/app';

function orgConfig(mode: 'vdi' | 'persistent'): OrgConfig {
  return parseOrgConfig({ version: 1, org: 'acme', mode, store: { bucket: 'acme-strata' }, folders: ['Documents'], settings: { dconf: [APP] } }, 'test');
}

/** A machine that signs alice in with its own settings store, and hosts her live sync (settings mirror and all). */
function machines(t: TestContext, dir: string, store: ObjectStore, org: OrgConfig) {
  return async (name: string, settings: SettingsStore) => {
    const home = join(dir, name, 'home');
    const stateDir = join(dir, name, 'state');
    await writeTree(home, { Documents: { 'notes.txt': name } });
    const { deviceId } = await openAgentState(stateDir, { newDeviceId: () => name });
    await writeSession(stateDir, { version: 1, source: 'test', org, user: 'alice', home, mode: org.mode, device: deviceId, signedIn: new Date().toISOString() } satisfies Session);
    const events: SettingsEvent[] = [];
    const lay = await layHome({ store, session: await readSession(stateDir), stateDir, settingsStore: settings, onEvent: (e) => (e.type.startsWith('settings') ? events.push(e as SettingsEvent) : undefined) });
    let host: SessionHost | undefined;
    t.after(() => host?.stop());
    return {
      home,
      stateDir,
      lay,
      events,
      /** Starts live sync (the agent with the settings mirror around its passes). */
      async live(pollMs = 100): Promise<SessionHost> {
        host = await startSessionHost({ stateDir, session: await readSession(stateDir), org: { store, location: 'test', url: 'test', close: () => undefined }, orgCheckMs: 0, pollMs, settingsStore: settings, onSettings: (e) => events.push(e) });
        return host;
      },
    };
  };
}

/** Waits until `check` holds, a pass at a time (the agents poll every 100 ms); fails after `passes` passes of `host`. */
async function until(host: SessionHost, check: () => Promise<boolean>, what: string, passes = 300, show?: () => Promise<string>): Promise<void> {
  for (let i = 0; i < passes; i++) {
    if (await check()) return;
    await host.agent.passesDone(1);
  }
  assert.fail(`${what}: not after ${passes} passes${show ? `: ${await show()}` : ''}`);
}

const valuesOf = async (s: SettingsStore) => Object.fromEntries((await s.read(APP)).values);

describe('settings in the layer: dconf keys synced per key across machines', () => {
  it('a setting changed on one machine reaches the other; changes to different keys on both merge; a reset goes everywhere', async (t) => {
    const { dir, store } = await memoryBucket(t, 'settings-live');
    const machine = machines(t, dir, store, orgConfig('persistent'));
    const sa = new MemorySettings();
    sa.values.set(`${APP}theme`, "'dark'");
    sa.values.set(`${APP}font`, "'Sans 11'");
    sa.values.set('/org/other/x', '1');
    const a = await machine('a', sa);
    // First contact, nothing in the layer yet: this machine's settings become files of the layer.
    assert.equal(await readFile(join(a.home, FILE, 'theme'), 'utf8'), "'dark'\n");
    assert.deepEqual(a.events.map((e) => e.type), ['settings-synced']);
    const ha = await a.live();
    await until(ha, async () => (await latestTree(await openRepository(store), 'user/alice')).has(`${FILE}/theme`), 'A uploads its settings');
    assert.ok(!(await latestTree(await openRepository(store), 'user/alice')).has('.strata/settings/dconf/org/other/x'), 'only the org\'s dirs are synced');

    // B, a persistent PC with a value of its own: the layer's wins, B's stays as a conflict copy.
    const sb = new MemorySettings();
    sb.values.set(`${APP}theme`, "'light'");
    const b = await machine('b', sb);
    assert.deepEqual(await valuesOf(sb), { [`${APP}theme`]: "'dark'", [`${APP}font`]: "'Sans 11'" });
    assert.deepEqual(b.events.map((e) => e.type), ['settings-synced']);
    const hb = await b.live();

    // Different keys changed on both machines at once: both changes everywhere.
    sa.values.set(`${APP}theme`, "'red'");
    sb.values.delete(`${APP}font`);
    sb.values.set(`${APP}size`, 'uint32 12');
    const want = { [`${APP}theme`]: "'red'", [`${APP}size`]: 'uint32 12' };
    const same = (x: object, y: object) => isDeepStrictEqual(x, y);
    await until(ha, async () => same(await valuesOf(sa), want) && same(await valuesOf(sb), want), 'both machines hold both changes', 300, async () => JSON.stringify({ a: await valuesOf(sa), b: await valuesOf(sb), ae: a.events, be: b.events }));
    // And they stay so (no pass undoes either).
    await hb.agent.passesDone(2);
    assert.deepEqual(await valuesOf(sa), want);
    assert.deepEqual(await valuesOf(sb), want);
  });

  it('an org layer\'s settings are defaults under the user\'s: a user value wins, a reset of an org default is a whiteout', async (t) => {
    const { dir, store, repo } = await memoryBucket(t, 'settings-org');
    await writeTree(join(dir, 'org-v1'), { '.strata': { settings: { dconf: { org: { test: { app: { theme: "'org'\n", clock: 'true\n', wallpaper: "'corp.png'\n" } } } } } } });
    await publishOrgLayer(repo, 'org/dept', { from: join(dir, 'org-v1') });
    await writeProfile(store, { version: 1, user: 'alice', displayName: '', layers: ['org/dept'], updated: new Date().toISOString() });
    const machine = machines(t, dir, store, orgConfig('vdi'));
    const sa = new MemorySettings();
    const a = await machine('a', sa);
    assert.deepEqual(await valuesOf(sa), { [`${APP}theme`]: "'org'", [`${APP}clock`]: 'true', [`${APP}wallpaper`]: "'corp.png'" });
    const ha = await a.live();
    // The user sets one org default, and resets another.
    sa.values.set(`${APP}theme`, "'mine'");
    sa.values.delete(`${APP}clock`);
    await until(ha, async () => {
      const tree = await latestTree(await openRepository(store), 'user/alice');
      return tree.get(`${FILE}/theme`)?.type === 'file' && tree.get(`${FILE}/clock`)?.type === 'whiteout';
    }, 'the user layer copies the theme up and whites the clock out');
    await ha.stop();

    // The next VDI session (a reset machine with its image's own values) shows the user's settings over the org's.
    const sb = new MemorySettings();
    sb.values.set(`${APP}clock`, 'false');
    await machine('b', sb);
    assert.deepEqual(await valuesOf(sb), { [`${APP}theme`]: "'mine'", [`${APP}clock`]: 'false', [`${APP}wallpaper`]: "'corp.png'" });
  });

  it('a settings store that fails is reported once, and the files sync on', async (t) => {
    const { dir, store } = await memoryBucket(t, 'settings-fail');
    const machine = machines(t, dir, store, orgConfig('persistent'));
    const broken: SettingsStore = { name: 'dconf', read: () => Promise.reject(new Error('no session bus')), write: () => Promise.reject(new Error('no session bus')) };
    const a = await machine('a', broken);
    assert.deepEqual(a.events.map((e) => e.type), ['settings-failed']);
    const ha = await a.live();
    await until(ha, async () => (await latestTree(await openRepository(store), 'user/alice')).has('Documents/notes.txt'), 'the files sync');
    await ha.agent.passesDone(2);
    assert.deepEqual(a.events.map((e) => e.type), ['settings-failed', 'settings-failed'], 'once at the lay, once in live sync: not at every pass');
  });
});

describe('settings in the layer, on real dconf', { skip: needsDconf }, () => {
  it('a VDI sign-in applies the layer\'s settings to the machine\'s dconf, and a change there goes up', async (t) => {
    const { dir, store } = await memoryBucket(t, 'settings-dconf');
    const machine = machines(t, dir, store, orgConfig('vdi'));
    const da = await startDconf(t);
    await da.dconf.write([{ key: `${APP}theme`, value: "'Adwaita-dark'" }, { key: `${APP}favorites`, value: "['firefox.desktop', 'org.gnome.Nautilus.desktop']" }]);
    const a = await machine('a', da.dconf);
    const ha = await a.live();
    await until(ha, async () => (await latestTree(await openRepository(store), 'user/alice')).has(`${FILE}/favorites`), 'A uploads its settings');
    await ha.stop();

    const db = await startDconf(t);
    await db.dconf.write([{ key: `${APP}theme`, value: "'Adwaita'" }]);
    const b = await machine('b', db.dconf);
    assert.deepEqual(await valuesOf(db.dconf), { [`${APP}theme`]: "'Adwaita-dark'", [`${APP}favorites`]: "['firefox.desktop', 'org.gnome.Nautilus.desktop']" });
    const hb = await b.live();
    await db.dconf.write([{ key: `${APP}theme`, value: "'HighContrast'" }]);
    await until(hb, async () => (await readFile(join(b.home, FILE, 'theme'), 'utf8')) === "'HighContrast'\n", 'B\'s change reaches its file');
  });

  it('a change in dconf wakes a pass that carries it into the layer, without waiting for the poll (dconf watch)', async (t) => {
    const { dir, store } = await memoryBucket(t, 'settings-watch');
    const machine = machines(t, dir, store, orgConfig('persistent'));
    const da = await startDconf(t);
    const a = await machine('a', da.dconf);
    // No poll within the test: only the start-up and a watch run passes.
    const ha = await a.live(3_600_000);
    while (ha.agent.passCount < 1) await ha.agent.passesDone(1);
    // The watch subscribes on the bus a moment after the start: a change before that waits for the
    // poll. So a new value is set until one wakes a pass (none ever does without the watch).
    let last = '';
    let woken = false;
    for (let i = 0; !woken && i < 100; i++) {
      const before = ha.agent.passCount;
      last = `'v${i}'`;
      await da.dconf.write([{ key: `${APP}theme`, value: last }]);
      await Promise.race([ha.agent.passesDone(1), new Promise((r) => setTimeout(r, 300))]);
      woken = ha.agent.passCount > before;
    }
    assert.ok(woken, 'a change in dconf woke a pass');
    await until(ha, async () => (await readFile(join(a.home, FILE, 'theme'), 'utf8').catch(() => '')) === `${last}\n`, 'the change reaches its file', 5);
    await until(ha, async () => (await latestTree(await openRepository(store), 'user/alice')).has(`${FILE}/theme`), 'the change goes up', 5);
  });
});
