/** Disk formats, by name: adding one is adding an entry here. */
import { renameSync } from 'node:fs';
import { runTool } from '../tools.ts';

export interface OutputFormat {
  extension: string;
  /** Makes `output` from the raw disk; raw itself is a rename, and leaves no raw behind. */
  convert: (raw: string, output: string) => Promise<void>;
}

export const FORMATS: Readonly<Record<string, OutputFormat>> = {
  raw: { extension: 'raw', convert: async (raw, output) => renameSync(raw, output) },
  qcow2: {
    extension: 'qcow2',
    convert: async (raw, output) => {
      await runTool('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', '-o', 'compression_type=zlib', raw, output]);
    },
  },
};

/** Not a disk: a UKI that boots over the network and fetches the root the build wrote beside it. */
export const NETBOOT_FORMAT = 'netboot';

/** Not a disk either: a hybrid ISO that boots the image live from a CD or USB stick and installs it on a disk. */
export const ISO_FORMAT = 'iso';

/** Every name `--format` takes: the disk formats, then netboot and the installer ISO. */
export const FORMAT_NAMES: readonly string[] = [...Object.keys(FORMATS), NETBOOT_FORMAT, ISO_FORMAT];

export function isFormat(name: string): boolean {
  return FORMAT_NAMES.includes(name);
}

export function isDiskFormat(name: string): boolean {
  return Object.hasOwn(FORMATS, name);
}
