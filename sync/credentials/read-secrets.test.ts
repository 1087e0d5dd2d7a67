import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { isStrataError } from '../errors.js';
import { parseSecretsText, promptSecrets, readSecretsFromStream } from './read-secrets.js';

const KEY = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = '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';
const CREDS = { accessKeyId: KEY, secretAccessKey: SECRET };

function usageError(check: (message: string) => void): (err: unknown) => boolean {
  return (err) => {
    assert.ok(isStrataError(err, 'E_USAGE'), String(err));
    assert.ok(err.message.startsWith('stdin: '), err.message);
    assert.ok(!err.message.includes('SECRET'), `the secret leaked into: ${err.message}`);
    check(err.message);
    return true;
  };
}

describe('parseSecretsText', () => {
  const accepted: [string, string][] = [
    ['two lines', `${KEY}\n${SECRET}\n`],
    ['two lines without a final newline', `${KEY}\n${SECRET}`],
    ['two lines with CRLF, blank lines, comments and padding', `# acme\r\n\r\n  ${KEY}  \r\n\t${SECRET}\r\n\r\n`],
    ['the credentials-file form', `aws_access_key_id = ${KEY}\naws_secret_access_key = ${SECRET}\n`],
    ['the credentials-file form, secret first', `aws_secret_access_key=${SECRET}\naws_access_key_id=${KEY}`],
    ['environment-style names', `AWS_ACCESS_KEY_ID=${KEY}\nAWS_SECRET_ACCESS_KEY=${SECRET}\n`],
  ];
  for (const [what, text] of accepted) {
    it(`reads ${what}`, () => assert.deepEqual(parseSecretsText(text, 'stdin'), CREDS));
  }

  it('keeps an "=" inside a secret in the two-line form', () => {
    assert.deepEqual(parseSecretsText(`${KEY}\nabc=def==\n`, 'stdin'), { accessKeyId: KEY, secretAccessKey: 'abc=def==' });
    assert.deepEqual(parseSecretsText(`aws_access_key_id=${KEY}\naws_secret_access_key=abc=def==\n`, 'stdin'), { accessKeyId: KEY, secretAccessKey: 'abc=def==' });
  });

  // [what is wrong, the text, what the message must say]
  const refused: [string, string, RegExp][] = [
    ['nothing', '\n# only a comment\n', /no credentials given/],
    ['one line', `${KEY}\n`, /expected two lines.*not 1/],
    ['three lines', `${KEY}\n${SECRET}\n${SECRET}\n`, /expected two lines.*not 3/],
    ['a secret with a space', `${KEY}\nwJalr SECRET\n`, /secret access key contains a space/],
    ['a session token', `aws_access_key_id=${KEY}\naws_secret_access_key=${SECRET}\naws_session_token=SECRETtoken\n`, /line 3 .*aws_session_token is not used/],
    ['a bare secret among named lines', `aws_access_key_id=${KEY}\n${SECRET}\n`, /line 2 is not aws_access_key_id/],
    ['a name given twice', `aws_access_key_id=${KEY}\naws_access_key_id=${KEY}\naws_secret_access_key=${SECRET}`, /line 2: aws_access_key_id is given twice/],
    ['no secret', `aws_access_key_id=${KEY}\n`, /aws_secret_access_key is missing/],
    ['an empty secret', `aws_access_key_id=${KEY}\naws_secret_access_key=\n`, /secret access key is empty/],
  ];
  for (const [what, text, problem] of refused) {
    it(`refuses ${what}, without quoting the secret`, () => {
      assert.throws(() => parseSecretsText(text, 'stdin'), usageError((m) => assert.match(m, problem)));
    });
  }
});

describe('readSecretsFromStream', () => {
  it('reads the text however the stream cuts it into chunks', async () => {
    const text = `aws_access_key_id = ${KEY}\naws_secret_access_key = ${SECRET}\n`;
    for (const size of [1, 3, 7, text.length]) {
      const chunks: (Buffer | string)[] = [];
      for (let i = 0; i < text.length; i += size) chunks.push(i % 2 === 0 ? Buffer.from(text.slice(i, i + size)) : text.slice(i, i + size));
      assert.deepEqual(await readSecretsFromStream(Readable.from(chunks)), CREDS, `chunks of ${size}`);
    }
  });

  it('refuses more than 64 KiB of input', async () => {
    const big = Readable.from([Buffer.alloc(40 * 1024, 0x41), Buffer.alloc(40 * 1024, 0x41)]);
    await assert.rejects(readSecretsFromStream(big), usageError((m) => assert.match(m, /more than 64 KiB/)));
  });

  it('is what promptSecrets does when the input is not a terminal, writing no prompt', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    input.end(`${KEY}\n${SECRET}\n`);
    assert.deepEqual(await promptSecrets(input, output), CREDS);
    assert.equal(output.read(), null);
  });
});

describe('promptSecrets after a hang-up', () => {
  // The end of the input and SIGHUP both come when a terminal hangs up, in either order: a SIGHUP
  // that comes after the prompt failed on the end of its input must not end the process before it
  // says why (it would die without a word, the launcher's exit 1 telling nothing).
  it('outlives a SIGHUP that comes after the end of the input', { timeout: 30_000 }, () => {
    const module = new URL('./read-secrets.ts', import.meta.url).href;
    const script = `
import { PassThrough } from 'node:stream';
const { promptSecrets } = await import(${JSON.stringify(module)});
const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => {} });
input.end();
const code = await promptSecrets(input, new PassThrough()).then(() => 'none', (err) => err.code);
process.kill(process.pid, 'SIGHUP');
await new Promise((resolve) => setImmediate(resolve));
console.log(code);
`;
    const child = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.deepEqual({ signal: child.signal, status: child.status, stdout: child.stdout, stderr: child.stderr }, { signal: null, status: 0, stdout: 'E_INTERRUPTED\n', stderr: '' });
  });
});

// A real terminal: the prompt runs in a child under `script`, which gives it a pseudo-terminal.
const haveScript = process.platform === 'linux' && spawnSync('sh', ['-c', 'command -v script'], { stdio: 'ignore' }).status === 0;

describe('promptSecrets at a terminal', { skip: haveScript ? false : 'needs util-linux script(1) for a pseudo-terminal' }, () => {
  let dir: string;
  let childFile: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strata-prompt-'));
    childFile = join(dir, 'child.mjs');
    const module = new URL('./read-secrets.ts', import.meta.url).href;
    await writeFile(
      childFile,
      `import { writeFileSync } from 'node:fs';
const { promptSecrets } = await import(${JSON.stringify(module)});
// Where the result goes when the terminal may be gone by then.
const file = process.env.RESULT_FILE;
if (file) writeFileSync(file + '.pid', String(process.pid));
let result;
try {
  const c = await promptSecrets(process.stdin, process.stdout);
  result = { accessKeyId: c.accessKeyId, secretMatches: c.secretAccessKey === process.env.EXPECTED_SECRET };
} catch (err) { result = { code: err.code, message: err.message }; }
if (file) writeFileSync(file, JSON.stringify(result));
else console.log('RESULT ' + JSON.stringify({ code: result.code, accessKeyId: result.accessKeyId, secretMatches: result.secretMatches }));
process.exit(0);
`,
    );
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const childCommand = (): string => [process.execPath, '--import', import.meta.resolve('tsx'), childFile].map((a) => `'${a}'`).join(' ');

  /** Types each reply once the output shows its cue; returns what the terminal showed. */
  async function session(replies: [cue: string, typed: string][]): Promise<{ screen: string; result: Record<string, unknown> }> {
    const command = childCommand();
    const child = spawn('script', ['-qefc', command, '/dev/null'], { env: { ...process.env, EXPECTED_SECRET: SECRET }, stdio: ['pipe', 'pipe', 'inherit'] });
    let screen = '';
    let next = 0;
    child.stdout.on('data', (d: Buffer) => {
      screen += d.toString();
      while (next < replies.length && screen.includes((replies[next] as [string, string])[0])) child.stdin.write((replies[next++] as [string, string])[1]);
    });
    await new Promise((resolve) => child.on('close', resolve));
    child.stdin.destroy();
    const line = /RESULT (.*)/.exec(screen)?.[1];
    assert.ok(line, `no result; the terminal showed: ${JSON.stringify(screen)}`);
    return { screen, result: JSON.parse(line) as Record<string, unknown> };
  }

  it('echoes the access key id but not the secret', { timeout: 30_000 }, async () => {
    const { screen, result } = await session([
      ['Access key ID: ', `${KEY}\r`],
      ['Secret access key (not shown): ', `${SECRET}\r`],
    ]);
    assert.deepEqual(result, { accessKeyId: KEY, secretMatches: true });
    assert.ok(screen.includes(KEY), 'the access key id should be echoed');
    assert.ok(!screen.includes('SECRET'), 'the secret was shown on the terminal');
  });

  it('does not echo a secret typed ahead with the key, and honours backspace', { timeout: 30_000 }, async () => {
    const { screen, result } = await session([['Access key ID: ', `${KEY}X\u007f\r${SECRET}\r`]]);
    assert.deepEqual(result, { accessKeyId: KEY, secretMatches: true });
    assert.ok(!screen.includes('SECRET'), 'the secret was shown on the terminal');
  });

  it('takes a CRLF for one line end, as a paste from Windows sends it', { timeout: 30_000 }, async () => {
    const { result } = await session([['Access key ID: ', `${KEY}\r\n${SECRET}\r\n`]]);
    assert.deepEqual(result, { accessKeyId: KEY, secretMatches: true });
  });

  it('keeps the escape sequences of arrow and editing keys out of the key and the secret', { timeout: 30_000 }, async () => {
    const { result } = await session([
      ['Access key ID: ', `${KEY}\u001b[D\u001b[C\r`],
      ['Secret access key (not shown): ', `${SECRET}\u001b[3~\u001bOH\u001b[1;5D\r`],
    ]);
    assert.deepEqual(result, { accessKeyId: KEY, secretMatches: true });
  });

  it('gives E_INTERRUPTED on Ctrl-C', { timeout: 30_000 }, async () => {
    const { result } = await session([
      ['Access key ID: ', `${KEY}\r`],
      ['Secret access key (not shown): ', 'wJal\u0003'],
    ]);
    assert.deepEqual(result, { code: 'E_INTERRUPTED' });
  });

  /**
   * Hangs the terminal up at the first prompt: `script` is killed, so its pseudo-terminal's master
   * closes. The prompt's process gets SIGHUP where the terminal is its controlling one, and only
   * the end of its input where it is not (`setsid`). Returns what the prompt gave, once that
   * process has ended; it writes that to a file, since the terminal is gone.
   */
  async function hangUp(how: 'SIGHUP' | 'EOF'): Promise<Record<string, unknown> | undefined> {
    const file = join(dir, `hangup-${how}.json`);
    const command = `${how === 'EOF' ? 'exec setsid -w ' : 'exec '}${childCommand()}`;
    const child = spawn('script', ['-qefc', command, '/dev/null'], { env: { ...process.env, RESULT_FILE: file }, stdio: ['pipe', 'pipe', 'inherit'] });
    let screen = '';
    child.stdout.on('data', (d: Buffer) => {
      screen += d.toString();
      if (screen.includes('Access key ID: ')) child.kill('SIGKILL');
    });
    await new Promise((resolve) => child.on('close', resolve));
    const pid = Number(await readFile(`${file}.pid`, 'utf8'));
    const alive = (): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    // Polled, not timed: a prompt that waits forever fails by the test's timeout.
    while (alive()) await new Promise((resolve) => setTimeout(resolve, 20));
    return readFile(file, 'utf8').then((text) => JSON.parse(text) as Record<string, unknown>, () => undefined);
  }

  for (const how of ['SIGHUP', 'EOF'] as const) {
    it(`fails with E_INTERRUPTED when the terminal hangs up at the prompt (${how})`, { timeout: 30_000 }, async () => {
      const result = await hangUp(how);
      assert.deepEqual(result, { code: 'E_INTERRUPTED', message: 'sign-in cancelled: the terminal closed at the prompt' });
    });
  }
});
