/**
 * Paths, unit names and the other values recipes and host configs put into an image's files. They
 * are checked where they are read, so no later step (the tree, a generated unit, passwd, sysctl.d,
 * authorized_keys, the initrd's tar) ever sees one that leaves the image or adds a line or field.
 */
import { z } from 'zod';

const CONTROL = /[\u0000-\u001f\u007f]/;

/** What is wrong with an absolute path in the image, or nothing. */
export function imagePathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'expected an absolute path without . or .. parts';
  if (CONTROL.test(path)) return 'expected a path without control characters (a newline, a tab, NUL)';
  const parts = path.split('/').slice(1);
  if (parts.some((part) => part === '.' || part === '..')) return 'expected an absolute path without . or .. parts';
  if (parts.some((part) => part === '')) return 'expected a path below / without empty parts or a trailing /, such as /etc/motd';
  if (parts.some((part) => Buffer.byteLength(part) > 255)) return 'expected path parts of at most 255 bytes (a file name\'s limit)';
  if (Buffer.byteLength(path) > 4095) return 'expected a path of at most 4095 bytes';
  return undefined;
}

export const imagePath = z.string().superRefine((path, ctx) => {
  const problem = imagePathProblem(path);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** A path below the folder a file names (a recipe's): relative, without `..`, and checked again for symlinks when read. */
export const besidePath = z.string().superRefine((path, ctx) => {
  const parts = path.split('/');
  if (path.startsWith('/') || CONTROL.test(path) || path === '' || parts.includes('..')) {
    ctx.addIssue({ code: 'custom', message: 'expected a path inside the recipe\'s folder, such as files/motd (not absolute, no .. parts)' });
  }
});

const UNIT_FILE_NAME = /^[A-Za-z0-9@_.:\\-]+\.(service|socket|timer|target|path|mount|automount|swap|slice|scope|device)$/;

/** A unit's file name: systemd's characters (`\` for its escapes), never a `/`. */
export function isUnitFileName(name: string): boolean {
  return UNIT_FILE_NAME.test(name);
}

export const unitFileName = z.string().regex(UNIT_FILE_NAME, 'expected a unit file name such as app.service');

/** A home or shell in passwd, whose fields are separated by `:`, one account a line. */
export const passwdPath = imagePath.refine((path) => !path.includes(':'), 'expected a path without ":" (it separates passwd fields)');

/** One authorized_keys line: an OpenSSH public key with an optional comment, no line break in it. */
export const sshPublicKey = z
  .string()
  .regex(/^(ssh-|ecdsa-|sk-)\S+ \S+( [^\u0000-\u001f\u007f]*)?$/, 'expected one OpenSSH public key line, such as "ssh-ed25519 AAAA... user@host"');

/** A sysctl.d value: one line. */
export const sysctlValue = z.union([
  z.string().regex(/^[^\u0000-\u001f\u007f]*$/, 'expected a value on one line, without control characters'),
  z.number(),
]);

/** For a list whose items must differ by a key (a name, a path): each repeat is refused at its index. */
export function unique<T>(key: (item: T) => string) {
  return (items: readonly T[], ctx: z.RefinementCtx) => {
    const seen = new Set<string>();
    items.forEach((item, index) => {
      const k = key(item);
      if (seen.has(k)) ctx.addIssue({ code: 'custom', path: [index], message: `"${k}" is given twice` });
      seen.add(k);
    });
  };
}
