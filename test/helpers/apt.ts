/**
 * apt as an oracle: an isolated apt configuration (its own sources, lists and an empty dpkg status)
 * that answers "what would apt install on an empty system?" for the same archive slipway reads.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { DEBIAN_KEYRING } from '../../src/assemble/archive/release.ts';
import { tempDir } from './archive.ts';

export class IsolatedApt {
  private constructor(private readonly config: string) {}

  static async create(mirror: string, suite: string): Promise<IsolatedApt> {
    const root = tempDir('apt');
    for (const dir of ['etc/apt/apt.conf.d', 'etc/apt/preferences.d', 'etc/apt/sources.list.d', 'var/lib/apt/lists/partial', 'var/cache/apt/archives/partial', 'var/lib/dpkg']) {
      mkdirSync(join(root, dir), { recursive: true });
    }
    writeFileSync(join(root, 'var/lib/dpkg/status'), '');
    writeFileSync(join(root, 'etc/apt/sources.list'), `deb [signed-by=${DEBIAN_KEYRING}] ${mirror} ${suite} main\n`);
    const config = join(root, 'apt.conf');
    writeFileSync(
      config,
      [
        `Dir "${root}/";`,
        `Dir::State::status "${root}/var/lib/dpkg/status";`,
        'APT::Architecture "amd64";',
        'APT::Architectures { "amd64"; };',
        'Acquire::Languages "none";',
        'APT::Install-Recommends "false";',
        'APT::Install-Suggests "false";',
        'APT::Sandbox::User "root";',
        'Debug::NoLocking "true";',
        // A snapshot mirror keeps testing's Release file past its Valid-Until; these answers and
        // downloads are for tests, which read whatever the mirror holds.
        'Acquire::Check-Valid-Until "false";',
        '',
      ].join('\n'),
    );
    const apt = new IsolatedApt(config);
    await apt.run(['update', '-q']);
    return apt;
  }

  private run(args: string[], cwd?: string) {
    return execa('apt-get', args, { env: { APT_CONFIG: this.config, LC_ALL: 'C' }, cwd });
  }

  /** Downloads these packages' .deb files (apt checks them against the signed index) into dir. */
  async download(packages: readonly string[], dir: string): Promise<void> {
    await this.run(['download', '-q', ...packages], dir);
  }

  /** The names apt would install, or apt's complaint when it refuses. */
  async simulateInstall(packages: readonly string[]): Promise<{ names: string[] } | { refused: string }> {
    const result = await this.run(['install', '--simulate', '-q', ...packages]).catch((error: { stdout: string; stderr: string }) => error);
    if ('exitCode' in result && result.exitCode === 0) {
      const names = result.stdout
        .split('\n')
        .filter((line) => line.startsWith('Inst '))
        .map((line) => line.split(' ')[1]!)
        .sort();
      return { names };
    }
    return { refused: `${result.stdout}\n${result.stderr}` };
  }
}
