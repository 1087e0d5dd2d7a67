import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isStrataError } from '../errors.js';
import { isDeviceId } from '../repo/names.js';
import { parseCommandArgs, splitCommand, type CommandSpec } from './args.js';
import { deviceIdFromHostname } from './device.js';

const spec: CommandSpec = {
  name: 'restore',
  summary: '',
  args: '<dir>',
  positionals: { min: 1, max: 1 },
  options: { layer: { type: 'string', help: '' }, seed: { type: 'string', multiple: true, help: '' } },
};

function usage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(isStrataError(err, 'E_USAGE'), String(err));
    assert.ok(!err.message.includes('\n'), 'one line');
    return err.message;
  }
  assert.fail('expected E_USAGE');
}

describe('splitCommand', () => {
  it('finds the command after global options and their values', () => {
    assert.deepEqual(splitCommand(['--store', 'file:///x', '--json', 'log', '--layer', 'user/a']), {
      command: 'log',
      rest: ['--store', 'file:///x', '--json', '--layer', 'user/a'],
    });
    assert.deepEqual(splitCommand(['--store=memory:', 'init']), { command: 'init', rest: ['--store=memory:'] });
    assert.deepEqual(splitCommand(['--json']), { command: undefined, rest: ['--json'] });
  });
});

describe('parseCommandArgs', () => {
  it('takes global and command options in any order, repeated options as a list', () => {
    const p = parseCommandArgs(spec, ['out', '--seed', 'a', '--json', '--seed', 'b', '--layer', 'user/x', '--store', 'memory:']);
    assert.deepEqual(p.positionals, ['out']);
    assert.deepEqual(p.values.seed, ['a', 'b']);
    assert.equal(p.values.json, true);
    assert.equal(p.values.store, 'memory:');
  });

  it('refuses unknown flags, missing values and wrong argument counts with a hint', () => {
    assert.match(usage(() => parseCommandArgs(spec, ['out', '--bogus'])), /--bogus.*strata restore --help/);
    assert.match(usage(() => parseCommandArgs(spec, ['out', '--layer'])), /--layer/);
    assert.match(usage(() => parseCommandArgs(spec, [])), /missing argument <dir>/);
    assert.match(usage(() => parseCommandArgs(spec, ['a', 'b'])), /unexpected argument "b"/);
    assert.match(usage(() => parseCommandArgs(spec, ['out', '--json=yes'])), /json/);
    // The value left out before another option: node:util says only that the argument is "ambiguous".
    assert.match(usage(() => parseCommandArgs(spec, ['out', '--layer', '--json'])), /^--layer needs a value \(one starting with a dash goes as --layer=-…\)/);
    assert.match(usage(() => parseCommandArgs(spec, ['out', '--layer'])), /^--layer needs a value/);
  });

  it('--help needs no arguments', () => {
    assert.equal(parseCommandArgs(spec, ['--help']).values.help, true);
  });
});

describe('deviceIdFromHostname', () => {
  it('gives a valid, stable device id for any host name', () => {
    assert.equal(deviceIdFromHostname('Alice-PC.corp.example'), 'alice-pc.corp.example');
    assert.equal(deviceIdFromHostname('my host (2)'), 'my-host-2-');
    assert.equal(deviceIdFromHostname('--weird'), 'weird');
    assert.equal(deviceIdFromHostname(''), 'device');
    assert.equal(deviceIdFromHostname('ü'.repeat(10)), 'device');
    for (const h of ['x'.repeat(300), '_a', 'Ωmega', 'a b/c\\d']) assert.ok(isDeviceId(deviceIdFromHostname(h)), h);
  });
});
