/**
 * Child process for durability.test.ts: what a first start writes into a state dir that is not
 * there yet, so that the test can trace its syscalls.
 *
 * Usage: node --import tsx first-start-child.ts <storeDir> <stateDir> session|state [home]
 *   session: the session written first (writeSession), then one sync pass of its folder in `home`;
 *   state: the agent state opened first (openAgentState).
 */
import { parseOrgConfig } from '../../shared/org-config.js';
import { syncOnce } from '../agent/index.js';
import { openRepository } from '../repo/index.js';
import { openAgentState } from '../state/index.js';
import { DirStore } from '../store/dir.js';
import { sessionFolder } from './folder.js';
import { writeSession, type Session } from './session.js';

const [storeDir, stateDir, first, home] = process.argv.slice(2) as [string, string, 'session' | 'state', string | undefined];
if (first === 'state') await openAgentState(stateDir);
else {
  const org = parseOrgConfig({ version: 1, org: 'acme', store: { bucket: 'acme-strata' }, mode: 'persistent', folders: ['Documents'] }, 'test');
  const session: Session = { version: 1, source: 'test', org, user: 'alice', home: home!, mode: org.mode, device: 'pc1', signedIn: new Date().toISOString() };
  await writeSession(stateDir, session);
  const r = await syncOnce({ stateDir, repo: await openRepository(new DirStore(storeDir)), folder: sessionFolder(session, stateDir) });
  process.stdout.write(`${r.status}\n`);
}
process.stdout.write('done\n');
