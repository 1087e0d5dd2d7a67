/**
 * The ledger of versions: every file content and symlink target a user step wrote, and which of
 * them a user later destroyed on a disk that held them. The survival rule (sim.test.ts) is checked
 * against it.
 *
 * A version's key is `f:<text>` for a file and `l:<target>` for a symlink. Texts and targets are
 * unique per write (identical edits share one on purpose), so a key names exactly one write.
 *
 * With org layers (world.ts), the admin's writes are versions too, but of the org layer: they are
 * not the user's to keep (an admin's next version replaces them, a user's whiteout hides them),
 * so the survival rule leaves them out. What the ledger records for them instead is what makes a
 * user layer entry legitimate: `adopted` org versions (a user moved or touched them, which copies
 * them up), and the paths a user step removed something at (a whiteout needs one).
 */

export interface Version {
  key: string;
  /** The step that wrote it, its device and path, for messages. */
  step: number;
  device: string;
  path: string;
}

export class Ledger {
  readonly written = new Map<string, Version>();
  /** key → the step that destroyed it (the first one). */
  readonly killed = new Map<string, string>();
  /** Versions the org layer's admin wrote. */
  readonly org = new Set<string>();
  /** Org versions a user step moved or touched: the user layer may hold them (copy-ups). */
  readonly adopted = new Set<string>();
  /** Paths at which a user step removed, moved away or retyped something: the user layer may hold a whiteout there. */
  readonly removedAt = new Set<string>();

  write(v: Version): void {
    if (!this.written.has(v.key)) this.written.set(v.key, v);
  }

  /** A user step removed `key` from a disk that held it: it may legitimately vanish now. */
  kill(key: string, why: string): void {
    if (!this.written.has(key)) throw new Error(`sim: ${why} destroyed ${key}, which no step wrote`);
    if (!this.killed.has(key)) this.killed.set(key, why);
  }

  /** The versions that must be in the final tree: the users', unless destroyed. */
  mustSurvive(): Version[] {
    return [...this.written.values()].filter((v) => !this.killed.has(v.key) && !this.org.has(v.key));
  }
}

export function fileKey(text: string): string {
  return `f:${text}`;
}

export function linkKey(target: string): string {
  return `l:${target}`;
}
