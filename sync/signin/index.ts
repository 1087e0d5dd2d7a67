/**
 * Sign-in (DESIGN §4, §6): what happens when a user signs in on a machine — a physical PC or a
 * virtual desktop reset at every logoff — and when they sign out.
 *
 *   org-source.ts   the org config, from a file or an https URL, validated
 *   login.ts        signIn: keychain check → credentials verified against the bucket → keychain
 *                   → session file; adminSignIn: the admin's credentials, kept apart
 *   session.ts      <stateDir>/session.json: org config copy, user, home, mode, what was laid
 *   lay.ts          layHome: restore at sign-in — effective tree (effective.ts) of the profile's
 *                   org layers and the user layer (layers.ts), first contact (first-contact.ts),
 *                   hot and small files first, seeding, progress, `ready`, `done`
 *   live.ts         the agent on the session's folder (folder.ts), credentials from the keychain
 *   host.ts         the session's live sync hosted: agent, org layer follower, control endpoint —
 *                   what `strata agent` and the desktop app run
 *   logout.ts       signOut: flush (through a running agent: flush.ts), stop it, forget, wipe
 *
 * What must hold:
 * - credentials live only in the OS keychain: they are verified before they are stored, a failed
 *   sign-in stores nothing, and no file this module writes ever holds a secret;
 * - a sign-in writes no data to the bucket (the effective tree goes to a scratch store), only this
 *   device's head naming what was laid, when that loses nothing (device-head.ts);
 * - after layHome, home shows exactly the effective tree within the org's folders, plus what the
 *   layer does not know (kept, and adopted by live sync); no path a whiteout hides is present;
 *   under keep-both no local version is lost (it becomes a conflict copy);
 * - live sync starts from the lower trees the disk was laid from (session.laid), never newer ones;
 * - sign-out forgets nothing until the flush succeeded, and wipes only in VDI mode, never the
 *   state dir.
 */
export { loadOrgConfig, canonicalSource, isUrlSource, MAX_ORG_CONFIG_BYTES, type FetchFn } from './org-source.js';
export { openOrgStore, openVerified, orgS3Store, type OrgStore } from './org-store.js';
export { signIn, adminSignIn, type SignInOptions, type SignedIn } from './login.js';
export { readSession, writeSession, deleteSession, sessionPath, SESSION_FILE, type Session, type Laid, type LaidLayer } from './session.js';
export { layHome, SMALL_FILE_BYTES, type LayOptions, type LayResult, type SignInEvent, type Transfer } from './lay.js';
export { layerFolders, sessionFolder } from './folder.js';
export { openSessionStore, startSessionAgent, type SessionAgentOptions } from './live.js';
export { openSignedIn, startSessionHost, type HostableSession, type Relay, type SessionHost, type SessionHostOptions } from './host.js';
export { signOut, type SignOutOptions, type SignOutResult } from './logout.js';
export { SignInFlow, type SignInFlowOptions } from './flow.js';
export { LAYING_FILE, lastLayCutOff, runningLay } from './laying.js';
export { changedOrgLayers, flushSession, OrgLayerFollower, ORG_CHECK_MS, type FollowEvent, type FollowOptions } from './refresh.js';
export { sessionSettings, settingsRunner, type SettingsEvent } from './settings.js';
