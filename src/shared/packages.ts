/**
 * What an image records about its packages, and the size listing made from that record or from a
 * lockfile (`slipway build --dry-run`, `slipway inspect --sizes`).
 *
 * The record is usr/lib/slipway/packages in the root, one line a package: "NAME VERSION ARCH",
 * then, when the lockfile knew them, "INSTALLED-SIZE NEEDED-BY": bytes (or "-"), and the chain
 * that pulled the package in, origin first, joined by " → ". It lives in the verified root rather
 * than only in the manifest because a disk outlives the folder it was built in, and a slot written
 * by an update carries its own version's record. Readers of the first three columns (inspect
 * before sizes existed, scripts on the host) ignore the rest; records of older images read back
 * without sizes.
 */

export const PACKAGES_FILE = 'usr/lib/slipway/packages';

export interface PackageRecord {
  name: string;
  version: string;
  architecture: string;
  /** Bytes, from the Packages index's Installed-Size. */
  installedSize?: number;
  /** The chain that pulled the package in, origin first: ["packages", "systemd 252.38-1~deb12u1"]. */
  neededBy?: string[];
}

const CHAIN_SEPARATOR = ' → ';

export function formatPackagesFile(packages: readonly PackageRecord[]): string {
  return packages
    .map((p) => {
      const columns = [p.name, p.version, p.architecture];
      const chain = p.neededBy && p.neededBy.length > 0 ? p.neededBy.join(CHAIN_SEPARATOR) : undefined;
      if (p.installedSize !== undefined || chain !== undefined) columns.push(p.installedSize === undefined ? '-' : String(p.installedSize));
      if (chain !== undefined) columns.push(chain);
      return `${columns.join(' ')}\n`;
    })
    .join('');
}

export function parsePackagesFile(text: string): PackageRecord[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [name, version, architecture, size, ...rest] = line.split(' ');
      const record: PackageRecord = { name: name!, version: version!, architecture: architecture! };
      if (size !== undefined && /^\d+$/.test(size)) record.installedSize = Number(size);
      const chain = rest.join(' ');
      if (chain) record.neededBy = chain.split(CHAIN_SEPARATOR);
      return record;
    });
}

export interface SizeRow {
  name: string;
  version: string;
  /** Bytes; null when the record has none. */
  installedSize: number | null;
  neededBy: string[];
}

export interface SizeListing {
  packages: number;
  /** The sum of the known installed sizes, in bytes. */
  installedSize: number;
  /** Packages without a recorded size (from a lockfile or an image made before sizes were recorded). */
  unknown: number;
  /** Largest first, packages of unknown size last, by name among equals; at most `top` of them. */
  rows: SizeRow[];
}

type Sized = Pick<PackageRecord, 'name' | 'version' | 'installedSize' | 'neededBy'>;

export function sizeListing(packages: readonly Sized[], top = Number.POSITIVE_INFINITY): SizeListing {
  const rows: SizeRow[] = packages.map((p) => ({ name: p.name, version: p.version, installedSize: p.installedSize ?? null, neededBy: p.neededBy ?? [] }));
  rows.sort((a, b) => (b.installedSize ?? -1) - (a.installedSize ?? -1) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const known = rows.filter((r) => r.installedSize !== null);
  return {
    packages: rows.length,
    installedSize: known.reduce((sum, r) => sum + r.installedSize!, 0),
    unknown: rows.length - known.length,
    rows: rows.slice(0, top),
  };
}

/** "packages → systemd → libsystemd-shared": the origin, then the names of the packages in between. */
export function formatNeededBy(chain: readonly string[]): string {
  if (chain.length === 0) return '?';
  const [origin, ...packages] = chain;
  return [origin!, ...packages.map((entry) => entry.split(' ')[0]!)].join(CHAIN_SEPARATOR);
}
