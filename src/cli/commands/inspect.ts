import { inspectImage } from '../../bootimage/inspect.ts';
import { formatSize } from '../../recipe/size.ts';
import type { Command } from '../command.ts';

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'show an image’s partitions, slots, versions, root hashes and packages',
  usage: 'IMAGE',
  details: ['--json   everything as JSON'],
  options: {},
  positionals: { min: 1, max: 1 },
  async run({ positionals, global, out }) {
    const info = await inspectImage(positionals[0]!);
    if (global.json) {
      out(`${JSON.stringify(info, null, 2)}\n`);
      return;
    }
    out(`${info.image} (${formatSize(info.size)})\n\npartitions:\n`);
    for (const p of info.partitions) out(`  ${String(p.number).padStart(2)}  ${p.role.padEnd(12)} ${p.label.padEnd(24)} ${formatSize(p.size).padStart(10)}  ${p.uuid}\n`);
    out('\nslots:\n');
    for (const s of info.slots) out(`  ${s.slot}  ${s.version ? `${s.label.padEnd(24)} root hash ${s.rootHash}` : '(empty)'}\n`);
    out(`\nboot entries: ${info.ukis.join(', ') || '(none)'}\n`);
    out(`packages: ${info.packages.length}\n`);
    for (const pkg of info.packages) out(`  ${pkg.name} ${pkg.version}\n`);
  },
};
