/**
 * A tiny in-memory executor for tests: carries out a plan's ops on a Map the way the real
 * executor must on a disk, and fails loudly on anything the real one would have to refuse:
 * an expected state that does not match, a missing parent, a non-empty dir delete, a name taken
 * (case-insensitively on such disks), or destroying the last copy of a content still needed.
 */
import { foldKey } from './casefold.js';
import { nodeKey, parentOf } from './nodes.js';
import type { ApplyOp } from './ops.js';
import type { FlatTree, Node } from './types.js';

export interface InterpretOptions {
  caseInsensitive?: boolean;
  /** Contents the final tree needs: their last copy on the disk must never be destroyed. */
  needed?: ReadonlySet<string>;
}

function fail(op: ApplyOp, i: number, why: string): never {
  throw new Error(`op ${i} ${op.op} ${op.path}: ${why}`);
}

export function interpret(local: FlatTree, ops: readonly ApplyOp[], options: InterpretOptions = {}): Map<string, Node> {
  const disk = new Map(local);
  const ci = options.caseInsensitive ?? false;
  const copies = (content: string) => [...disk.values()].filter((n) => n.type === 'file' && n.content === content).length;

  ops.forEach((op, i) => {
    const cur = disk.get(op.path);
    if (nodeKey(cur) !== nodeKey(op.expect ?? undefined)) fail(op, i, `expected ${nodeKey(op.expect ?? undefined)}, found ${nodeKey(cur)}`);
    if (op.op === 'delete') {
      if (cur?.type === 'dir' && [...disk.keys()].some((p) => p.startsWith(`${op.path}/`))) fail(op, i, 'dir not empty');
    } else {
      const parent = parentOf(op.path);
      if (parent !== '' && disk.get(parent)?.type !== 'dir') fail(op, i, 'no parent dir');
      if (ci && cur === undefined) {
        const clash = [...disk.keys()].find((p) => foldKey(p) === foldKey(op.path) && !(op.op === 'move' && p === op.from));
        if (clash !== undefined) fail(op, i, `name taken case-insensitively by ${clash}`);
      }
    }
    if (op.op === 'copy' || op.op === 'move') {
      if (nodeKey(disk.get(op.from)) !== nodeKey(op.expectFrom)) fail(op, i, `source ${op.from} is not as expected`);
      if (op.expectFrom.content !== op.node.content) fail(op, i, 'copy changes the content');
    }
    if (op.op === 'setmeta' && (cur === undefined || versionOf(cur) !== versionOf(op.node))) fail(op, i, 'setmeta changes content');
    const destroyed = cur?.type === 'file' && op.op !== 'setmeta' ? cur.content : undefined;
    if (op.op === 'delete') disk.delete(op.path);
    else disk.set(op.path, op.node);
    if (op.op === 'move') disk.delete(op.from);
    if (destroyed !== undefined && options.needed?.has(destroyed) && copies(destroyed) === 0) {
      fail(op, i, `destroys the last copy of needed content ${destroyed}`);
    }
  });
  return disk;
}

function versionOf(n: Node): string {
  return n.type === 'file' ? `f${n.content}` : n.type === 'symlink' ? `l${n.target}` : 'd';
}
