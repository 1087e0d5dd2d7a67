/**
 * What the agent service (agent.ts) is given: its state dir, how to open the store, the folders,
 * and how often and by what it is told to run their passes.
 */
import type { FileChunker } from '../snapshot/index.js';
import type { ObjectStore } from '../store/index.js';
import type { EventQueue, TreeWatch } from '../watch/index.js';
import type { FolderSpec } from './runtime.js';

export interface AgentOptions {
  stateDir: string;
  /** Opens the store; called on the first pass, never while paused. */
  openStore: () => ObjectStore | Promise<ObjectStore>;
  folders: readonly FolderSpec[];
  /** How often other devices' heads are polled. Default 10 s. */
  pollMs?: number;
  /** Watch the folders for changes (default true); without it only polls and syncNow run passes. */
  watch?: boolean;
  /**
   * How often a watched folder is rescanned whole all the same (default 1 hour): inotify drops
   * events when its queue overflows and Node never says so. The watcher rescans after a burst
   * that may have overflowed it (watch/queue.ts); this is for losses no sign shows. The stat cache keeps it cheap.
   */
  rescanMs?: number;
  /** The OS's event queue the watchers read (tests: one that overflows at a few events, sync/testing/lossy-queue.ts). */
  watchQueue?: EventQueue;
  /** The one handle on a whole folder the watchers use on macOS and Windows (tests: a fake that overflows, sync/testing/lossy-tree-watch.ts). */
  watchTree?: TreeWatch;
  debounceMs?: number;
  stabilityMs?: number;
  chunker?: FileChunker;
  now?: () => Date;
  caseInsensitive?: boolean;
  /** Device id for a fresh state dir (tests). */
  newDeviceId?: () => string;
  /**
   * Runs before each pass of a folder and after each synced one that changed the disk (a settings mirror:
   * signin/settings.ts). It returns the paths it changed under the folder's root (relative, "/"),
   * which the pass rescans — or, after a pass, the next one, due at once. It reports its own
   * failures: a rejection is taken as no change.
   */
  beside?: (root: string) => Promise<readonly string[]>;
  /**
   * Watches what `beside` carries for changes made on the machine (dconf watch): started for each
   * folder with the agent, it calls `changed` soon after one, and the folder's pass is then due at
   * once instead of at the next poll. The function it returns stops it; the agent calls it when it stops.
   */
  watchBeside?: (root: string, changed: () => void) => () => Promise<void>;
}
