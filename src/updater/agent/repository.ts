/**
 * The update repository as the host sees it: tuf-js checks the metadata (signatures, thresholds,
 * expiry, versions only going up) starting from the root the image carries; the targets a host can
 * install are read from the verified targets metadata.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Metadata, type TargetFile } from '@tufjs/models';
import { Updater } from 'tuf-js';
import { compareVersions } from '../../shared/debian-version.ts';
import { UpdateError, errorMessage } from '../../errors.ts';
import type { SlipwayTargetInfo } from '../publish/targets.ts';
import { MetadataFetcher } from './fetcher.ts';

export interface Release {
  name: string;
  version: string;
  channel: string;
  rootHash: string;
  root: TargetFile;
  verity: TargetFile;
  uki: TargetFile;
}

export class UpdateRepository {
  private readonly metadataDir: string;
  private updater?: Updater;

  constructor(readonly url: string, stateDir: string, private readonly trustedRoot: string) {
    this.metadataDir = join(stateDir, 'metadata');
  }

  /** Refreshes the metadata; every release of `name` on `channel`, newest first. */
  async releases(name: string, channel: string): Promise<Release[]> {
    mkdirSync(this.metadataDir, { recursive: true });
    if (!existsSync(join(this.metadataDir, 'root.json'))) copyFileSync(this.trustedRoot, join(this.metadataDir, 'root.json'));
    this.updater = new Updater({ metadataDir: this.metadataDir, metadataBaseUrl: `${this.url}/metadata`, targetBaseUrl: `${this.url}/targets`, fetcher: new MetadataFetcher() });
    try {
      await this.updater.refresh();
    } catch (cause) {
      throw new UpdateError(`the update repository ${this.url} was refused: ${errorMessage(cause)}`, 'nothing was installed; check the repository (signatures, expiry) and the network', { cause });
    }
    // tuf-js keeps the targets metadata it verified; read the whole list from there.
    const targets = Metadata.fromJSON('targets' as never, JSON.parse(readFileSync(join(this.metadataDir, 'targets.json'), 'utf8'))).signed as unknown as { targets: Record<string, TargetFile> };
    const byVersion = new Map<string, Partial<Release>>();
    for (const target of Object.values(targets.targets)) {
      const info = target.custom.slipway as SlipwayTargetInfo | undefined;
      if (!info || info.name !== name || info.channel !== channel) continue;
      const release = byVersion.get(info.version) ?? { name, version: info.version, channel, rootHash: info.rootHash };
      if (info.artifact === 'root' || info.artifact === 'verity' || info.artifact === 'uki') release[info.artifact] = target;
      byVersion.set(info.version, release);
    }
    return [...byVersion.values()]
      .filter((r): r is Release => Boolean(r.root && r.verity && r.uki))
      .sort((a, b) => compareVersions(b.version, a.version));
  }

  /** Where a target's bytes are (consistent snapshots: named by their hash). */
  targetUrl(target: TargetFile): string {
    const slash = target.path.lastIndexOf('/');
    return `${this.url}/targets/${target.path.slice(0, slash + 1)}${target.hashes.sha256}.${target.path.slice(slash + 1)}`;
  }
}
