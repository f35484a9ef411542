import type { Relation } from '../../shared/debian-version.ts';

/** One alternative of a dependency: `name[:arch] [(relation version)]`. */
export interface DependencyAtom {
  name: string;
  /** `any` for `name:any`, an architecture for `name:amd64`, undefined when unqualified. */
  arch?: string;
  relation?: Relation;
  version?: string;
}

/** A dependency field: a list of groups, each satisfied by any one of its alternatives. */
export type Dependency = DependencyAtom[];

const RELATIONS: Record<string, Relation> = { '<<': '<<', '<=': '<=', '=': '=', '>=': '>=', '>>': '>>', '<': '<=', '>': '>=' };

const ATOM = /^([a-z0-9][a-z0-9+.-]*)(?::([a-z0-9-]+))?\s*(?:\(\s*(<<|<=|=|>=|>>|<|>)\s*([0-9][^)\s]*)\s*\))?\s*(?:\[[^\]]*\])?\s*(?:<[^>]*>)?$/;

export function parseAtom(text: string): DependencyAtom {
  const match = ATOM.exec(text.trim());
  if (!match) throw new Error(`cannot parse dependency "${text.trim()}"`);
  const atom: DependencyAtom = { name: match[1]! };
  if (match[2]) atom.arch = match[2];
  if (match[3]) {
    atom.relation = RELATIONS[match[3]]!;
    atom.version = match[4]!;
  }
  return atom;
}

export function parseDependencies(field: string | undefined): Dependency[] {
  if (!field) return [];
  return field
    .split(',')
    .map((group) => group.trim())
    .filter(Boolean)
    .map((group) => group.split('|').map(parseAtom));
}

export function formatAtom(atom: DependencyAtom): string {
  const arch = atom.arch ? `:${atom.arch}` : '';
  return atom.relation ? `${atom.name}${arch} (${atom.relation} ${atom.version})` : `${atom.name}${arch}`;
}

export function formatDependency(group: Dependency): string {
  return group.map(formatAtom).join(' | ');
}

/** A recipe request: "name", "name=VERSION" or "name (>= VERSION)". */
export function parseRequest(text: string): DependencyAtom {
  const pinned = /^\s*([a-z0-9][a-z0-9+.-]*)\s*=\s*([0-9][^=\s]*)\s*$/.exec(text);
  if (pinned) return { name: pinned[1]!, relation: '=', version: pinned[2]! };
  return parseAtom(text);
}
