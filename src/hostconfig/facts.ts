/**
 * What a host config is checked against and compiled for: the accounts, units, containers and time
 * zones of the image it will be applied to. The build reads them from the tree it builds and records
 * them twice, in the manifest and in the image (/usr/lib/slipway/facts.json), so the build host and
 * the first boot compile a config against the same facts. `slipway config validate` with no image
 * named assumes Debian's base accounts only.
 */
import { sha256 } from '../shared/hash.ts';
import type { InstallTarget } from '../shared/unitfile.ts';

export interface ImageFacts {
  users: Map<string, { uid: number; gid: number; home: string }>;
  groups: Map<string, number>;
  /** Unit files the image has; undefined when not known. */
  units?: Set<string>;
  /** Containers the recipe declares. */
  containers: Set<string>;
  /** Whether a time zone exists; undefined when not known. */
  hasTimezone?: (name: string) => boolean;
  /** Where enabling each of the image's units hooks it in (its [Install] section). */
  install: Map<string, InstallTarget[]>;
}

/** The accounts and groups base-passwd gives every Debian system. */
const BASE_USERS: Array<[string, number, number, string]> = [
  ['root', 0, 0, '/root'], ['daemon', 1, 1, '/usr/sbin'], ['bin', 2, 2, '/bin'], ['sys', 3, 3, '/dev'], ['sync', 4, 65534, '/bin'],
  ['games', 5, 60, '/usr/games'], ['man', 6, 12, '/var/cache/man'], ['lp', 7, 7, '/var/spool/lpd'], ['mail', 8, 8, '/var/mail'],
  ['news', 9, 9, '/var/spool/news'], ['uucp', 10, 10, '/var/spool/uucp'], ['proxy', 13, 13, '/bin'], ['www-data', 33, 33, '/var/www'],
  ['backup', 34, 34, '/var/backups'], ['list', 38, 38, '/var/list'], ['irc', 39, 39, '/run/ircd'], ['nobody', 65534, 65534, '/nonexistent'],
];
const BASE_GROUPS: Array<[string, number]> = [
  ['root', 0], ['daemon', 1], ['bin', 2], ['sys', 3], ['adm', 4], ['tty', 5], ['disk', 6], ['lp', 7], ['mail', 8], ['news', 9],
  ['uucp', 10], ['man', 12], ['proxy', 13], ['kmem', 15], ['dialout', 20], ['fax', 21], ['voice', 22], ['cdrom', 24], ['floppy', 25],
  ['tape', 26], ['sudo', 27], ['audio', 29], ['dip', 30], ['www-data', 33], ['backup', 34], ['operator', 37], ['list', 38], ['irc', 39],
  ['src', 40], ['shadow', 42], ['utmp', 43], ['video', 44], ['sasl', 45], ['plugdev', 46], ['staff', 50], ['games', 60], ['users', 100],
  ['nogroup', 65534],
];

export function baseFacts(): ImageFacts {
  return {
    users: new Map(BASE_USERS.map(([name, uid, gid, home]) => [name, { uid, gid, home }])),
    groups: new Map(BASE_GROUPS),
    containers: new Set(),
    install: new Map(),
  };
}

export function parsePasswd(text: string): ImageFacts['users'] {
  const users: ImageFacts['users'] = new Map();
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length >= 7 && fields[0]) users.set(fields[0], { uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5]! });
  }
  return users;
}

export function parseGroup(text: string): ImageFacts['groups'] {
  const groups: ImageFacts['groups'] = new Map();
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length >= 3 && fields[0]) groups.set(fields[0], Number(fields[2]));
  }
  return groups;
}

/** Facts as a build's manifest records them (`image` in manifest.json). */
export interface ManifestFacts {
  users: Array<{ name: string; uid: number; gid: number; home: string }>;
  groups: Array<{ name: string; gid: number }>;
  units: string[];
  containers: string[];
  timezones: string[];
  /** The [Install] targets of the image's units that have any; absent from manifests of a slipway before compiled plans. */
  install?: Record<string, InstallTarget[]>;
}

/** Where the image carries its facts. */
export const FACTS_PATH = '/usr/lib/slipway/facts.json';

/** The facts file's exact text: a plan compiled for an image names it by this text's sha256. */
export function factsFileText(facts: ManifestFacts): string {
  return `${JSON.stringify(facts)}\n`;
}

export function factsDigest(facts: ManifestFacts): string {
  return sha256(factsFileText(facts));
}

export function factsFromManifest(image: ManifestFacts): ImageFacts {
  const timezones = new Set(image.timezones);
  return {
    users: new Map(image.users.map((u) => [u.name, { uid: u.uid, gid: u.gid, home: u.home }])),
    groups: new Map(image.groups.map((g) => [g.name, g.gid])),
    units: new Set(image.units),
    containers: new Set(image.containers),
    hasTimezone: (name) => timezones.has(name),
    install: new Map(Object.entries(image.install ?? {})),
  };
}
