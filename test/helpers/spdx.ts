/**
 * SPDX's own validator for SPDX 2.x documents (tools-python's pyspdxtools), as Debian packages it:
 * python3-spdx-tools and python3-beartype come from Debian's testing release through the test
 * mirror, unpacked into the shared cache; their other modules are bookworm's (`slipway setup`
 * installs them). It parses the JSON into SPDX 2.3's model, refusing a missing or mistyped field,
 * then validates the document against the specification: identifiers, relationships that name
 * elements of the document, checksums, licences and purls.
 *
 * The official JSON schema file (spdx-spec's schemas/spdx-schema.json) is not packaged by Debian
 * or on the npm registry, the only archives these tests reach; this validator checks what it
 * checks and more.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { IsolatedApt } from './apt.ts';
import { SHARED_CACHE, testMirror } from './archive.ts';

const RELEASE = 'forky';
const PACKAGES = ['python3-spdx-tools', 'python3-beartype'];
const TOOL_DIR = join(SHARED_CACHE, 'spdx-tools');
const MODULES = join(TOOL_DIR, 'usr/lib/python3/dist-packages');

async function installValidator(): Promise<void> {
  if (existsSync(MODULES)) return;
  const debs = join(SHARED_CACHE, `spdx-tools.debs.${process.pid}`);
  const unpacked = `${TOOL_DIR}.${process.pid}`;
  mkdirSync(debs, { recursive: true });
  try {
    const apt = await IsolatedApt.create(testMirror(), RELEASE);
    await apt.download(PACKAGES, debs);
    for (const deb of readdirSync(debs)) await execa('dpkg-deb', ['-x', join(debs, deb), unpacked]);
    if (!existsSync(MODULES)) renameSync(unpacked, TOOL_DIR);
  } finally {
    rmSync(debs, { recursive: true, force: true });
    rmSync(unpacked, { recursive: true, force: true });
  }
}

/** What pyspdxtools says of an SPDX JSON file: nothing when it is valid. */
export async function validateSpdx(file: string): Promise<{ valid: boolean; report: string }> {
  await installValidator();
  // Debian's python, whose own modules the validator needs (not one a version manager put in PATH).
  const result = await execa('/usr/bin/python3', ['-m', 'spdx_tools.spdx.clitools.pyspdxtools', '--infile', file], {
    env: { PYTHONPATH: MODULES, LC_ALL: 'C' },
    reject: false,
  });
  return { valid: result.exitCode === 0, report: `${result.stdout}\n${result.stderr}`.trim() };
}
