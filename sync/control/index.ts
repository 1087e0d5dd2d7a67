/**
 * The agent's local control endpoint (DESIGN §5, §6): the Agent API of shared/agent-api.ts over
 * HTTP on loopback, for the CLI, a browser UI and anything else of the same user on this
 * machine, and the client that talks to it.
 *
 *   server.ts  serveControl: POST /api/<command>, GET /api/events (Server-Sent Events)
 *   client.ts  connectControl: an AgentApi for the agent of a state dir
 *   guard.ts   the Host, Origin and token checks      file.ts  control.json
 *   events.ts  the event stream, both ends            testkit.ts  a fake agent for tests
 *   http.ts    JSON answers, bounded bodies, loopback listening within connection limits (both endpoints)
 *   settings-report.ts  the settings mirror's problems in every status the endpoint gives
 *   signin-server.ts  serveSignIn: the desktop app's sign-in screen before there is an agent
 *                     (shared/signin-api.ts), behind the same guards; no control.json
 *
 * Must hold:
 * - the endpoint listens on a loopback address only, and the client sends the token to nothing
 *   but a loopback address, whatever control.json says;
 * - every request must pass the Host check (DNS rebinding), the Origin and Sec-Fetch-Site checks
 *   (cross-site pages) and the token check, in that order, before its body is read or anything
 *   reaches the agent; the token is compared in constant time;
 * - the token is 256 random bits that exist only in the agent's memory and in control.json, which
 *   is written atomically with mode 0600 in a state dir others cannot write to: reading that file
 *   is what makes a client the same user. It is accepted as `?token=` on /api/events only (a
 *   browser's EventSource cannot set headers), never for commands;
 * - every command is checked with parseCommand before the agent sees it, and a body is at most
 *   MAX_BODY_BYTES;
 * - no program on this machine can hold connections without bound (CONNECTION_LIMITS): one that
 *   sends no request, or sends it too slowly, is closed, and past the cap new ones are refused;
 * - failures answer {error: {code, message, path?, key?}}: 400 bad command or argument, 401 token,
 *   403 Host or Origin, 404 path, 405 method, 413 body too big, 415 not JSON; an agent's failure
 *   with its StrataError code, and by that code 400 bad usage (E_USAGE), 404 no such folder or
 *   conflict, 409 no longer so (a conflict gone, no held pass), 500 anything else: a real failure
 *   of the agent is never a 4xx. The client turns them back into the same StrataErrors;
 * - control.json exists while the endpoint serves; close() removes it only if it still names this
 *   endpoint, and serveControl refuses to replace one whose agent still runs, answering or not (a
 *   stopped agent is still there); a command that would sync a state dir asks refuseRunningAgent
 *   before it touches anything;
 * - an event stream opens with the current status and then carries every event; a consumer that
 *   falls behind gets fewer, newer statuses (coalesced, events.ts), and one that lets more than
 *   MAX_BUFFERED_BYTES pile up even so is cut off: never buffered without bound.
 */
export { refuseRunningAgent, serveControl, type ControlServer, type ServeOptions } from './server.js';
export { apiError, MAX_BODY_BYTES } from './http.js';
export { SettingsReport, type SettingsRun } from './settings-report.js';
export { serveSignIn, type SignInServer, type SignInTarget } from './signin-server.js';
export { connectControl, pidAlive, probeAgent, ControlClient, DEFAULT_TIMEOUT_MS, type ClientOptions } from './client.js';
export { CONTROL_FILE, controlFilePath, readControlFile, type ControlInfo } from './file.js';
