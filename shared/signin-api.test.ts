import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSignInForm } from './signin-api.js';

const FORM = { org: '/etc/strata/acme.json', user: 'dana', accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 's3cr3t/Key+0' };

describe('parseSignInForm', () => {
  it('takes the four fields, trimmed', () => {
    assert.deepEqual(parseSignInForm({ ...FORM, user: ' dana ' }), FORM);
  });

  it('refuses what is not a form, naming the field and never its value', () => {
    const cases: [unknown, RegExp][] = [
      [null, /must be an object/],
      [[FORM], /must be an object/],
      [{ ...FORM, extra: 'x' }, /unexpected field "extra"/],
      [JSON.parse(`{"__proto__": {"x": 1}, ${JSON.stringify(FORM).slice(1)}`), /unexpected field "__proto__"/],
      [{ ...FORM, org: undefined }, /the org config is missing/],
      [{ ...FORM, secretAccessKey: '   ' }, /the secret access key is missing/],
      [{ ...FORM, accessKeyId: 42 }, /the access key id is missing/],
      [{ ...FORM, secretAccessKey: 'top\nsecret' }, /the secret access key contains a control character/],
      [{ ...FORM, org: 'x'.repeat(4097) }, /the org config is longer than 4096/],
    ];
    for (const [value, problem] of cases) {
      assert.throws(() => parseSignInForm(value), (err: Error) => problem.test(err.message) && !err.message.includes('top'), JSON.stringify(value)?.slice(0, 80));
    }
  });
});
