/**
 * Agent config and small state (device id, paused, last sync, folders), kept in lowdb.
 *
 * Must hold:
 * - the device id is generated once, on first open, and never changes afterwards: `update` refuses
 *   to change it, and a damaged state file is an E_BAD_STATE error, never a silent reset (a new id
 *   would make this machine look like a new device and orphan its head);
 * - every write replaces the file atomically and durably (fsutil.ts). lowdb's JSONFile does
 *   temp + rename without fsync, and `JSONFilePreset` swaps in an in-memory adapter whenever
 *   NODE_ENV=test, so this module gives `Low` its own adapter instead.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Low, type Adapter } from 'lowdb';
import { StrataError } from '../errors.js';
import { isDeviceId, isLayerId } from '../repo/names.js';
import { writeFileAtomic } from './fsutil.js';
import { makeDirsDurably } from '../fsutil.js';

export const STATE_FILE = 'agent.json';

export interface FolderConfig {
  /** Absolute path of the synced directory on this machine. */
  root: string;
  layer: string;
}

export interface AgentConfig {
  version: 1;
  deviceId: string;
  paused: boolean;
  /** ISO 8601 time of the last completed sync pass. */
  lastSync?: string;
  folders: FolderConfig[];
}

export interface AgentState {
  readonly file: string;
  readonly deviceId: string;
  /** The current config; a copy, so callers cannot change it behind `update`'s back. */
  get(): AgentConfig;
  /** Applies `fn` to a draft, validates it and writes it durably; writes are serialized. */
  update(fn: (draft: AgentConfig) => void): Promise<AgentConfig>;
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** A random device id: 16 base32 characters (80 bits), valid under names.ts `isDeviceId`. */
export function newDeviceId(bytes: Uint8Array = randomBytes(10)): string {
  let bits = 0;
  let acc = 0;
  let out = '';
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(acc << (5 - bits)) & 31];
  return out;
}

function bad(file: string, reason: string): StrataError {
  return new StrataError('E_BAD_STATE', `agent state file is damaged (${reason}); fix or move it aside — a new file gives this machine a new device id`, { path: file });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates parsed JSON as an AgentConfig; throws E_BAD_STATE naming `file`. */
export function parseAgentConfig(value: unknown, file: string): AgentConfig {
  if (!isRecord(value)) throw bad(file, 'not a JSON object');
  if (value.version !== 1) throw bad(file, `unknown version ${JSON.stringify(value.version)}`);
  if (!isDeviceId(value.deviceId)) throw bad(file, 'deviceId is missing or invalid');
  if (typeof value.paused !== 'boolean') throw bad(file, 'paused is not a boolean');
  if (value.lastSync !== undefined && (typeof value.lastSync !== 'string' || Number.isNaN(Date.parse(value.lastSync)))) {
    throw bad(file, 'lastSync is not a date');
  }
  if (!Array.isArray(value.folders)) throw bad(file, 'folders is not an array');
  const folders = value.folders.map((f: unknown, i: number): FolderConfig => {
    if (!isRecord(f) || typeof f.root !== 'string' || f.root === '' || !isLayerId(f.layer)) throw bad(file, `folders[${i}] is invalid`);
    return { root: f.root, layer: f.layer };
  });
  const out: AgentConfig = { version: 1, deviceId: value.deviceId, paused: value.paused, folders };
  if (value.lastSync !== undefined) out.lastSync = value.lastSync as string;
  return out;
}

/** lowdb adapter: strict parse on read, durable atomic replace on write. */
class DurableConfigFile implements Adapter<AgentConfig> {
  constructor(readonly file: string) {}

  async read(): Promise<AgentConfig | null> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw bad(this.file, text.length === 0 ? 'empty file' : 'not valid JSON');
    }
    return parseAgentConfig(parsed, this.file);
  }

  write(data: AgentConfig): Promise<void> {
    return writeFileAtomic(this.file, `${JSON.stringify(data, null, 2)}\n`);
  }
}

export interface OpenAgentStateOptions {
  /** Device id for a fresh state dir; tests inject it, the agent lets it default to random. */
  newDeviceId?: () => string;
}

/** The device id of `stateDir`'s agent state, read without creating anything; undefined when it has none yet. */
export async function readDeviceId(stateDir: string): Promise<string | undefined> {
  return (await new DurableConfigFile(join(stateDir, STATE_FILE)).read())?.deviceId;
}

/** Opens (creating on first use) the agent state in `stateDir`. */
export async function openAgentState(stateDir: string, options: OpenAgentStateOptions = {}): Promise<AgentState> {
  await makeDirsDurably(stateDir, 0o700);
  const file = join(stateDir, STATE_FILE);
  const adapter = new DurableConfigFile(file);
  const existing = await adapter.read();
  const db = new Low<AgentConfig>(adapter, existing ?? { version: 1, deviceId: '', paused: false, folders: [] });
  if (existing === null) {
    const id = (options.newDeviceId ?? newDeviceId)();
    db.data = parseAgentConfig({ ...db.data, deviceId: id }, file);
    await db.write();
  }
  const deviceId = db.data.deviceId;
  let queue: Promise<unknown> = Promise.resolve();

  const update = (fn: (draft: AgentConfig) => void): Promise<AgentConfig> => {
    const run = async (): Promise<AgentConfig> => {
      const draft = structuredClone(db.data);
      fn(draft);
      if (draft.deviceId !== deviceId) throw new StrataError('E_BAD_STATE', 'the device id must never change', { path: file });
      const next = parseAgentConfig(draft, file);
      await adapter.write(next);
      db.data = next;
      return structuredClone(next);
    };
    const result = queue.then(run, run);
    queue = result.catch(() => undefined);
    return result;
  };

  return { file, deviceId, get: () => structuredClone(db.data), update };
}
