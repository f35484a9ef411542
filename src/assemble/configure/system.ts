/** The rest of what maintainer scripts and an installer would do, done declaratively. */
import { posix } from 'node:path';
import { BuildError } from '../../errors.ts';
import type { Recipe } from '../../recipe/schema.ts';
import type { Tree } from '../tree.ts';
import type { Accounts } from './users.ts';

/** update-ca-certificates: every certificate the packages ship, in one bundle. */
export function configureCaCertificates(tree: Tree): number {
  const certs = tree.walk('usr/share/ca-certificates').filter((path) => path.endsWith('.crt') && tree.get(path)?.type === 'file');
  if (certs.length === 0) return 0;
  const relative = certs.map((path) => path.slice('usr/share/ca-certificates/'.length));
  tree.writeFile('etc/ca-certificates.conf', relative.map((name) => `${name}\n`).join(''));
  const bundle = certs.map((path) => {
    const text = tree.readText(path);
    return text.endsWith('\n') ? text : `${text}\n`;
  });
  tree.writeFile('etc/ssl/certs/ca-certificates.crt', bundle.join(''));
  for (const name of relative) tree.symlink(`etc/ssl/certs/${posix.basename(name, '.crt')}.pem`, `/usr/share/ca-certificates/${name}`);
  return certs.length;
}

/**
 * Configuration files Debian's maintainer scripts copy into /etc from a template under /usr/share
 * (slipway does not run maintainer scripts): the template becomes the file, if the image has none.
 */
const CONFIG_TEMPLATES: Array<[file: string, template: string]> = [['etc/ssh/sshd_config', 'usr/share/openssh/sshd_config']];

export function installConfigTemplates(tree: Tree): void {
  for (const [file, template] of CONFIG_TEMPLATES) {
    if (tree.has(template) && !tree.has(file)) tree.writeFile(file, tree.read(template), { mode: 0o644 });
  }
  // libpam-modules' postinst makes an empty one; pam_env complains at every login without it.
  if (tree.has('usr/lib/x86_64-linux-gnu/security/pam_env.so') && !tree.has('etc/environment')) tree.writeFile('etc/environment', '', { mode: 0o644 });
}

function osReleaseValue(value: string): string {
  return /^[A-Za-z0-9._-]+$/.test(value) ? value : `"${value.replace(/["\\$`]/g, '\\$&')}"`;
}

/** Debian's os-release, plus who built the image and which version it is. */
export function writeOsRelease(tree: Tree, recipe: Recipe): string {
  const base = tree.has('usr/lib/os-release') ? tree.readText('usr/lib/os-release') : '';
  const fields = new Map<string, string>();
  for (const line of base.split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line);
    if (match) fields.set(match[1]!, match[2]!.replace(/^"(.*)"$/, '$1'));
  }
  const debian = fields.get('PRETTY_NAME') ?? 'Debian';
  fields.set('PRETTY_NAME', `${recipe.name} ${recipe.version} (slipway, ${debian})`);
  fields.set('VARIANT', 'slipway container host');
  fields.set('VARIANT_ID', 'slipway');
  fields.set('IMAGE_ID', recipe.name);
  fields.set('IMAGE_VERSION', recipe.version);
  const text = [...fields].map(([key, value]) => `${key}=${osReleaseValue(value)}\n`).join('');
  tree.writeFile('usr/lib/os-release', text);
  tree.symlink('etc/os-release', '../usr/lib/os-release');
  return text;
}

/**
 * What a read-only root needs: an empty machine-id (systemd fills it in at boot), homes and
 * mutable state on /var, DNS from systemd-resolved, a hostname.
 */
export function configureReadOnlyRoot(tree: Tree, recipe: Recipe, epoch: number): void {
  tree.writeFile('etc/machine-id', '', { mode: 0o444 });
  tree.writeFile('etc/hostname', `${recipe.name}\n`);
  tree.writeFile('etc/hosts', `127.0.0.1\tlocalhost\n127.0.1.1\t${recipe.name}\n::1\t\tlocalhost ip6-localhost ip6-loopback\n`);
  if (tree.has('home') && tree.get('home')?.type === 'directory' && tree.list('home').length === 0) tree.remove('home');
  tree.symlink('home', 'var/home');
  tree.mkdir('var', { mode: 0o755 });
  for (const child of tree.list('var')) tree.remove(child); // /var is the data partition's; see tmpfiles
  if (tree.has('usr/lib/systemd/systemd-resolved')) tree.symlink('etc/resolv.conf', '../run/systemd/resolve/stub-resolv.conf');
  // /etc is writable at boot (an overlay on /var): without this stamp systemd would run its
  // "/usr is newer than /etc" units (hwdb, sysusers, ldconfig) at every first boot.
  tree.writeFile('etc/.updated', `# written by slipway at build time\nTIMESTAMP_NSEC=${epoch}000000000\n`);
  tree.writeFile('etc/fstab', '# / and /var are mounted by the initrd; see /usr/lib/slipway/initrd.\n');
}

/** A tmpfiles.d argument: C escapes and specifiers are resolved there, so backslash and % are doubled. */
function tmpfilesArgument(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/%/g, '%%').replace(/\n/g, '\\n');
}

/**
 * Home folders are made at boot on /var, owned by their users; a user's sshAuthorizedKeys are
 * written to ~/.ssh/authorized_keys when it does not exist yet, where any sshd looks for them.
 */
export function writeUserTmpfiles(tree: Tree, accounts: Accounts, users: Recipe['users']): void {
  const lines = ['d /var/home 0755 root root -'];
  for (const spec of users) {
    const user = accounts.user(spec.name)!;
    const home = user.home.replace(/^\/home\//, '/var/home/');
    lines.push(`d ${home} 0700 ${user.name} ${user.gid} -`);
    if (spec.sshAuthorizedKeys.length === 0) continue;
    // Ends in a newline: systemd 252 writes the argument as it is.
    const keys = `${spec.sshAuthorizedKeys.map((key) => key.trim()).join('\n')}\n`;
    lines.push(`d ${home}/.ssh 0700 ${user.name} ${user.gid} -`);
    lines.push(`f ${home}/.ssh/authorized_keys 0600 ${user.name} ${user.gid} - ${tmpfilesArgument(keys)}`);
  }
  tree.writeFile('usr/lib/tmpfiles.d/slipway-users.conf', `${lines.join('\n')}\n`);
}

export function applyRecipeFiles(tree: Tree, files: Recipe['files'], accounts: Accounts, readSource: (source: string) => Buffer): void {
  files.forEach((file, index) => {
    const [userName, groupName] = file.owner.split(':');
    const user = accounts.user(userName!);
    if (!user) throw new BuildError(`files[${index}].owner: unknown user "${userName}"`, 'use root or a user from users or a package');
    const group = groupName ? accounts.group(groupName) : accounts.groups.find((g) => g.gid === user.gid);
    if (!group) throw new BuildError(`files[${index}].owner: unknown group "${groupName}"`, 'use a group that exists in the image');
    const content = file.content !== undefined ? Buffer.from(file.content) : file.base64 !== undefined ? Buffer.from(file.base64, 'base64') : readSource(file.source!);
    if (file.path.startsWith('/var/')) throw new BuildError(`files[${index}].path: ${file.path} is on /var, the data partition`, 'put files under /etc or /usr; /var is filled at boot');
    tree.writeFile(file.path, content, { mode: file.mode ?? 0o644, uid: user.uid, gid: group.gid, origin: 'recipe' });
  });
}

/** Drops documentation, man pages and locales, keeping copyright files and the recipe's locales. */
export function trimFilter(keep: Recipe['keep']): (path: string) => boolean {
  const locales = keep.locales;
  return (path) => {
    if (!keep.docs) {
      if (path.startsWith('usr/share/doc/')) return path.endsWith('/copyright') || /^usr\/share\/doc\/[^/]+$/.test(path);
      if (/^usr\/share\/(man|info|lintian|linda|bug|doc-base)\//.test(path)) return false;
    }
    if (path.startsWith('usr/share/locale/')) {
      const locale = path.split('/')[3]!;
      return locales.some((l) => locale === l || locale.startsWith(`${l}_`)) || !path.slice('usr/share/locale/'.length).includes('/');
    }
    return true;
  };
}
