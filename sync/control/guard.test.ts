import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bearerToken, checkHost, checkOrigin, checkToken, selfOf, tokenMatches } from './guard.js';

describe('control guard', () => {
  const self = selfOf('127.0.0.1', 4711);

  it('accepts only its own Host, by IP or as localhost, with its port, and only one', () => {
    assert.equal(checkHost(['127.0.0.1:4711'], self), undefined);
    assert.equal(checkHost(['localhost:4711'], self), undefined);
    assert.equal(checkHost(['LOCALHOST:4711'], self), undefined);
    for (const bad of [undefined, '', 'evil.example', 'evil.example:4711', '127.0.0.1', '127.0.0.1:80', 'localhost:47110', '[::1]:4711']) {
      assert.equal(checkHost(bad === undefined ? undefined : [bad], self)?.status, 403, String(bad));
    }
    assert.equal(checkHost(['[::1]:4711'], selfOf('::1', 4711)), undefined);
    assert.equal(checkHost([], self)?.status, 403);
    assert.match(checkHost(['127.0.0.1:4711', '127.0.0.1:4711'], self)?.message ?? '', /2 Host headers/);
  });

  it('accepts no Origin or its own; refuses foreign, null and cross-site requests', () => {
    assert.equal(checkOrigin(undefined, undefined, self), undefined);
    assert.equal(checkOrigin('http://127.0.0.1:4711', 'same-origin', self), undefined);
    assert.equal(checkOrigin('http://localhost:4711', undefined, self), undefined);
    assert.equal(checkOrigin(undefined, 'none', self), undefined);
    for (const origin of ['http://evil.example', 'null', 'https://127.0.0.1:4711', 'http://127.0.0.1:4712', 'http://127.0.0.1:4711.evil.example']) {
      assert.equal(checkOrigin(origin, undefined, self)?.code, 'E_CONTROL_ORIGIN', origin);
    }
    assert.equal(checkOrigin(undefined, 'cross-site', self)?.status, 403);
    assert.equal(checkOrigin(undefined, 'same-site', self)?.status, 403);
  });

  it('reads a bearer token and compares tokens exactly', () => {
    assert.equal(bearerToken('Bearer abc'), 'abc');
    assert.equal(bearerToken('bearer abc'), 'abc');
    assert.equal(bearerToken('Basic abc'), undefined);
    assert.equal(bearerToken('Bearer a b'), undefined);
    assert.equal(bearerToken(undefined), undefined);
    assert.equal(tokenMatches('secret', 'secret'), true);
    for (const given of [undefined, '', 'secre', 'secret ', 'Secret', 'secretsecret']) assert.equal(tokenMatches(given, 'secret'), false, String(given));
    assert.equal(checkToken(undefined, 'secret')?.status, 401);
    assert.match(checkToken('nope', 'secret')?.message ?? '', /wrong token/);
    assert.equal(checkToken('secret', 'secret'), undefined);
  });
});
