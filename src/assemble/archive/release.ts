import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ToolFailed, VerificationError } from '../../errors.ts';
import { runTool } from '../../tools.ts';
import { parseDeb822 } from './deb822.ts';

export const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

export interface ReleaseFile {
  path: string;
  size: number;
  sha256: string;
}

export interface Release {
  suite: string;
  codename: string;
  /** The Release file's own date, RFC 2822 as in the file. */
  date: string;
  validUntil?: string;
  acquireByHash: boolean;
  components: string[];
  architectures: string[];
  files: Map<string, ReleaseFile>;
}

/**
 * Checks an InRelease file's OpenPGP signature with gpgv against the keyring and returns only the
 * signed text, so nothing outside the signature is ever read.
 */
export async function verifyInRelease(inRelease: Buffer, keyring: string, url: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-inrelease-'));
  try {
    const file = join(dir, 'InRelease');
    writeFileSync(file, inRelease);
    const { stdout } = await runTool('gpgv', ['--quiet', '--keyring', keyring, '--output', '-', file]);
    return stdout;
  } catch (cause) {
    if (!(cause instanceof ToolFailed)) throw cause;
    throw new VerificationError(
      `bad signature on ${url}: gpgv does not accept it with the keyring ${keyring}`,
      'the mirror or something between it and you altered the archive metadata; use a trustworthy mirror',
      { cause },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function parseRelease(text: string, url: string): Release {
  const [fields] = parseDeb822(text);
  if (!fields || !fields.has('SHA256')) {
    throw new VerificationError(`${url} is not a Debian Release file (no SHA256 list)`, 'check the mirror URL and suite');
  }
  const files = new Map<string, ReleaseFile>();
  for (const line of fields.get('SHA256')!.split('\n')) {
    const [sha256, size, path] = line.trim().split(/\s+/);
    if (sha256 && size && path) files.set(path, { path, size: Number(size), sha256 });
  }
  const release: Release = {
    suite: fields.get('Suite') ?? '',
    codename: fields.get('Codename') ?? '',
    date: fields.get('Date') ?? '',
    acquireByHash: fields.get('Acquire-By-Hash') === 'yes',
    components: (fields.get('Components') ?? '').split(/\s+/).filter(Boolean),
    architectures: (fields.get('Architectures') ?? '').split(/\s+/).filter(Boolean),
    files,
  };
  const validUntil = fields.get('Valid-Until');
  if (validUntil) release.validUntil = validUntil;
  return release;
}

/** Refuses Release files past their Valid-Until, which guards against a mirror replaying old metadata. */
export function checkReleaseFreshness(release: Release, url: string, now: Date, snapshot: boolean): void {
  if (!release.validUntil || snapshot) return;
  const validUntil = new Date(release.validUntil);
  if (Number.isNaN(validUntil.getTime())) return;
  if (validUntil < now) {
    throw new VerificationError(
      `${url} expired on ${release.validUntil}`,
      'the mirror serves stale metadata; use another mirror or pin a snapshot',
    );
  }
}
