// The keychain against a real one: under `npm test` a throwaway gnome-keyring on a private D-Bus
// session (scripts/test.mjs); skipped locally when no keychain answers, never under CI=true.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { AsyncEntry, findCredentialsAsync } from '@napi-rs/keyring';
import { isStrataError, type ErrorCode } from '../errors.js';
import { ADMIN, checkKeychain, deleteCredentials, loadCredentials, saveCredentials, userPrincipal, type S3Credentials } from './index.js';
import { again } from './keychain.js';
import { keychainSkipReason, killTestSecretService, removeTestOrg, secretServicePid, uniqueTestOrg } from './testing.js';

const skip = await keychainSkipReason();

const ALICE: S3Credentials = { accessKeyId: 'AKIAALICE0000000EXAM', secretAccessKey: 'alice/Secret+Key0000000000000000000000EX' };
const ADMIN_KEYS: S3Credentials = { accessKeyId: 'AKIAADMIN0000000EXAM', secretAccessKey: 'admin/Secret+Key0000000000000000000000EX' };

function rejectsWith(code: ErrorCode, check?: (message: string) => void): (err: unknown) => boolean {
  return (err) => {
    assert.ok(isStrataError(err, code), String(err));
    check?.(err.message);
    return true;
  };
}

describe('a Secret Service call', { skip: process.platform !== 'linux' && 'the Secret Service is Linux only' }, () => {
  const vanished = new Error("Couldn't access platform storage: zbus error: org.freedesktop.DBus.Error.NoReply: Message recipient disconnected from message bus without replying\n   0: backtrace");
  const flaky = (failures: Error[], result: string) => {
    let calls = 0;
    const call = (): Promise<string> => {
      const failure = failures[calls++];
      return failure ? Promise.reject(failure) : Promise.resolve(result);
    };
    return { call, calls: () => calls };
  };

  it('is made again while the service vanished in the middle of it', async () => {
    const noSession = new Error('zbus error: org.freedesktop.Secret.Error.NoSession: The session does not exist');
    for (const failures of [[vanished], [noSession], [vanished, noSession, vanished]]) {
      const f = flaky(failures, 'found');
      assert.equal(await again(f.call, [1, 1, 1]), 'found');
      assert.equal(f.calls(), failures.length + 1);
    }
  });

  it('is not made again for any other failure, nor more times than it pauses', async () => {
    const locked = flaky([new Error('Secret Service: collection is locked')], 'found');
    await assert.rejects(again(locked.call, [1, 1]), /locked/);
    assert.equal(locked.calls(), 1);
    const gone = flaky([vanished, vanished, new Error('zbus error: org.freedesktop.DBus.Error.NoReply: last')], 'found');
    await assert.rejects(again(gone.call, [1, 1]), /NoReply: last/);
    assert.equal(gone.calls(), 3);
  });
});

describe('OS keychain', { skip }, () => {
  const orgs: string[] = [];
  const newOrg = (): string => {
    const org = uniqueTestOrg('kc');
    orgs.push(org);
    return org;
  };
  after(async () => {
    for (const org of orgs) await removeTestOrg(org);
  });

  it('is usable, and the probe leaves no entry behind', async () => {
    await checkKeychain();
    await checkKeychain();
    assert.deepEqual(await findCredentialsAsync('strata-keychain-probe'), []);
  });

  it('returns what was saved, for a user and for the admin, without mixing them up', async () => {
    const org = newOrg();
    await saveCredentials(org, userPrincipal('alice'), ALICE);
    await saveCredentials(org, ADMIN, ADMIN_KEYS);
    assert.deepEqual(await loadCredentials(org, userPrincipal('alice')), ALICE);
    assert.deepEqual(await loadCredentials(org, ADMIN), ADMIN_KEYS);
  });

  it('stores one JSON entry per principal under strata:<org>, a user called admin apart from the admin', async () => {
    const org = newOrg();
    await saveCredentials(org, userPrincipal('admin'), ALICE);
    await saveCredentials(org, ADMIN, ADMIN_KEYS);
    const entries = (await findCredentialsAsync(`strata:${org}`)).sort((a, b) => a.account.localeCompare(b.account));
    assert.deepEqual(
      entries.map((e) => ({ account: e.account, secret: JSON.parse(e.password) as unknown })),
      [
        { account: 'admin', secret: ADMIN_KEYS },
        { account: 'user/admin', secret: ALICE },
      ],
    );
  });

  it('replaces an entry on a second save instead of adding one', async () => {
    const org = newOrg();
    const newer = { accessKeyId: 'AKIANEWER000000EXAMP', secretAccessKey: 'newer' };
    await saveCredentials(org, userPrincipal('alice'), ALICE);
    await saveCredentials(org, userPrincipal('alice'), newer);
    assert.deepEqual(await loadCredentials(org, userPrincipal('alice')), newer);
    assert.equal((await findCredentialsAsync(`strata:${org}`)).length, 1);
  });

  it('keeps orgs apart', async () => {
    const [a, b] = [newOrg(), newOrg()];
    await saveCredentials(a, userPrincipal('alice'), ALICE);
    await assert.rejects(loadCredentials(b, userPrincipal('alice')), rejectsWith('E_NO_CREDENTIALS'));
  });

  it('says how to sign in when there are no credentials, for a user and for the admin', async () => {
    const org = newOrg();
    await assert.rejects(loadCredentials(org, userPrincipal('bob')), rejectsWith('E_NO_CREDENTIALS', (m) => assert.match(m, /strata login/)));
    await assert.rejects(loadCredentials(org, ADMIN), rejectsWith('E_NO_CREDENTIALS', (m) => assert.match(m, /strata admin login/)));
  });

  it('deletes one principal only, and reports whether there was anything to delete', async () => {
    const org = newOrg();
    await saveCredentials(org, userPrincipal('alice'), ALICE);
    await saveCredentials(org, ADMIN, ADMIN_KEYS);
    assert.equal(await deleteCredentials(org, userPrincipal('alice')), true);
    assert.equal(await deleteCredentials(org, userPrincipal('alice')), false);
    await assert.rejects(loadCredentials(org, userPrincipal('alice')), rejectsWith('E_NO_CREDENTIALS'));
    assert.deepEqual(await loadCredentials(org, ADMIN), ADMIN_KEYS);
  });

  // What another program may leave in an entry, read through the real keychain (every case of
  // the decoder is in secrets.test.ts): [what, the text, what the error must say].
  const garbage: [string, string, RegExp][] = [
    ['text that is not JSON', 'aws_secret=hunter2hunter2', /is not valid JSON/],
    ['an extra field', JSON.stringify({ ...ALICE, sessionToken: 'hunter2hunter2' }), /unexpected field "sessionToken"/],
    ['a secret with a space', JSON.stringify({ accessKeyId: 'AKIA', secretAccessKey: 'hunter2 hunter2' }), /secretAccessKey that contains a space/],
    ['5000 characters', JSON.stringify({ ...ALICE, pad: 'hunter2hunter2'.repeat(350) }), /longer than 4096/],
  ];
  for (const [what, text, problem] of garbage) {
    it(`refuses an entry holding ${what}, naming the entry and never the secret`, async () => {
      const org = newOrg();
      await new AsyncEntry(`strata:${org}`, 'user/mallory').setPassword(text);
      await assert.rejects(
        loadCredentials(org, userPrincipal('mallory')),
        rejectsWith('E_BAD_CREDENTIALS', (m) => {
          assert.ok(m.startsWith(`keychain entry strata:${org} user/mallory `), m);
          assert.match(m, problem);
          assert.match(m, /strata login/);
          assert.ok(!m.includes('hunter2'), m);
        }),
      );
    });
  }

  it('refuses bad org and user ids and bad credentials before touching the keychain', async () => {
    const org = newOrg();
    for (const [badOrg, user] of [['../etc', 'alice'], ['acme corp', 'alice'], [org, '../bob'], [org, ''], [org, 'a/b']] as const) {
      await assert.rejects(saveCredentials(badOrg, userPrincipal(user), ALICE), rejectsWith('E_USAGE'), `${badOrg} ${user}`);
      await assert.rejects(loadCredentials(badOrg, userPrincipal(user)), rejectsWith('E_USAGE'), `${badOrg} ${user}`);
    }
    await assert.rejects(saveCredentials(org, ADMIN, { accessKeyId: 'AKIA', secretAccessKey: 'two words' }), rejectsWith('E_USAGE', (m) => assert.ok(!m.includes('two words'), m)));
    assert.deepEqual(await findCredentialsAsync(`strata:${org}`), []);
  });

  // Only on npm test's throwaway keyring, whose daemon D-Bus starts again on the same keyring
  // (scripts/test.mjs): never kill the daemon of someone's desktop session.
  it('loses no call when the Secret Service daemon dies in the middle of calls', { skip: process.env.STRATA_TEST_KEYCHAIN !== '1' && 'needs npm test\'s throwaway keyring' }, async () => {
    const org = newOrg();
    await saveCredentials(org, userPrincipal('alice'), ALICE);
    for (let round = 0; round < 3; round++) {
      const loads = Array.from({ length: 30 }, () => loadCredentials(org, userPrincipal('alice')));
      await new Promise((resolve) => setTimeout(resolve, 15));
      const daemon = killTestSecretService();
      for (const got of await Promise.all(loads)) assert.deepEqual(got, ALICE);
      assert.notEqual(secretServicePid(), daemon, 'a new daemon serves the keyring');
    }
    await saveCredentials(org, ADMIN, ADMIN_KEYS);
    assert.deepEqual(await loadCredentials(org, ADMIN), ADMIN_KEYS);
  });
});
