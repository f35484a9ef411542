/**
 * Leaving packages or paths out is safe only while nothing the image keeps needs them. What a kept
 * file needs, as far as a build can see: the libraries an ELF file links (DT_NEEDED) and its program
 * interpreter, a script's #! interpreter, the programs a unit's Exec*= lines start, and the
 * programs slipway's own runtime calls. A need that only a left-out file could meet is a problem.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { posix } from 'node:path';
import { interpreter, isElf, neededLibraries } from './elf.ts';
import { canonicalPath, type Tree } from './tree.ts';
import { parseUnitFile } from '../shared/unitfile.ts';
import { CONTAINER_ROOTS_DIR } from '../recipe/container-units.ts';

/** Why a path is not in the image: "exclude: libc6" or "remove: /usr/lib/**". */
export type LeftOutPaths = Map<string, string>;

export interface UnmetNeed {
  /** The kept file that needs it, as /path. */
  neededBy: string;
  /** The package or "slipway" that put the kept file there. */
  origin: string;
  /** What it needs: a soname or a /path. */
  need: string;
  /** The left-out path that would have met it, and why it is left out. */
  leftOut: string;
  reason: string;
}

const LIBRARY_DIRS = ['usr/lib/x86_64-linux-gnu', 'usr/lib', 'usr/lib64'];
const UNIT_DIRS = ['usr/lib/systemd/system', 'etc/systemd/system'];
const EXEC_KEYS = /^Exec(Start|StartPre|StartPost|Stop|StopPost|Reload|Condition)$/;

/** Follows symlinks inside the tree; the canonical path something resolves to, present or not. */
function resolveInTree(tree: Tree, path: string): string {
  let current = canonicalPath(path);
  for (let hops = 0; hops < 16; hops++) {
    const entry = tree.get(current);
    if (entry?.type !== 'symlink') return current;
    const target = entry.target!;
    current = canonicalPath(target.startsWith('/') ? target : posix.join(posix.dirname(current), target));
  }
  return current;
}

function head(tree: Tree, path: string, length: number): Buffer {
  const fd = openSync(tree.hostPath(path), 'r');
  try {
    const buffer = Buffer.alloc(length);
    return buffer.subarray(0, readSync(fd, buffer, 0, length, 0));
  } finally {
    closeSync(fd);
  }
}

/** The program a unit's Exec line runs: its first word after systemd's prefixes (-@:+!). */
function execProgram(value: string): string | undefined {
  const word = value.trim().replace(/^[-@:+!|]+/, '').split(/\s+/)[0];
  return word?.startsWith('/') ? word : undefined;
}

class NeedChecker {
  readonly unmet: UnmetNeed[] = [];
  private readonly leftOutLibraries = new Map<string, string>();

  constructor(
    private readonly tree: Tree,
    private readonly leftOut: LeftOutPaths,
  ) {
    for (const path of leftOut.keys()) {
      if (LIBRARY_DIRS.includes(posix.dirname(path))) this.leftOutLibraries.set(posix.basename(path), path);
    }
  }

  path(neededBy: string, need: string): void {
    const resolved = resolveInTree(this.tree, need);
    if (this.tree.has(resolved)) return;
    const reason = this.leftOut.get(resolved) ?? this.leftOut.get(canonicalPath(need));
    if (reason) this.report(neededBy, need, `/${resolved}`, reason);
  }

  library(neededBy: string, soname: string): void {
    if (LIBRARY_DIRS.some((dir) => this.tree.has(resolveInTree(this.tree, `${dir}/${soname}`)))) return;
    const leftOut = this.leftOutLibraries.get(soname);
    if (leftOut) this.report(neededBy, soname, `/${leftOut}`, this.leftOut.get(leftOut)!);
  }

  file(path: string): void {
    const start = head(this.tree, path, 256);
    if (start[0] === 0x23 && start[1] === 0x21) {
      const line = start.toString('utf8', 2).split('\n')[0]!.trim();
      const program = line.split(/\s+/)[0];
      if (program?.startsWith('/')) this.path(path, program);
      return;
    }
    if (!isElf(Buffer.concat([start, Buffer.alloc(65)]))) return;
    // Only a left-out library makes reading the whole ELF file worth it.
    if (this.leftOutLibraries.size === 0) return;
    const bytes = this.tree.read(path);
    const interp = interpreter(bytes);
    if (interp) this.path(path, interp);
    for (const soname of neededLibraries(bytes)) this.library(path, soname);
  }

  unit(path: string): void {
    let unit;
    try {
      unit = parseUnitFile(this.tree.readText(path));
    } catch {
      return; // systemd would refuse it too; nothing it starts is a need
    }
    for (const [, lines] of unit.sections) {
      for (const { key, value } of lines) {
        const program = EXEC_KEYS.test(key) ? execProgram(value) : undefined;
        if (program) this.path(path, program);
      }
    }
  }

  private report(neededBy: string, need: string, leftOut: string, reason: string): void {
    this.unmet.push({ neededBy: `/${canonicalPath(neededBy)}`, origin: this.tree.get(neededBy)?.origin ?? 'slipway', need, leftOut, reason });
  }
}

/**
 * Every need of a kept file that a left-out path would have met. `runtimeNeeds` are paths slipway's
 * own runtime starts by name (runc through the shim, for instance), which no file declares.
 */
export function unmetNeeds(tree: Tree, leftOut: LeftOutPaths, runtimeNeeds: ReadonlyArray<{ path: string; neededBy: string }>): UnmetNeed[] {
  if (leftOut.size === 0) return [];
  const checker = new NeedChecker(tree, leftOut);
  for (const [path, entry] of tree.entries) {
    // A built container's files run in its own root, against its own libraries.
    if (entry.type !== 'file' || path.startsWith(`${CONTAINER_ROOTS_DIR}/`)) continue;
    if (UNIT_DIRS.includes(posix.dirname(path)) && /\.(service|socket|timer|path|mount)$/.test(path)) checker.unit(path);
    else if (entry.mode & 0o111 || LIBRARY_DIRS.some((dir) => path.startsWith(`${dir}/`))) checker.file(path);
  }
  for (const { path, neededBy } of runtimeNeeds) checker.path(neededBy, path);
  return checker.unmet;
}

/** Problems for people, grouped by what left the need out: each with the chain that wanted it and up to four kept files that need it. */
export function describeUnmet(unmet: readonly UnmetNeed[], chains: ReadonlyMap<string, readonly string[]>): string[] {
  const lines: string[] = [];
  for (const [reason, needs] of groupBy(unmet, (u) => u.reason)) {
    const excluded = /^exclude: (.+)$/.exec(reason)?.[1];
    const files = new Set(needs.map((u) => u.neededBy)).size;
    const what = files === 1 ? 'one kept file' : `${files} kept files`;
    lines.push(excluded ? `  exclude: ${excluded}, wanted by ${[...(chains.get(excluded) ?? []), excluded].join(' → ')}, is needed by ${what}:` : `  ${reason}: needed by ${what}:`);
    for (const [file, group] of [...groupBy(needs, (u) => u.neededBy)].slice(0, 4)) {
      const origin = group[0]!.origin;
      const from = chains.has(origin) ? `${origin}, from ${[...chains.get(origin)!, origin].join(' → ')}` : origin;
      lines.push(`    ${file} (${from}) needs ${group.map((u) => u.need).join(' and ')}`);
    }
    if (files > 4) lines.push(`    and ${files - 4} more files`);
  }
  return lines;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}
