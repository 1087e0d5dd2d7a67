/**
 * Live sync of a signed-in session (DESIGN §4: "then two-way sync starts"): the agent on the
 * session's one folder, with the credentials read from the keychain — what `strata login` starts
 * after the restore and `strata agent` (the tray, autostart) starts from the stored session.
 */
import { Agent } from '../agent/index.js';
import { loadCredentials, userPrincipal } from '../credentials/index.js';
import { StrataError } from '../errors.js';
import type { FileChunker } from '../snapshot/index.js';
import type { ObjectStore } from '../store/index.js';
import { sessionFolder } from './folder.js';
import { openOrgStore, type OrgStore } from './org-store.js';
import type { Session } from './session.js';

/** The org's bucket with the session user's credentials from the keychain (E_NO_CREDENTIALS when signed out). */
export async function openSessionStore(session: Session): Promise<OrgStore> {
  return openOrgStore(session.org, await loadCredentials(session.org.org, userPrincipal(session.user)));
}

export interface SessionAgentOptions {
  stateDir: string;
  session: Session;
  /** Opens the bucket; the agent calls it on its first pass, never while paused. */
  openStore: () => ObjectStore | Promise<ObjectStore>;
  chunker?: FileChunker;
  pollMs?: number;
  watch?: boolean;
  /** Runs around each pass: the session's settings mirror (settings.ts). */
  beside?: () => Promise<readonly string[]>;
  /** Watches what `beside` carries, calling `changed` soon after the machine changes it (the mirror's watch). */
  watchBeside?: (changed: () => void) => () => Promise<void>;
}

/**
 * Starts the agent on the session's folder. The restore must have finished (session.laid): the
 * agent's lower trees are the org roots it laid, and without them every org file on the disk
 * would look like the user's own and be copied up.
 */
export function startSessionAgent(opts: SessionAgentOptions): Promise<Agent> {
  if (opts.session.laid === undefined) {
    throw new StrataError('E_NOT_LAID', 'the sign-in did not finish laying the layer onto home; run strata agent (it finishes the lay) or strata login again', { path: opts.session.home });
  }
  return Agent.start({
    stateDir: opts.stateDir,
    folders: [sessionFolder(opts.session, opts.stateDir)],
    openStore: opts.openStore,
    ...(opts.chunker ? { chunker: opts.chunker } : {}),
    ...(opts.pollMs ? { pollMs: opts.pollMs } : {}),
    ...(opts.watch === undefined ? {} : { watch: opts.watch }),
    ...(opts.beside ? { beside: opts.beside } : {}),
    ...(opts.watchBeside ? { watchBeside: (_root: string, changed: () => void) => opts.watchBeside!(changed) } : {}),
  });
}
