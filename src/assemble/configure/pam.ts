/**
 * /etc/pam.d/common-{auth,account,password,session,session-noninteractive}, made as Debian's
 * pam-auth-update makes them in libpam-runtime's postinst (which slipway does not run): the
 * templates in /usr/share/pam, filled with the enabled profiles of /usr/share/pam-configs. Without
 * them sshd, login and su refuse everyone.
 */
import type { Tree } from '../tree.ts';

const TEMPLATES = 'usr/share/pam';
const PROFILES = 'usr/share/pam-configs';
const TYPES = ['auth', 'account', 'password', 'session', 'session-noninteractive'] as const;

const PRIMARY_MARKER = /^# here are the per-package modules \(the "Primary" block\)/;
const FALLBACK_MARKER = /^# here's the fallback if no module succeeds/;
const ADDITIONAL_MARKER = /^# and here are more per-package modules \(the "Additional" block\)/;
const END_MARKER = /^# end of pam-auth-update config/;

export type PamProfile = Map<string, string>;

/** A pam-configs profile: `Field: value` lines, with indented lines continuing the field before. */
export function parsePamProfile(text: string): PamProfile {
  const profile: PamProfile = new Map();
  let field: string | undefined;
  for (const line of text.split('\n')) {
    const header = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
    if (header) {
      field = header[1]!.replace(/-Final$/, ''); // an old name for the plain field
      profile.set(field, header[2]!.trim());
    } else if (field && line.trim()) {
      const previous = profile.get(field)!;
      profile.set(field, previous ? `${previous}\n${line.trim()}` : line.trim());
    }
  }
  // A session module that is not interactive-only belongs in common-session-noninteractive too.
  if (!profile.has('Session-Interactive-Only')) {
    for (const suffix of ['-Type', '', '-Initial']) {
      const value = profile.get(`Session${suffix}`);
      if (value !== undefined) profile.set(`Session-noninteractive${suffix}`, value);
    }
  }
  return profile;
}

/** Profiles enabled by default, highest priority first, then by name, last first (as pam-auth-update orders them). */
export function enabledProfiles(profiles: ReadonlyMap<string, PamProfile>): PamProfile[] {
  return [...profiles.entries()]
    .filter(([, p]) => p.get('Default') === 'yes')
    .sort(([a, pa], [b, pb]) => Number(pb.get('Priority') ?? 0) - Number(pa.get('Priority') ?? 0) || (a < b ? 1 : a > b ? -1 : 0))
    .map(([, p]) => p);
}

function fieldName(type: (typeof TYPES)[number]): string {
  return type === 'session-noninteractive' ? 'Session-noninteractive' : type[0]!.toUpperCase() + type.slice(1);
}

/** The module lines of one block ('Primary' or 'Additional'), with `end` jumps resolved to line counts. */
function blockLines(profiles: readonly PamProfile[], type: (typeof TYPES)[number], block: 'Primary' | 'Additional'): string[] {
  const field = fieldName(type);
  const stackType = type.replace('-noninteractive', '');
  const modules = profiles
    .filter((p) => p.get(`${field}-Type`) === block)
    .flatMap((p, position) => ((position === 0 && p.get(`${field}-Initial`)) || p.get(field) || '').split('\n').filter(Boolean));
  // `end` jumps past the rest of the block (and, from the Primary block, past the pam_deny line).
  let remaining = block === 'Additional' ? modules.length - 1 : modules.length;
  if (block === 'Primary' && modules.length === 0) return [`${stackType}\t[default=1]\t\t\tpam_permit.so`];
  return modules.map((line) => {
    const parts = /^((\[[^\]]+\]|\w+)\s+\S+)\s*(.*)$/.exec(line);
    const resolved = parts ? `${parts[1]!.replace(/end/g, String(remaining))} ${parts[3]!.split(/\s+/).filter(Boolean).join(' ')}` : line;
    remaining--;
    return `${stackType}\t${resolved}`;
  });
}

export function renderPamConfig(template: string, profiles: readonly PamProfile[], type: (typeof TYPES)[number]): string {
  const out: string[] = [];
  let skipping: RegExp | undefined;
  for (const line of template.split('\n')) {
    if (skipping) {
      if (!skipping.test(line)) continue;
      skipping = undefined;
    }
    out.push(line);
    if (PRIMARY_MARKER.test(line)) {
      out.push(...blockLines(profiles, type, 'Primary'));
      skipping = FALLBACK_MARKER;
    } else if (ADDITIONAL_MARKER.test(line)) {
      out.push(...blockLines(profiles, type, 'Additional'));
      skipping = END_MARKER;
    }
  }
  return out.join('\n');
}

export function configurePam(tree: Tree): void {
  if (!tree.has(`${TEMPLATES}/common-auth`)) return;
  const profiles = new Map(tree.list(PROFILES).map((path) => [path.slice(PROFILES.length + 1), parsePamProfile(tree.readText(path))]));
  const enabled = enabledProfiles(profiles);
  for (const type of TYPES) {
    const target = `etc/pam.d/common-${type}`;
    if (tree.has(target) || !tree.has(`${TEMPLATES}/common-${type}`)) continue;
    tree.writeFile(target, renderPamConfig(tree.readText(`${TEMPLATES}/common-${type}`), enabled, type), { mode: 0o644 });
  }
}
