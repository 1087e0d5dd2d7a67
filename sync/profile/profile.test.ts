// User profiles: write/read round trip, a missing profile, and hostile profile objects read back
// from the bucket (each must fail with a typed error naming the profile's key); user and org
// layer listing from key prefixes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CountingStore } from '../store/counting.js';
import { MemoryStore } from '../store/memory.js';
import { rejectsWith } from '../repo/testkit.js';
import { MAX_PROFILE_BYTES, assignedLayers, listOrgLayers, listUsers, profileKey, readProfile, writeProfile, type Profile } from './index.js';

const KEY = 'users/alice/profile';
const GOOD: Profile = { version: 1, user: 'alice', displayName: 'Alice Smith', layers: ['org/base', 'org/finance'], updated: '2024-05-01T10:00:00.000Z' };

async function stored(value: unknown): Promise<MemoryStore> {
  const store = new MemoryStore();
  await store.put(KEY, typeof value === 'string' || value instanceof Uint8Array ? Buffer.from(value) : Buffer.from(JSON.stringify(value)));
  return store;
}

describe('profile', () => {
  it('round-trips through the bucket at users/<id>/profile', async () => {
    const store = new MemoryStore();
    await writeProfile(store, GOOD);
    assert.equal(profileKey('alice'), KEY);
    assert.ok(await store.head(KEY));
    assert.deepEqual(await readProfile(store, 'alice'), GOOD);
    assert.deepEqual(assignedLayers(await readProfile(store, 'alice')), ['org/base', 'org/finance']);
  });

  it('a missing profile is no error: no org layers', async () => {
    const store = new MemoryStore();
    assert.equal(await readProfile(store, 'bob'), undefined);
    assert.deepEqual(assignedLayers(undefined), []);
  });

  it('an empty display name is allowed', async () => {
    const store = await stored({ ...GOOD, displayName: '' });
    assert.equal((await readProfile(store, 'alice'))?.displayName, '');
  });

  const hostile: [string, unknown, string][] = [
    ['bad JSON', '{"version":1,', 'E_BAD_PROFILE'],
    ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 'E_BAD_PROFILE'],
    ['not an object', [GOOD], 'E_BAD_PROFILE'],
    ['null', 'null', 'E_BAD_PROFILE'],
    ['a missing field', { ...GOOD, updated: undefined }, 'E_BAD_PROFILE'],
    ['an unknown field', { ...GOOD, admin: true }, 'E_BAD_PROFILE'],
    ['another version', { ...GOOD, version: 2 }, 'E_UNSUPPORTED_FORMAT'],
    ['a version as a string', { ...GOOD, version: '1' }, 'E_UNSUPPORTED_FORMAT'],
    ['another user', { ...GOOD, user: 'mallory' }, 'E_BAD_PROFILE'],
    ['a display name that is a number', { ...GOOD, displayName: 42 }, 'E_BAD_PROFILE'],
    ['a display name with a control character', { ...GOOD, displayName: 'A\u001b[2J' }, 'E_BAD_PROFILE'],
    ['a display name too long', { ...GOOD, displayName: 'x'.repeat(257) }, 'E_BAD_PROFILE'],
    ['layers as a string', { ...GOOD, layers: 'org/a,org/b' }, 'E_BAD_PROFILE'],
    ['a layer that is a number', { ...GOOD, layers: [1] }, 'E_BAD_PROFILE'],
    ['a user layer', { ...GOOD, layers: ['user/bob'] }, 'E_BAD_PROFILE'],
    ['a layer that climbs', { ...GOOD, layers: ['org/../../etc'] }, 'E_BAD_PROFILE'],
    ['a duplicate layer', { ...GOOD, layers: ['org/a', 'org/b', 'org/a'] }, 'E_BAD_PROFILE'],
    ['too many layers', { ...GOOD, layers: Array.from({ length: 65 }, (_, i) => `org/l${i}`) }, 'E_BAD_PROFILE'],
    ['a bad time', { ...GOOD, updated: 'yesterday' }, 'E_BAD_PROFILE'],
  ];
  for (const [what, value, code] of hostile) {
    it(`refuses a profile with ${what} (${code}, naming the key)`, async () => {
      await rejectsWith(readProfile(await stored(value), 'alice'), code, KEY);
    });
  }

  it('reads a profile in one request, a GET, with no HEAD first', async () => {
    const store = new CountingStore(await stored(GOOD));
    assert.deepEqual(await readProfile(store, 'alice'), GOOD);
    assert.equal(await readProfile(store, 'bob'), undefined);
    assert.deepEqual({ gets: store.counts.gets, heads: store.counts.heads }, { gets: 2, heads: 0 });
  });

  it('refuses a huge profile, fetching no more than the limit and a byte', async () => {
    const inner = await stored(JSON.stringify({ ...GOOD, displayName: 'x'.repeat(4 * MAX_PROFILE_BYTES) }));
    const store = new CountingStore(inner);
    const err = await rejectsWith(readProfile(store, 'alice'), 'E_OBJECT_TOO_LARGE', KEY);
    assert.match(err.message, /over the 65536-byte limit/);
    assert.equal(store.counts.bytesDownloaded, MAX_PROFILE_BYTES + 1);
  });

  it('refuses a huge profile a listing sized before fetching it', async () => {
    const store = new CountingStore(await stored(GOOD));
    await rejectsWith(readProfile(store, 'alice', MAX_PROFILE_BYTES + 1), 'E_OBJECT_TOO_LARGE', KEY);
    assert.equal(store.counts.gets, 0, 'no GET of an oversized object');
  });

  it('refuses an empty profile as a bad one', async () => {
    await rejectsWith(readProfile(await stored(''), 'alice'), 'E_BAD_PROFILE', KEY);
  });

  it('writeProfile refuses an invalid profile and an invalid user id', async () => {
    const store = new MemoryStore();
    await rejectsWith(writeProfile(store, { ...GOOD, layers: ['org/a', 'org/a'] }), 'E_BAD_PROFILE', KEY);
    await rejectsWith(writeProfile(store, { ...GOOD, user: '../bob' }), 'E_BAD_USER');
    await rejectsWith(readProfile(store, 'a/b'), 'E_BAD_USER');
    assert.equal(await store.head(KEY), undefined);
  });
});

describe('listUsers and listOrgLayers', () => {
  it('finds users from their layers and their profiles, once each, and reports odd keys', async () => {
    const store = new MemoryStore();
    const put = (key: string) => store.put(key, new Uint8Array([1]));
    for (let i = 0; i < 5; i++) await put(`layers/user/alice/snapshots/${String(i).repeat(64)}`);
    await put('layers/user/alice/heads/laptop1');
    await put('layers/user/alice-b/heads/x');
    await put('layers/user/alice.c/heads/x');
    await put('layers/user/carol0/heads/x');
    await put('layers/user/bad!id/heads/x');
    await put('layers/user/stray');
    await put('users/alice/profile');
    await put('users/dave/profile');
    await put('layers/org/finance/heads/admin');
    await put('layers/org/base/snapshots/x');
    const users = await listUsers(store);
    assert.deepEqual(users.names, ['alice', 'alice-b', 'alice.c', 'carol0', 'dave']);
    assert.deepEqual(users.errors.map((e) => [e.code, e.key]).sort(), [
      ['E_BAD_OBJECT', 'layers/user/stray'],
      ['E_BAD_USER', 'layers/user/bad!id/'],
    ]);
    const orgs = await listOrgLayers(store);
    assert.deepEqual(orgs.names, ['org/base', 'org/finance']);
    assert.deepEqual(orgs.errors, []);
  });

  it('lists many users with a LIST for the lot, not one per user; skips past a user with many snapshots', async () => {
    const store = new CountingStore(new MemoryStore());
    const put = (key: string) => store.put(key, new Uint8Array([1]));
    const users = Array.from({ length: 50 }, (_, i) => `user${String(i).padStart(2, '0')}`);
    for (const user of users) {
      await put(`layers/user/${user}/heads/pc`);
      for (let i = 0; i < 6; i++) await put(`layers/user/${user}/snapshots/${String(i).repeat(64)}`);
    }
    assert.deepEqual((await listUsers(store)).names, users);
    assert.equal(store.counts.lists, 2, 'one listing of layers/user/, one of users/');

    // Past a page of one user's keys the listing skips to the next user: one more LIST, not thousands of keys read.
    for (let i = 0; i < 2500; i++) await put(`layers/user/user10/snapshots/${i.toString(16).padStart(64, '0')}`);
    store.counts.lists = 0;
    assert.deepEqual((await listUsers(store)).names, users);
    assert.equal(store.counts.lists, 3);
  });

  it('an empty bucket has no users and no org layers', async () => {
    const store = new MemoryStore();
    assert.deepEqual(await listUsers(store), { names: [], errors: [], profiles: new Map() });
    assert.deepEqual(await listOrgLayers(store), { names: [], errors: [] });
  });
});
