/**
 * A session's settings (DESIGN §1): the dconf dirs (Linux) or HKCU registry keys (Windows) the org
 * config lists, mirrored as files in home's `.strata/settings/dconf/` or `…/registry/`
 * (settings/mirror.ts), which the session's folder includes. Each machine runs the store of its
 * platform (platformSettingsStore); the other platform's files are in the layer all the same,
 * and wait there for a machine of theirs. The
 * lay runs the mirror once after laying (the layer's values into dconf: first contact by the
 * org's policy), and live sync runs it before each pass (the user's changes into the files the pass
 * then scans) and after each synced one that changed the disk (other machines' changes into dconf).
 *
 * Settings never stop the files from syncing: a failure (dconf missing, no session bus) is
 * reported, once until it changes, and the next run tries again.
 */
import { join } from 'node:path';
import { folderStateDir } from '../agent/index.js';
import type { SettingsRun } from '../control/settings-report.js';
import { describeError } from '../errors.js';
import type { OrgConfig } from '../../shared/org-config.js';
import { Dconf } from '../settings/dconf.js';
import { RegistryStore } from '../settings/registry.js';
import { registryDir } from '../settings/registry-names.js';
import { SettingsMirror, type MirrorResult } from '../settings/mirror.js';
import type { SettingsProblem, SettingsStore } from '../settings/settings.js';
import { sessionFolder } from './folder.js';
import type { Session } from './session.js';

export type SettingsEvent = { type: 'settings-synced'; result: MirrorResult } | { type: 'settings-problem'; problem: SettingsProblem } | { type: 'settings-failed'; error: unknown };

/** The settings store of this platform: the registry on Windows, dconf elsewhere. */
export function platformSettingsStore(platform: NodeJS.Platform = process.platform): SettingsStore {
  return platform === 'win32' ? new RegistryStore() : new Dconf();
}

/** The org's dirs of `store` (by its name), as the mirror takes them. */
export function settingsDirs(org: OrgConfig, store: SettingsStore): string[] {
  if (store.name === 'registry') return org.settings.registry.map(registryDir);
  if (store.name === 'dconf') return org.settings.dconf;
  return [];
}

/** The session's settings mirror, or undefined when the org config lists no settings for `store`. */
export function sessionSettings(session: Session, stateDir: string, store: SettingsStore = platformSettingsStore()): SettingsMirror | undefined {
  const dirs = settingsDirs(session.org, store);
  if (dirs.length === 0) return undefined;
  return new SettingsMirror({
    root: session.home,
    store,
    dirs,
    stateFile: join(folderStateDir(stateDir, sessionFolder(session, stateDir)), `settings-${store.name}.json`),
    device: session.device,
    policy: session.org.policies.firstContact,
  });
}

/**
 * Runs `mirror` and reports through `report`: problems and failures once each until they change
 * (a pass every few seconds must not repeat them); `ran` hears every run's, for a status that
 * shows what stands (sync/control's SettingsReport). Returns the files it changed (relative to home).
 */
export function settingsRunner(mirror: SettingsMirror, report: (e: SettingsEvent) => void, ran?: (run: SettingsRun) => void): () => Promise<readonly string[]> {
  let told = new Set<string>();
  return async () => {
    const now = new Set<string>();
    const tell = (id: string, e: SettingsEvent): void => {
      now.add(id);
      if (!told.has(id)) report(e);
    };
    try {
      const result = await mirror.sync();
      for (const problem of result.problems) tell(`${problem.key}\0${problem.message}`, { type: 'settings-problem', problem });
      if (result.changed.length + result.applied.length + result.conflicts.length > 0) report({ type: 'settings-synced', result });
      ran?.({ problems: result.problems });
      return result.changed.concat(result.conflicts);
    } catch (error) {
      tell(`\0${describeError(error)}`, { type: 'settings-failed', error });
      ran?.({ error });
      return [];
    } finally {
      told = now;
    }
  };
}
