/**
 * The Agent API: what the tray, the UI and the CLI may ask of a running agent, and what it tells
 * them. One definition for every transport (the loopback control endpoint, Electron's preload
 * bridge): each command has an argument and a result type, each event a payload, and
 * `parseCommand` checks a command from the outside before any handler sees it.
 *
 * Must hold:
 * - commands are idempotent (pausing a paused agent is not an error) and answer with the status
 *   after the command took effect, so a client never needs a second round trip to see it;
 * - every status carries everything a tray needs to draw itself; events are the same status
 *   pushed, never a delta the client must apply in order. So a transport may hand a reader that
 *   falls behind only the newest of statuses that differ in nothing but progress figures; every
 *   other event reaches it, in order (sync/control/events.ts).
 */

/** What a folder (or the agent, summed over its folders) is doing. */
export type SyncState = 'idle' | 'scanning' | 'uploading' | 'downloading' | 'paused' | 'offline' | 'error';

export const SYNC_STATES: readonly SyncState[] = ['idle', 'scanning', 'uploading', 'downloading', 'paused', 'offline', 'error'];

export interface Progress {
  /** Files (and symlinks) done and to do in the current phase. */
  files: number;
  filesTotal: number;
  bytes: number;
  bytesTotal: number;
  /**
   * True while the totals are still being counted (a scan is still finding changed files): they
   * are what was found so far and may grow. Absent or false: the totals are final.
   */
  counting?: boolean;
  /** Bytes per second over the last few seconds; 0 when unknown. */
  rate: number;
  /** Seconds left at `rate`; absent when unknown. */
  etaSeconds?: number;
}

/** One version of a conflict, as the agent's last scan saw it on this disk. */
export interface VersionInfo {
  kind: 'file' | 'dir' | 'symlink';
  /** Bytes, of a file. */
  size?: number;
  /** ISO 8601 modification time; absent when the disk gave one no date can hold. */
  mtime?: string;
}

export interface ConflictInfo {
  /** Layer-relative path of the version that kept the name. */
  path: string;
  /** Layer-relative path of the conflict copy (`name.sync-conflict-YYYYMMDD-HHMMSS-<device>.ext`). */
  copy: string;
  /** Device that made the version in the copy. (Which device made the name's version is not recorded.) */
  device: string;
  /** The name's version and the copy's; a side is absent where the last scan found nothing (deleted by hand). */
  versions?: { name?: VersionInfo; copy?: VersionInfo };
}

/** Which version of a conflict a resolve keeps (AgentCommands.resolveConflict). */
export type KeepSide = 'name' | 'copy' | 'both';

export const KEEP_SIDES: readonly KeepSide[] = ['name', 'copy', 'both'];

export interface ApiError {
  code: string;
  message: string;
  path?: string;
  key?: string;
}

/** What resolveConflict answers: the status after it and, for keep "both", the layer path the copy took. */
export type ResolvedConflict = AgentStatus & { besideAs?: string };

/** What resolveConflicts did: the status after it, the conflicts it ended, and those it left, each with why. */
export interface ResolvedConflicts {
  status: AgentStatus;
  /** `besideAs`: where keep "both" put the copy (layer path). */
  resolved: { path: string; copy: string; besideAs?: string }[];
  failed: { copy: string; error: ApiError }[];
}

export interface PendingDeletes {
  /** Files (and symlinks) the held pass would delete… */
  files: number;
  /** …out of this many on disk. */
  of: number;
  /** 'local': the deletes were made on this machine and would go to the bucket; 'remote': the other way. */
  direction: 'local' | 'remote';
  /**
   * Which hold this is: a digest of its direction and the paths it deletes. Another hold with the
   * same counts has another id; an answer is for the hold with its id only.
   */
  id?: string;
  /**
   * The user's answer, once confirmDeletes or restoreDeletes took it: the pass that acts on it is
   * due or running (on a paused agent, at Resume). Absent while the pass waits for one; a pass
   * that then holds other deletes asks again.
   */
  answer?: 'confirm' | 'restore';
}

/** An answer to a held mass delete that a pass could not carry out, as no hold was left for it. */
export interface NotCarried {
  answer: 'confirm' | 'restore';
  /** Why, in words: "the files are already back". */
  why: string;
}

export interface FolderStatus {
  root: string;
  layer: string;
  state: SyncState;
  progress?: Progress;
  /** ISO 8601 time this folder was last fully in sync. */
  lastSync?: string;
  /**
   * Why the folder is in state 'error' or 'offline'. It stands until a pass ends: under 'paused', or
   * while a pass runs again, it is why the last pass failed.
   */
  error?: ApiError;
  /**
   * What keeps the folder from syncing as it should, though it syncs on (any state): its message
   * says what to do. E_WATCH_LIMIT: a system limit left folders unwatched, so changes are found by
   * rescanning the whole folder at each poll instead of as they happen. E_PATH_TOO_LONG: a path
   * too long to read or to lay here. E_NOT_SYNCED: entries the layer cannot hold (a name it
   * refuses, a FIFO, an unreadable entry), the first named, until they are renamed or gone.
   */
  warning?: ApiError;
  /**
   * How many times since the agent started the folder's watcher read a burst of events large
   * enough to have overflowed the OS's event queue (inotify's fs.inotify.max_queued_events), which
   * drops events unsaid: each time the whole folder was rescanned. Absent while none came. Only to
   * find out why a folder rescans; nothing the user must do (a larger queue makes it rarer).
   */
  overflowRescans?: number;
  /** Set while a pass that would delete more than half of the files waits for `confirmDeletes` or `restoreDeletes`. */
  pendingDeletes?: PendingDeletes;
  /**
   * The answer to a held mass delete that the folder's last pass carried out. Absent when it
   * carried out none: an answer that found no hold any more is said in `notCarried`.
   */
  answered?: 'confirm' | 'restore';
  /**
   * The answer to a held mass delete that the folder's last answered pass found nothing held for,
   * and why. It stands until the folder holds deletes again or takes another answer.
   */
  notCarried?: NotCarried;
  conflicts: ConflictInfo[];
  /** Files (and symlinks) in the folder at the last scan. */
  files: number;
  /**
   * Passes of this folder that ended in sync since the agent started: a higher count is a pass that
   * has run, whatever the clock says (lastSync may go back with it).
   */
  syncedPasses: number;
  /**
   * Passes of this folder begun since the agent started, an attempt to open the bucket or the
   * folder that failed counting as one: each is numbered by the count as it begins. It orders
   * statuses that came over different connections (a command's answer, the event stream): one with
   * a higher count was made after that pass began. A sign-out's flush waits on it.
   */
  passes: number;
  /** The number (`passes`) of the last pass that ended in sync; absent while none did. */
  lastSyncedPass?: number;
}

/** A setting the settings mirror did not sync, and why (its message says what became of the key). */
export interface SettingsProblemInfo {
  /** The key path: `/org/gnome/desktop/interface/gtk-theme`. */
  key: string;
  message: string;
  /** The key is locked on this machine (an administrator's), whatever the value. */
  locked?: true;
  /**
   * Whether the mirror's last run still had it. False: an earlier run's, news rather than a state
   * (a value the store refused, which that run replaced in the layer by this machine's).
   */
  standing: boolean;
}

/** The settings mirror's standing (DESIGN §1): absent where the org config lists no settings. */
export interface SettingsStatus {
  /** The settings store: "dconf". */
  store: string;
  /** Why the mirror's last run failed as a whole (dconf not installed, not running); files sync on. */
  error?: ApiError;
  /** Standing ones first, then earlier ones since the agent started, the newest first. */
  problems: SettingsProblemInfo[];
}

export interface AgentStatus {
  deviceId: string;
  /** The user paused sync (persists across restarts). */
  paused: boolean;
  /** The most urgent folder state: error, offline, then busy states, then paused, then idle. */
  state: SyncState;
  folders: FolderStatus[];
  /** ISO 8601 time all folders were last in sync. */
  lastSync?: string;
  settings?: SettingsStatus;
}

/** Every command: its argument and its result. */
export interface AgentCommands {
  status: { arg: Record<string, never>; result: AgentStatus };
  pause: { arg: Record<string, never>; result: AgentStatus };
  resume: { arg: Record<string, never>; result: AgentStatus };
  /**
   * A pass of every folder now. `rescan` "all": that pass scans the whole folder, not only what the
   * watcher reported (it reports a file once it has been quiet a moment): a sign-out's last flush.
   */
  syncNow: { arg: { rescan?: 'all' }; result: AgentStatus };
  conflicts: { arg: Record<string, never>; result: ConflictInfo[] };
  /**
   * Lets the held pass of `root` go ahead with its deletes. `id`: the hold the user was shown
   * (PendingDeletes.id); if the folder now holds another, the answer is refused (E_HOLD_CHANGED)
   * and the user must look again. Without it, the answer goes to the hold the folder has now.
   */
  confirmDeletes: { arg: { root: string; id?: string }; result: AgentStatus };
  /**
   * The other answer to a held pass of `root`: its deletes, and those of the same direction that
   * went through in the last hour, are put back — on this disk and in the layer, so on every
   * machine. `id` as for confirmDeletes.
   */
  restoreDeletes: { arg: { root: string; id?: string }; result: AgentStatus };
  /**
   * Ends a conflict of `root` (one of its status's conflicts, named by its copy): `keep` "name"
   * keeps the version that has the name and deletes the copy; "copy" puts the copy's version in
   * the name's place; "both" keeps the two, the copy renamed beside the name to an ordinary name
   * that says where it came from (`report (laptop 2026-12-07 10.31).docx`), never over a file,
   * which the answer names (`besideAs`). The next pass syncs it; a version let go stays in the
   * layer's history.
   */
  resolveConflict: { arg: { root: string; copy: string; keep: string }; result: ResolvedConflict };
  /**
   * Ends many conflicts of `root` the same way: those whose copies `copies` names, or, without it,
   * every one its status lists. Each is ended as resolveConflict ends one; one that cannot be
   * (gone, a version gone, a folder) is said in `failed` and the rest go on. Keeping the copy of a
   * file with more than one copy among them is refused for those (each would replace the last).
   */
  resolveConflicts: { arg: { root: string; keep: string; copies?: string[] }; result: ResolvedConflicts };
}

export type CommandName = keyof AgentCommands;
export type CommandArg<C extends CommandName> = AgentCommands[C]['arg'];
export type CommandResult<C extends CommandName> = AgentCommands[C]['result'];

export type AgentEvent = { type: 'status'; status: AgentStatus } | { type: 'conflict'; root: string; conflict: ConflictInfo };

/** What an agent implements and a client calls, whatever carries the calls. */
export interface AgentApi {
  call<C extends CommandName>(command: C, arg: CommandArg<C>): Promise<CommandResult<C>>;
  /** Returns the unsubscribe function. */
  subscribe(listener: (event: AgentEvent) => void): () => void;
}

/**
 * Each field's type; 'string?' may be left out, but if given is a non-empty string too;
 * 'string[]?' may be left out, but if given is an array of non-empty strings.
 */
type ArgSchema = Record<string, 'string' | 'string?' | 'string[]?'>;

const ARG_SCHEMAS: { readonly [C in CommandName]: ArgSchema } = {
  status: {},
  pause: {},
  resume: {},
  syncNow: { rescan: 'string?' },
  conflicts: {},
  confirmDeletes: { root: 'string', id: 'string?' },
  restoreDeletes: { root: 'string', id: 'string?' },
  resolveConflict: { root: 'string', copy: 'string', keep: 'string' },
  resolveConflicts: { root: 'string', keep: 'string', copies: 'string[]?' },
};

export const COMMAND_NAMES = Object.keys(ARG_SCHEMAS) as CommandName[];

export function isCommandName(name: unknown): name is CommandName {
  return typeof name === 'string' && Object.hasOwn(ARG_SCHEMAS, name);
}

/**
 * Checks a command that arrived from outside the process: a known name, an object argument with
 * the fields its schema lists and no other, each of the right type (an optional one may be absent). Throws an Error whose message says
 * what is wrong; returns the argument, typed.
 */
export function parseCommand(name: unknown, arg: unknown): { command: CommandName; arg: CommandArg<CommandName> } {
  if (!isCommandName(name)) throw new Error(`unknown command ${JSON.stringify(name)}`);
  const a = arg ?? {};
  if (typeof a !== 'object' || Array.isArray(a)) throw new Error(`${name}: the argument must be an object`);
  const schema = ARG_SCHEMAS[name];
  const given = a as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(schema, key)) throw new Error(`${name}: unexpected field ${JSON.stringify(key)}`);
  }
  for (const [key, spec] of Object.entries(schema)) {
    const optional = spec.endsWith('?');
    const type = optional ? spec.slice(0, -1) : spec;
    if (optional && given[key] === undefined) continue;
    if (type === 'string[]') {
      const v = given[key];
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === '')) throw new Error(`${name}: field ${JSON.stringify(key)} must be an array of non-empty strings`);
      continue;
    }
    if (typeof given[key] !== type || given[key] === '') throw new Error(`${name}: field ${JSON.stringify(key)} must be a non-empty ${type}`);
  }
  return { command: name, arg: given as CommandArg<CommandName> };
}

const URGENCY: readonly SyncState[] = ['error', 'offline', 'downloading', 'uploading', 'scanning', 'paused', 'idle'];

/** The agent's overall state from its folders' (see AgentStatus.state). */
export function overallState(states: readonly SyncState[], paused: boolean): SyncState {
  if (states.length === 0) return paused ? 'paused' : 'idle';
  return URGENCY.find((s) => states.includes(s)) ?? 'idle';
}
