/**
 * The checks a schema cannot make: names that must exist (or must not) in the image, paths the
 * read-only root cannot take, base64 that does not decode, units that do not parse. Each problem
 * names the place in the config, like a schema error.
 */
import type { ImageFacts } from './facts.ts';
import type { HostConfig } from './schema.ts';
import { installTargets, parseUnitFile, UnitSyntaxError, type UnitFile } from '../shared/unitfile.ts';
import { isUnitFileName } from '../shared/paths.ts';
import { imageUserKeysPath } from './plan.ts';

const WRITABLE = /^\/(etc|var)\/./;

export function isValidBase64(text: string): boolean {
  const compact = text.replace(/\s/g, '');
  return /^[A-Za-z0-9+/]*={0,2}$/.test(compact) && compact.length % 4 === 0;
}

/** A unit file's syntax problem, or undefined when it parses. */
function unitProblem(text: string): string | undefined {
  try {
    parseUnitFile(text);
    return undefined;
  } catch (error) {
    if (error instanceof UnitSyntaxError) return `does not parse as a unit file: ${error.message}`;
    throw error;
  }
}

function duplicates<T>(items: readonly T[], key: (item: T) => string, where: string, problems: string[]): void {
  const seen = new Set<string>();
  items.forEach((item, index) => {
    const k = key(item);
    if (seen.has(k)) problems.push(`${where}[${index}]: "${k}" is given twice`);
    seen.add(k);
  });
}

function checkOwner(owner: string, at: string, config: HostConfig, facts: ImageFacts, problems: string[]): void {
  const [user, group] = owner.split(':') as [string, string | undefined];
  const configUsers = new Set(config.users.map((u) => u.name));
  if (!/^\d+$/.test(user) && !configUsers.has(user) && !facts.users.has(user)) {
    problems.push(`${at}.owner: unknown user "${user}" (neither in users nor in the image)`);
  }
  if (group !== undefined && !/^\d+$/.test(group) && !configUsers.has(group) && !facts.groups.has(group)) {
    problems.push(`${at}.owner: unknown group "${group}" (neither a user's group nor in the image)`);
  }
}

/** What the plan writes besides files[]: each user's home (with .ssh and its keys), each unit's file. */
function plannedPaths(config: HostConfig, facts: ImageFacts): Map<string, { what: string; folder: boolean }> {
  const paths = new Map<string, { what: string; folder: boolean }>();
  config.users.forEach((user, index) => {
    if (facts.users.has(user.name)) {
      if (user.sshAuthorizedKeys.length > 0) paths.set(imageUserKeysPath(user.name), { what: `the authorized keys of users[${index}] (${user.name})`, folder: false });
      return;
    }
    const home = `/var/home/${user.name}`;
    paths.set(home, { what: `the home of users[${index}] (${user.name})`, folder: true });
    if (user.sshAuthorizedKeys.length > 0) {
      paths.set(`${home}/.ssh`, { what: `the .ssh folder of users[${index}] (${user.name})`, folder: true });
      paths.set(`${home}/.ssh/authorized_keys`, { what: `the authorized keys of users[${index}] (${user.name})`, folder: false });
    }
  });
  config.units.forEach((unit, index) => paths.set(`/etc/systemd/system/${unit.name}`, { what: `the unit file of units[${index}]`, folder: false }));
  return paths;
}

/**
 * Refuses what the initrd could only half apply: a file below another file, or a file where the
 * plan puts a home, keys or a unit, or one of their folders. (Names over 255 bytes fail the schema.)
 */
function checkPlannedPaths(config: HostConfig, facts: ImageFacts, problems: string[]): void {
  const files = new Map(config.files.map((file, index) => [file.path, index]));
  const planned = plannedPaths(config, facts);
  config.files.forEach((file, index) => {
    const at = `files[${index}].path`;
    for (let cut = file.path.lastIndexOf('/'); cut > 0; cut = file.path.lastIndexOf('/', cut - 1)) {
      const folder = file.path.slice(0, cut);
      const other = files.get(folder);
      if (other !== undefined) problems.push(`${at}: ${file.path} is below ${folder}, which files[${other}] makes a file`);
      const plannedFile = planned.get(folder);
      if (plannedFile && !plannedFile.folder) problems.push(`${at}: ${file.path} is below ${folder}, which is ${plannedFile.what}`);
    }
    const same = planned.get(file.path);
    const below = [...planned].find(([path]) => path.startsWith(`${file.path}/`));
    if (same) problems.push(`${at}: ${file.path} is ${same.what}; give the file another path`);
    else if (below) problems.push(`${at}: ${file.path} is a folder of ${below[1].what}; give the file another path`);
  });
}

export function checkHostConfig(config: HostConfig, facts: ImageFacts): string[] {
  const problems: string[] = [];
  const configUsers = new Set(config.users.map((u) => u.name));
  const imageUids = new Set([...facts.users.values()].map((u) => u.uid));

  duplicates(config.users, (u) => u.name, 'users', problems);
  const uids = new Set<number>();
  config.users.forEach((user, index) => {
    if (user.uid !== undefined && uids.has(user.uid)) problems.push(`users[${index}].uid: ${user.uid} is given to another user too`);
    if (user.uid !== undefined) uids.add(user.uid);
  });
  config.users.forEach((user, index) => {
    if (facts.users.has(user.name)) {
      // As Ignition and cloud-init do, a user the image has (root included) may get keys and groups.
      for (const field of ['uid', 'shell'] as const) {
        if (user[field] !== undefined) problems.push(`users[${index}].${field}: "${user.name}" is a user of the image, which a config gives only ssh keys and groups; leave ${field} out or give a new user name`);
      }
    } else if (facts.groups.has(user.name)) problems.push(`users[${index}].name: "${user.name}" is a group of the image; give a new user name`);
    else if (user.uid !== undefined && imageUids.has(user.uid)) problems.push(`users[${index}].uid: ${user.uid} is already used in the image`);
    user.groups.forEach((group, g) => {
      if (!facts.groups.has(group) && !configUsers.has(group)) problems.push(`users[${index}].groups[${g}]: unknown group "${group}"`);
    });
  });

  duplicates(config.files, (f) => f.path, 'files', problems);
  checkPlannedPaths(config, facts, problems);
  config.files.forEach((file, index) => {
    const at = `files[${index}]`;
    if (!WRITABLE.test(file.path)) problems.push(`${at}.path: ${file.path} is on the read-only root; files go under /etc or /var`);
    if (file.base64 !== undefined && !isValidBase64(file.base64)) problems.push(`${at}.base64: not valid base64`);
    checkOwner(file.owner, at, config, facts, problems);
  });

  duplicates(config.units, (u) => u.name, 'units', problems);
  config.units.forEach((unit, index) => {
    const at = `units[${index}]`;
    let parsed: UnitFile | undefined;
    if (unit.content !== undefined) {
      const problem = unitProblem(unit.content);
      if (problem) problems.push(`${at}.content: ${problem}`);
      else parsed = parseUnitFile(unit.content);
    } else if (facts.units && !facts.units.has(unit.name)) {
      problems.push(`${at}: ${unit.name} is not in the image; give its content`);
    }
    unit.dropins.forEach((dropin, d) => {
      const problem = unitProblem(dropin.content);
      if (problem) problems.push(`${at}.dropins[${d}].content: ${problem}`);
    });
    for (const { target } of parsed ? installTargets(parsed) : []) {
      if (!isUnitFileName(target)) problems.push(`${at}.content: [Install] names ${JSON.stringify(target)}, which is not a unit name such as multi-user.target`);
    }
    if (unit.enabled === true && parsed && installTargets(parsed).length === 0) {
      problems.push(`${at}.enabled: ${unit.name} has no WantedBy= or RequiredBy= in an [Install] section, so it cannot be enabled`);
    }
    if (unit.enabled === false && unit.content === undefined) {
      problems.push(`${at}.enabled: to turn off a unit of the image, use mask: true`);
    }
  });

  duplicates(config.containers, (c) => c.name, 'containers', problems);
  config.containers.forEach((container, index) => {
    if (!('ref' in container.image)) problems.push(`containers[${index}].image: a host config pulls its images (image.ref); images from packages or archives are built in by the recipe`);
    if (facts.containers.has(container.name)) problems.push(`containers[${index}].name: the image already has a container "${container.name}"`);
  });

  duplicates(config.network.interfaces, (i) => i.name, 'network.interfaces', problems);
  config.network.interfaces.forEach((iface, index) => {
    if (!iface.dhcp && iface.addresses.length === 0) problems.push(`network.interfaces[${index}]: give dhcp: true or at least one address`);
  });

  if (config.timezone && facts.hasTimezone && !facts.hasTimezone(config.timezone)) {
    problems.push(`timezone: the image has no time zone "${config.timezone}" (is tzdata in the recipe's packages?)`);
  }
  return problems;
}
