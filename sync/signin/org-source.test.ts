// The org config from a file or a URL: valid ones parse, anything else is one clear error naming the source.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isStrataError, type ErrorCode } from '../errors.js';
import { sessionExcluder } from './folder.js';
import { loadOrgConfig } from './org-source.js';

const GOOD = { version: 1, org: 'acme', store: { endpoint: 'https://s3.acme.example', bucket: 'acme-strata' }, folders: ['Documents'] };

function rejectsWith(code: ErrorCode, pattern: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(isStrataError(err, code), String(err));
    assert.match(err.message, pattern);
    return true;
  };
}

describe('loadOrgConfig', () => {
  let dir: string;
  let server: Server;
  let base: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strata-orgsrc-'));
    server = createServer((req, res) => {
      if (req.url === '/org.json') res.end(JSON.stringify(GOOD));
      else if (req.url === '/huge.json') res.end('x'.repeat(300 * 1024));
      else {
        res.statusCode = 404;
        res.end('no');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file and fills in the defaults', async () => {
    const file = join(dir, 'good.json');
    await writeFile(file, JSON.stringify(GOOD));
    const config = await loadOrgConfig(file);
    assert.equal(config.org, 'acme');
    assert.equal(config.mode, 'persistent');
    assert.equal(config.policies.firstContact, 'keep-both');
    assert.equal(config.store.pathStyle, true);
  });

  it('refuses a bad config with the file and the field in the message', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ ...GOOD, store: { bucket: 'Not_A_Bucket' } }));
    await assert.rejects(loadOrgConfig(file), rejectsWith('E_BAD_ORG_CONFIG', /bad\.json: store\.bucket: "Not_A_Bucket" is not a valid bucket name/));
    await writeFile(file, '{ not json');
    await assert.rejects(loadOrgConfig(file), rejectsWith('E_BAD_ORG_CONFIG', /bad\.json: not valid JSON/));
  });

  it('refuses, at sign-in, folder names that the engine would refuse at the first lay', async () => {
    const file = join(dir, 'folders.json');
    for (const name of ['Documents', 'My Music', '.config/app', 'Projects [2024]', '#notes', 'Work!', 'Doc?']) {
      await writeFile(file, JSON.stringify({ ...GOOD, folders: [name] }));
      const config = await loadOrgConfig(file).catch((err: unknown) => {
        assert.ok(isStrataError(err, 'E_BAD_ORG_CONFIG'), String(err));
        return undefined;
      });
      if (config === undefined) continue;
      // What the lay and live sync build from the session: it must take every folder sign-in took.
      const session = { version: 1, source: file, org: config, user: 'alice', home: join(dir, 'home'), mode: config.mode, device: 'pc1', signedIn: new Date().toISOString() } as const;
      assert.doesNotThrow(() => sessionExcluder(session, join(dir, 'state')), `folder ${JSON.stringify(name)} passed sign-in`);
    }
  });

  it('says when the file is missing', async () => {
    await assert.rejects(loadOrgConfig(join(dir, 'nope.json')), rejectsWith('E_ORG_CONFIG_UNREADABLE', /does not exist/));
  });

  it('fetches a URL, and says why one fails', async () => {
    assert.equal((await loadOrgConfig(`${base}/org.json`)).org, 'acme');
    await assert.rejects(loadOrgConfig(`${base}/missing.json`), rejectsWith('E_ORG_CONFIG_UNREADABLE', /HTTP 404/));
    await assert.rejects(loadOrgConfig(`${base}/huge.json`), rejectsWith('E_ORG_CONFIG_UNREADABLE', /over the 262144-byte limit/));
    await assert.rejects(loadOrgConfig('http://config.acme.example/org.json'), rejectsWith('E_ORG_CONFIG_UNREADABLE', /https/));
    await assert.rejects(loadOrgConfig('https://user:pw@config.acme.example/org.json'), rejectsWith('E_ORG_CONFIG_UNREADABLE', /credentials/));
  });
});
