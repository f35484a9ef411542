/**
 * A container's `user`, which ctr 1.6 cannot set: before runc creates a container whose unit names
 * one (runtime/rootfs/usr/lib/slipway/runc-as-user), this sets it in the OCI spec ctr wrote into the
 * bundle. The name is looked up in the container's own /etc/passwd and /etc/group, as Docker looks
 * up a Dockerfile's USER; a process that is not root keeps no capabilities but its bounding set,
 * as under Docker, where runc alone would keep the spec's.
 */
import { existsSync, readFileSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, sep } from 'node:path';

/** The annotation a container unit passes the recipe's `user` in (`ctr run --annotation`). */
export const USER_ANNOTATION = 'org.slipway.user';

/** `name`, `uid`, `name:group` or `uid:gid`: what the recipe's `user` accepts. */
export const USER_SPEC = /^([a-z_][a-z0-9_.-]{0,31}|\d{1,10})(?::([a-z_][a-z0-9_.-]{0,31}|\d{1,10}))?$/;

/** The highest id Linux gives: 2^32 - 2 (2^32 - 1 means "no id"). */
export const MAX_ID = 4294967294;

export interface ProcessUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

/** A colon-separated account file (passwd, group), one row of fields per line. */
function rows(text: string | undefined): string[][] {
  return (text ?? '').split('\n').filter((line) => line && !line.startsWith('#')).map((line) => line.split(':'));
}

const isNumeric = (part: string) => /^\d+$/.test(part);

/** Resolves `user[:group]` against the container's passwd and group files (either may be missing). */
export function resolveUser(spec: string, passwd: string | undefined, group: string | undefined): ProcessUser {
  const match = USER_SPEC.exec(spec);
  if (!match) throw new Error(`"${spec}" is not a user: expected NAME, UID, NAME:GROUP or UID:GID`);
  const [, userPart, groupPart] = match as unknown as [string, string, string | undefined];
  const users = rows(passwd);
  const account = users.find((fields) => (isNumeric(userPart) ? fields[2] === userPart : fields[0] === userPart));
  if (!account && !isNumeric(userPart)) throw new Error(`no user "${userPart}" in the container's /etc/passwd`);
  const uid = Number(isNumeric(userPart) ? userPart : account![2]);
  // Without a group, the account's; without an account either, root's group, as Docker does.
  let gid = account ? Number(account[3]) : 0;
  const groups = rows(group);
  if (groupPart !== undefined) {
    const entry = groups.find((fields) => fields[0] === groupPart);
    if (!entry && !isNumeric(groupPart)) throw new Error(`no group "${groupPart}" in the container's /etc/group`);
    gid = Number(isNumeric(groupPart) ? groupPart : entry![2]);
  }
  for (const id of [uid, gid]) if (!Number.isInteger(id) || id > MAX_ID) throw new Error(`"${spec}" names an id past ${MAX_ID}`);
  const additionalGids = account ? groupsListing(groups, account[0]!, gid) : [];
  return additionalGids.length > 0 ? { uid, gid, additionalGids } : { uid, gid };
}

/** The ids of the groups whose member list names `user`, but for its primary group `gid`. */
function groupsListing(groups: string[][], user: string, gid: number): number[] {
  const ids = groups.filter((fields) => (fields[3] ?? '').split(',').includes(user)).map((fields) => Number(fields[2]));
  return [...new Set(ids)].filter((id) => id !== gid && Number.isInteger(id));
}

interface Spec {
  root?: { path?: string };
  annotations?: Record<string, string>;
  process?: { user?: ProcessUser & Record<string, unknown>; capabilities?: Record<string, string[]> };
}

/** A file of the container's root, never one a symbolic link leads outside it to. */
function readInRoot(root: string, path: string): string | undefined {
  const file = join(root, path);
  if (!existsSync(file)) return undefined;
  const real = realpathSync(file);
  if (!real.startsWith(realpathSync(root) + sep)) return undefined;
  return readFileSync(real, 'utf8');
}

/**
 * Sets the process user of the bundle's config.json from its annotation; a spec without the
 * annotation is left as it is. Returns the user set.
 */
export function setContainerUser(bundle: string): ProcessUser | undefined {
  const configFile = join(bundle, 'config.json');
  const spec = JSON.parse(readFileSync(configFile, 'utf8')) as Spec;
  const wanted = spec.annotations?.[USER_ANNOTATION];
  if (wanted === undefined) return undefined;
  const rootPath = spec.root?.path;
  if (!rootPath || !spec.process) throw new Error(`${configFile} has no root or process`);
  const root = isAbsolute(rootPath) ? rootPath : join(bundle, rootPath);
  const user = resolveUser(wanted, readInRoot(root, 'etc/passwd'), readInRoot(root, 'etc/group'));
  spec.process.user = { ...spec.process.user, ...user };
  if (!user.additionalGids) delete spec.process.user.additionalGids;
  if (user.uid !== 0 && spec.process.capabilities) {
    for (const set of ['effective', 'permitted', 'inheritable', 'ambient']) delete spec.process.capabilities[set];
  }
  const next = `${configFile}.slipway-user`;
  writeFileSync(next, JSON.stringify(spec));
  renameSync(next, configFile);
  return user;
}

/** The bundle folder of `runc [global options] create [--bundle DIR] ... ID` (runc's default: here). */
export function bundleOf(args: readonly string[]): string {
  for (let i = args.indexOf('create') + 1; i > 0 && i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--bundle' || arg === '-b') return args[i + 1] ?? '.';
    if (arg.startsWith('--bundle=')) return arg.slice('--bundle='.length);
  }
  return '.';
}
