/**
 * The whole build as one list of steps, in order. Every step reads the plan and writes into a
 * staging folder beside the output; only a finished build is moved into the output.
 */
import type { BuildInputs } from './context.ts';
import {
  makeBootImage, makeFilesystems, makeInitrd, makeInstallers, makeRootFilesystem, makeVerity, writeDiskImage,
} from './image-steps.ts';
import { convertFormats, publishOutputs, writeChecksums, writeManifest } from './outputs.ts';
import { writeSbom } from './sbom.ts';
import { StepList } from './step.ts';
import {
  checkNeeds, collectBootFiles, configureAccounts, configureSystem, enableUnits, fetchAllPackages, installContainers, installFiles,
  installProvisioning, installRuntime, installUpdateAgent, selectKernelModules, unpackInitrdTree, unpackRootTree,
} from './tree-steps.ts';

/**
 * The steps where a recipe the schema let through can still be refused. `build --dry-run` runs
 * these, in a folder of its own that it removes.
 */
const checkSteps = StepList.from<BuildInputs>()
  .then('Fetch packages', fetchAllPackages)
  .then('Unpack the initrd tree', unpackInitrdTree)
  .then('Unpack the root tree and leave out what no host runs', unpackRootTree)
  .then('Collect the boot loader and UKI stub', collectBootFiles)
  .then('Install the slipway runtime', installRuntime)
  .then('Configure users and groups', configureAccounts)
  .then('Configure alternatives, CA certificates, os-release', configureSystem)
  .then('Install the containers: their files, or their image archives', installContainers)
  .then('Install runtime and recipe files', installFiles)
  .then('Enable units', enableUnits)
  .then('Bundle first-boot provisioning', installProvisioning)
  .then('Bundle the update agent', installUpdateAgent)
  .then('Check that nothing kept needs what is left out', checkNeeds)
  .then('Select kernel modules', selectKernelModules);

const buildSteps = checkSteps
  .then('Build the initrd', makeInitrd)
  .then('Make the root filesystem', makeRootFilesystem)
  .then('Format verity', makeVerity)
  .then('Make the UKI', makeBootImage)
  .then('Make the ESP and data filesystems', makeFilesystems)
  .then('Write the disk', writeDiskImage)
  .then('Make the installer ISO, or what a netbooted host installs from', makeInstallers)
  .then('Convert formats', convertFormats)
  .then('Write manifest, SBOM and checksums', async (ctx) => {
    await writeManifest(ctx);
    await writeSbom(ctx);
    await writeChecksums(ctx);
  })
  .then('Publish outputs', publishOutputs);

export const CHECK_STEPS = checkSteps.steps;
export const BUILD_STEPS = buildSteps.steps;
