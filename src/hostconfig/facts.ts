/**
 * What a host config is checked against: the accounts, units, containers and time zones of the image
 * it will be applied to. At boot they are read from the image itself; `slipway build --config` reads
 * them from the tree it builds; `slipway config validate` from a build's manifest, or, with no image
 * named, assumes Debian's base accounts only.
 */
export interface ImageFacts {
  users: Map<string, { uid: number; gid: number; home: string }>;
  groups: Map<string, number>;
  /** Unit files the image has; undefined when not known. */
  units?: Set<string>;
  /** Containers the recipe declares. */
  containers: Set<string>;
  /** Whether a time zone exists; undefined when not known. */
  hasTimezone?: (name: string) => boolean;
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
}

export function factsFromManifest(image: ManifestFacts): ImageFacts {
  const timezones = new Set(image.timezones);
  return {
    users: new Map(image.users.map((u) => [u.name, { uid: u.uid, gid: u.gid, home: u.home }])),
    groups: new Map(image.groups.map((g) => [g.name, g.gid])),
    units: new Set(image.units),
    containers: new Set(image.containers),
    hasTimezone: (name) => timezones.has(name),
  };
}
