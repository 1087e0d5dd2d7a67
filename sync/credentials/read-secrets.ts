/**
 * Reading an access key and secret from a person (`strata login` at a prompt) or a pipe (stdin).
 *
 * The text form, from a pipe or a file:
 *
 *   AKIAIOSFODNN7EXAMPLE                          two lines: the access key id, then the secret
 *   wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
 *
 *   aws_access_key_id = AKIAIOSFODNN7EXAMPLE      or the AWS credentials-file form, any order,
 *   aws_secret_access_key = wJalrXUtnFEMI/K7…     names in any case (AWS_ACCESS_KEY_ID=… works)
 *
 * The first line decides the form; blank lines and `#` comments are ignored, and so is
 * whitespace around each line and around "=". Access key ids never contain "=", so a secret that
 * does is still read right in the two-line form. Anything else is E_USAGE naming the source and
 * the line, and a message never contains the secret.
 *
 * At a terminal the secret is read with echo off, and what keys such as the arrows send is no part
 * of it; elsewhere the input is read as text. A terminal that hangs up at the prompt (SIGHUP, or
 * the end of its input) fails the prompt with E_INTERRUPTED rather than leaving it waiting.
 */
import { StrataError } from '../errors.js';
import { checkCredentials, type S3Credentials } from './secrets.js';

/** More than any pair of keys with comments; a larger input is not meant for us. */
const MAX_INPUT = 64 * 1024;

const KEY_VALUE = /^(aws_access_key_id|aws_secret_access_key)\s*=\s*(.*)$/i;

export function parseSecretsText(text: string, source: string): S3Credentials {
  const lines = text
    .split('\n')
    .map((line, i) => ({ n: i + 1, text: line.trim() }))
    .filter((line) => line.text !== '' && !line.text.startsWith('#'));
  const usage = (message: string): StrataError => new StrataError('E_USAGE', `${source}: ${message}`);
  if (lines.length === 0) throw usage('no credentials given (write the access key id and the secret on two lines)');
  if (!KEY_VALUE.test(lines[0]?.text ?? '')) {
    if (lines.length !== 2) throw usage(`expected two lines, the access key id and then the secret, not ${lines.length}`);
    return checkCredentials({ accessKeyId: lines[0]?.text ?? '', secretAccessKey: lines[1]?.text ?? '' }, source);
  }
  const found = new Map<string, string>();
  for (const line of lines) {
    const m = KEY_VALUE.exec(line.text);
    // Only the name is shown: the line may be the secret itself.
    if (!m) throw usage(`line ${line.n} is not aws_access_key_id = … or aws_secret_access_key = …${/^[\w-]+\s*=/.test(line.text) ? ` (${line.text.split('=')[0]?.trim()} is not used)` : ''}`);
    const name = (m[1] ?? '').toLowerCase();
    if (found.has(name)) throw usage(`line ${line.n}: ${name} is given twice`);
    found.set(name, (m[2] ?? '').trim());
  }
  for (const name of ['aws_access_key_id', 'aws_secret_access_key']) {
    if (!found.has(name)) throw usage(`${name} is missing`);
  }
  return checkCredentials({ accessKeyId: found.get('aws_access_key_id') ?? '', secretAccessKey: found.get('aws_secret_access_key') ?? '' }, source);
}

/** Reads the whole stream (at most 64 KiB) and parses it as above. */
export async function readSecretsFromStream(stream: AsyncIterable<Uint8Array | string>, source = 'stdin'): Promise<S3Credentials> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    size += buf.length;
    if (size > MAX_INPUT) throw new StrataError('E_USAGE', `${source}: more than ${MAX_INPUT / 1024} KiB of input; expected an access key id and a secret`);
    chunks.push(buf);
  }
  return parseSecretsText(Buffer.concat(chunks).toString('utf8'), source);
}

/** A terminal as node:tty gives it; only what the prompt uses. */
export interface TerminalInput extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

/**
 * Asks for the access key id (echoed) and the secret (not echoed) at a terminal; reads the
 * text form above when the input is not a terminal. Prompts go to `output`.
 */
export async function promptSecrets(input: TerminalInput, output: NodeJS.WritableStream): Promise<S3Credentials> {
  if (!input.isTTY || !input.setRawMode) return readSecretsFromStream(input, 'stdin');
  // Raw mode for both lines at once: between them the terminal must not echo a secret typed ahead.
  input.setRawMode(true);
  const terminal = rawLines(input, output);
  try {
    output.write('Access key ID: ');
    const accessKeyId = await terminal.line(true);
    output.write('Secret access key (not shown): ');
    const secretAccessKey = await terminal.line(false);
    return checkCredentials({ accessKeyId: accessKeyId.trim(), secretAccessKey: secretAccessKey.trim() }, 'the prompt');
  } finally {
    terminal.close();
    restoreMode(input);
  }
}

/** Echo and line editing back on; a terminal that hung up has no mode to restore (node:tty emits EIO). */
function restoreMode(input: TerminalInput): void {
  const ignore = (): void => undefined;
  input.on('error', ignore);
  try {
    input.setRawMode?.(false);
  } catch {
    // Nothing to restore on a terminal that is gone.
  } finally {
    input.removeListener('error', ignore);
  }
}

interface Waiting {
  echo: boolean;
  text: string;
  resolve: (line: string) => void;
  reject: (err: StrataError) => void;
}

/** What follows ESC in the sequence a key sends: CSI parameters and final byte, SS3 and its letter, or one key (Alt). */
// eslint-disable-next-line no-control-regex
const ESCAPE_REST = /^(\[[0-?]*[ -/]*[@-~]|O.|[^\u0000-\u001f])?/;

const HUNG_UP = 'sign-in cancelled: the terminal closed at the prompt';

/**
 * Lines from a terminal in raw mode, typed-ahead text kept for the next line; Ctrl-C or Ctrl-D is
 * E_INTERRUPTED, and so is a hang-up: SIGHUP, which would otherwise end the process without a
 * word, or the end of the input (a terminal that is not the controlling one gets no SIGHUP).
 */
function rawLines(input: TerminalInput, output: NodeJS.WritableStream): { line(echo: boolean): Promise<string>; close(): void } {
  let buffered = '';
  let waiting: Waiting | undefined;
  let hungUp = false;
  // A CRLF (a paste on Windows) ends one line, not two: the LF after a CR is dropped.
  let afterCr = false;
  const pump = (): void => {
    while (waiting && buffered.length > 0) {
      const ch = buffered[0] as string;
      buffered = buffered.slice(1);
      const w: Waiting = waiting;
      const lf = ch === '\n' && afterCr;
      afterCr = ch === '\r';
      if (lf) continue;
      if (ch === '\u001b') {
        // An arrow, Home, Delete … key (CSI or SS3), or Alt with a key: none of it is typed text.
        buffered = buffered.replace(ESCAPE_REST, '');
        continue;
      }
      if (ch === '\r' || ch === '\n') {
        waiting = undefined;
        output.write('\n');
        w.resolve(w.text);
      } else if (ch === '\u0003' || ch === '\u0004') {
        waiting = undefined;
        output.write('\n');
        w.reject(new StrataError('E_INTERRUPTED', 'sign-in cancelled at the prompt'));
      } else if (ch === '\u007f' || ch === '\b') {
        if (w.text.length > 0 && w.echo) output.write('\b \b');
        w.text = w.text.slice(0, -1);
      } else if (ch >= ' ') {
        w.text += ch;
        if (w.echo) output.write(ch);
      }
    }
  };
  const onData = (data: Buffer | string): void => {
    buffered += data.toString();
    pump();
  };
  const onHangUp = (): void => {
    hungUp = true;
    const w = waiting;
    waiting = undefined;
    w?.reject(new StrataError('E_INTERRUPTED', HUNG_UP));
  };
  input.on('data', onData);
  input.on('end', onHangUp);
  input.on('close', onHangUp);
  input.on('error', onHangUp);
  process.on('SIGHUP', onHangUp);
  input.resume();
  return {
    line: (echo) =>
      new Promise((resolve, reject) => {
        if (hungUp) return reject(new StrataError('E_INTERRUPTED', HUNG_UP));
        waiting = { echo, text: '', resolve, reject };
        pump();
      }),
    close: () => {
      input.removeListener('data', onData);
      input.removeListener('end', onHangUp);
      input.removeListener('close', onHangUp);
      input.removeListener('error', onHangUp);
      // A hang-up sends both the end of the input and SIGHUP, in either order: once hung up, a
      // SIGHUP still on its way must not end the process before it reports why.
      if (!hungUp) process.removeListener('SIGHUP', onHangUp);
      input.pause();
    },
  };
}
