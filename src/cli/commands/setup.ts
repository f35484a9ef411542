import { ToolMissing } from '../../errors.ts';
import { DATA_FILES, TOOLS, missingPackages, runTool, type ToolName } from '../../tools.ts';
import type { Command } from '../command.ts';

const ALL_TOOLS = Object.keys(TOOLS) as ToolName[];
const ALL_FILES = Object.keys(DATA_FILES) as (keyof typeof DATA_FILES)[];

export const setupCommand: Command = {
  name: 'setup',
  summary: 'install the Debian packages slipway and its tests need (apt-get, as root)',
  usage: '[--check]',
  options: { check: { type: 'boolean', help: 'only list what is missing; exit non-zero if anything is' } },
  positionals: { min: 0, max: 0 },
  async run({ values, out }) {
    const missing = missingPackages(ALL_TOOLS, ALL_FILES);
    if (missing.length === 0) {
      out('every tool slipway needs is installed\n');
      return;
    }
    const command = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
    if (values.check || process.getuid?.() !== 0) {
      throw new ToolMissing(`missing Debian packages: ${missing.join(' ')}`, `as root: apt-get update && ${command}`);
    }
    out(`installing ${missing.join(' ')}\n`);
    const env = { DEBIAN_FRONTEND: 'noninteractive' };
    await runTool('apt-get', ['update', '-q'], { env });
    await runTool('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { env });
    const still = missingPackages(ALL_TOOLS, ALL_FILES);
    if (still.length > 0) throw new ToolMissing(`apt-get left these missing: ${still.join(' ')}`, `try by hand: ${command}`);
    out('every tool slipway needs is installed\n');
  },
};
