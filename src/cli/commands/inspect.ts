import { inspectImage } from '../../bootimage/inspect.ts';
import { formatSize } from '../../recipe/size.ts';
import { formatNeededBy, sizeListing, type SizeListing } from '../../shared/packages.ts';
import type { Command } from '../command.ts';

/** `inspect --sizes` for people: SIZE  PACKAGE  WHY, largest first, the total last. */
export function sizeTable(listing: SizeListing): string {
  const size = (bytes: number | null) => (bytes === null ? '?' : formatSize(bytes));
  const total = formatSize(listing.installedSize);
  const sizeWidth = Math.max('SIZE'.length, total.length, ...listing.rows.map((r) => size(r.installedSize).length));
  const nameWidth = Math.max('PACKAGE'.length, ...listing.rows.map((r) => r.name.length));
  const line = (a: string, b: string, c: string) => `${`${a.padStart(sizeWidth)}  ${b.padEnd(nameWidth)}  ${c}`.trimEnd()}\n`;
  let text = line('SIZE', 'PACKAGE', 'WHY');
  for (const row of listing.rows) text += line(size(row.installedSize), row.name, formatNeededBy(row.neededBy));
  text += line(total, `total of ${listing.packages} packages`, '');
  if (listing.unknown > 0) {
    text += `\n${listing.unknown} of ${listing.packages} packages have no recorded size or chain: the image was built from a lockfile written before slipway recorded them; run 'slipway lock RECIPE' and build again\n`;
  }
  return text;
}

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'show an image’s partitions, slots, versions, root hashes and packages',
  usage: 'IMAGE [--sizes]',
  options: { sizes: { type: 'boolean', help: ['each package’s installed size and why it is there (the chain that pulled it in),', 'largest first'] } },
  positionals: { min: 1, max: 1 },
  async run({ positionals, values, global, out }) {
    const info = await inspectImage(positionals[0]!);
    if (values.sizes) {
      const listing = sizeListing(info.packages);
      out(global.json ? `${JSON.stringify({ image: info.image, ...listing }, null, 2)}\n` : sizeTable(listing));
      return;
    }
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
