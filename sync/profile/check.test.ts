import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { T0, newRepo } from '../repo/testkit.js';
import { checkProfiles, strayKeys } from './check.js';
import { writeProfile } from './profile.js';

const profile = (user: string, layers: string[]) => ({ version: 1 as const, user, displayName: '', layers, updated: T0.toISOString() });

describe('checkProfiles', () => {
  it('reports a damaged profile, and warns of an assigned org layer never published and of odd keys under users/', async () => {
    const { store, repo } = await newRepo();
    const root = await repo.saveTree({ entries: [] });
    await repo.flush();
    const snap = await repo.saveSnapshot({ version: 1, layer: 'org/base', device: 'admin', time: T0.toISOString(), root, parents: [] });
    await repo.writeHead('org/base', 'admin', snap);
    await writeProfile(store, profile('alice', ['org/base']));
    await writeProfile(store, profile('bob', ['org/base', 'org/later']));
    await store.put('users/eve/profile', Buffer.from('{"version":1'));
    await store.put('users/carol/profile', Buffer.from(JSON.stringify(profile('dave', []))));
    await store.put('users/bob/notes', Buffer.from('x'));
    const r = await checkProfiles(store);
    assert.equal(r.profiles, 4);
    assert.deepEqual(r.problems.map((p) => [p.code, p.key]), [
      ['E_BAD_PROFILE', 'users/carol/profile'],
      ['E_BAD_PROFILE', 'users/eve/profile'],
    ]);
    assert.deepEqual(r.warnings.map((p) => [p.code, p.key]), [
      ['E_BAD_OBJECT', 'users/bob/notes'],
      ['E_LAYER_NOT_PUBLISHED', 'users/bob/profile'],
    ]);
    assert.match(r.warnings[1]?.message ?? '', /org\/later/);
  });

  it('warns of keys outside config, data/, index/, layers/ and users/, without listing what is inside them', async () => {
    const { store } = await newRepo();
    for (let i = 0; i < 20; i++) await store.put(`data/0${i % 10}/${i}`, Buffer.from([i]));
    await store.put('aaa', Buffer.from('x'));
    await store.put('data', Buffer.from('x'));
    await store.put('layersx/y', Buffer.from('x'));
    await store.put('zzz/1', Buffer.from('x'));
    let listed = 0;
    const counting = Object.create(store, {
      list: { value: (prefix: string, opts?: { startAfter?: string }) => (listed++, store.list(prefix, opts)) },
    }) as typeof store;
    const r = await strayKeys(counting);
    assert.deepEqual(r.map((p) => [p.code, p.key]), [['E_BAD_OBJECT', 'aaa'], ['E_BAD_OBJECT', 'data'], ['E_BAD_OBJECT', 'layersx/y'], ['E_BAD_OBJECT', 'zzz/1']]);
    assert.ok(listed <= 6, `${listed} listings`);
  });
});
