/**
 * The image's SPDX 2.3 document: the image, the artifacts it is made of (the root file system, the
 * UKI and the initrd in it, each container), and every Debian package in each, with canonical
 * purls, checksums and the relationships that say which artifact holds which package.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { LockedPackage } from '../assemble/lock.ts';
import type { BuildState } from './context.ts';
import { sha256Of } from './outputs.ts';
import { artifactPath, type ImagePlan } from './plan.ts';

const SLIPWAY_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** A purl component: percent-encoded except for the characters RFC 3986 leaves unreserved (a version's epoch colon and '+' are encoded). */
function purlPart(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The canonical purl of a Debian package: type and namespace lowercase, qualifiers sorted by key. */
export function debianPurl(pkg: Pick<LockedPackage, 'name' | 'version' | 'architecture'>, codename: string): string {
  return `pkg:deb/debian/${purlPart(pkg.name)}@${purlPart(pkg.version)}?arch=${purlPart(pkg.architecture)}&distro=${purlPart(codename)}`;
}

/** SPDX identifiers allow letters, digits, '.' and '-'. */
function spdxId(kind: string, ...parts: string[]): string {
  return `SPDXRef-${kind}-${parts.join('-').replace(/[^A-Za-z0-9.-]/g, '-')}`;
}

interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  supplier?: string;
  downloadLocation: string;
  filesAnalyzed: false;
  primaryPackagePurpose?: string;
  checksums?: Array<{ algorithm: 'SHA256'; checksumValue: string }>;
  sourceInfo?: string;
  licenseConcluded?: string;
  licenseDeclared?: string;
  copyrightText?: string;
  externalRefs?: Array<{ referenceCategory: string; referenceType: string; referenceLocator: string }>;
}

export async function writeSbom(ctx: Pick<BuildState, 'plan' | 'staging' | 'verity' | 'digests'>): Promise<void> {
  const { plan } = ctx;
  const packages: SpdxPackage[] = [];
  const relationships: Array<{ spdxElementId: string; relationshipType: 'DESCRIBES' | 'CONTAINS'; relatedSpdxElement: string }> = [];
  const contains = (whole: string, part: string) => relationships.push({ spdxElementId: whole, relationshipType: 'CONTAINS', relatedSpdxElement: part });
  const debs = new Set<string>();
  /** A Debian package, listed once however many artifacts hold it. */
  const deb = (pkg: LockedPackage): string => {
    const id = spdxId('Package-deb', pkg.name, pkg.version, pkg.architecture);
    if (!debs.has(id)) {
      debs.add(id);
      packages.push({
        SPDXID: id,
        name: pkg.name,
        versionInfo: pkg.version,
        supplier: 'Organization: Debian',
        downloadLocation: 'NOASSERTION',
        filesAnalyzed: false,
        checksums: [{ algorithm: 'SHA256', checksumValue: pkg.sha256 }],
        sourceInfo: `built from Debian source package ${pkg.source} ${pkg.sourceVersion}`,
        licenseConcluded: 'NOASSERTION',
        licenseDeclared: 'NOASSERTION',
        copyrightText: 'NOASSERTION',
        externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: debianPurl(pkg, plan.sbom.codename) }],
      });
    }
    return id;
  };
  const artifact = (kind: string, name: string, purpose: string, extra: Partial<SpdxPackage> = {}): string => {
    const id = spdxId(kind, name);
    packages.push({ SPDXID: id, name, versionInfo: plan.version, supplier: plan.sbom.supplier, downloadLocation: 'NOASSERTION', filesAnalyzed: false, primaryPackagePurpose: purpose, ...extra });
    return id;
  };
  const checksum = async (name: string) => ({ checksums: [{ algorithm: 'SHA256' as const, checksumValue: await sha256Of(ctx, artifactPath(plan, ctx.staging, name)) }] });

  const image = artifact('Image', plan.name, 'OPERATING-SYSTEM', {
    externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: imagePurl(plan) }],
  });
  relationships.push({ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: image });
  const root = artifact('File', `${plan.name} root file system`, 'FILE', { ...(await checksum('root')), sourceInfo: `dm-verity root hash ${ctx.verity.rootHash}` });
  const uki = artifact('File', `${plan.name} unified kernel image`, 'FILE', await checksum('uki'));
  const initrd = artifact('File', `${plan.name} initrd`, 'FILE');
  contains(image, root);
  contains(image, uki);
  contains(uki, initrd);
  for (const pkg of plan.packages.host) contains(root, deb(pkg));
  for (const pkg of plan.packages.initrd) contains(initrd, deb(pkg));
  for (const [name, set] of Object.entries(plan.packages.containers)) {
    // A container built from packages lives in the root; one from an archive or a registry is
    // listed by name only (its own SBOM, if it has one, says what is in it).
    const container = artifact('Container', `${plan.name} container ${name}`, 'CONTAINER');
    contains(set.length > 0 ? root : image, container);
    for (const pkg of set) contains(container, deb(pkg));
  }

  const document = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: plan.basename,
    documentNamespace: `urn:slipway:spdx:${plan.name}:${plan.version}:${ctx.verity.rootHash}`,
    creationInfo: {
      created: new Date(plan.sourceDateEpoch * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      creators: [`Tool: slipway-${SLIPWAY_VERSION}`],
    },
    packages,
    relationships,
  };
  writeFileSync(artifactPath(plan, ctx.staging, 'sbom'), `${JSON.stringify(document, null, 2)}\n`);
}

/** The image itself, as a generic purl (no purl type names OS images). */
function imagePurl(plan: Pick<ImagePlan, 'name' | 'version'>): string {
  return `pkg:generic/${purlPart(plan.name)}@${purlPart(plan.version)}`;
}

