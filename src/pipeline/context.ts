/**
 * What the build's steps share. `BuildInputs` is what every step starts from; `BuildState` names
 * what the steps make, each by the step that makes it. A step takes the part it reads
 * (`Pick<BuildState, ...>`) and returns the part it makes, so StepList checks their order.
 */
import type { ArchiveSource } from '../assemble/archive/open.ts';
import type { ContentCache } from '../assemble/cache.ts';
import type { Accounts } from '../assemble/configure/users.ts';
import type { ControlMembers } from '../assemble/control.ts';
import type { DataTars } from '../assemble/data-tars.ts';
import type { KernelInfo } from '../assemble/kernel.ts';
import type { LeftOutPaths } from '../assemble/needs.ts';
import type { Tree } from '../assemble/tree.ts';
import type { VerityResult } from '../assemble/verity.ts';
import type { DiskLayout } from '../bootimage/disk.ts';
import type { SecureBootKeys } from '../bootimage/secure-boot.ts';
import type { ManifestFacts } from '../hostconfig/facts.ts';
import type { LoadedRecipe } from '../recipe/load.ts';
import type { RecipeInputs } from './precheck.ts';
import type { ImagePlan } from './plan.ts';

/** A host config to bake into the ESP (`slipway build --config`). */
export interface HostConfigInput {
  bytes: Buffer;
  label: string;
  fileName: string;
}

export interface BuildInputs {
  plan: ImagePlan;
  loaded: LoadedRecipe;
  /** The files the recipe names, read and checked before anything was downloaded. */
  inputs: RecipeInputs;
  source: ArchiveSource;
  cache: ContentCache;
  /** A dry run: only the check steps run, and the cached trees are read in place instead of copied. */
  checkOnly: boolean;
  /** Inside the output folder, removed on success and on failure. */
  staging: string;
  work: string;
  hostConfig: HostConfigInput | undefined;
  /** The keys that sign systemd-boot and the UKI, and whose lists the ESP carries for enrollment. */
  secureBoot: SecureBootKeys | undefined;
  /** sha256 of artifacts, started as soon as each is written (outputs.ts). */
  digests: Map<string, Promise<string>>;
}

export interface BuildState extends BuildInputs {
  // Fetch packages
  debs: Map<string, string>;
  /** Each package's control members, by sha256. */
  controls: Map<string, ControlMembers>;
  /** Each package's data tar, decompressed in the background from the end of the fetch on. */
  tars: DataTars;
  // Unpack the initrd tree
  initrdTree: Tree;
  /** The initrd's programs archive, compressed at low priority from the initrd tree's unpacking on (not in a dry run). */
  initrdPrograms: Promise<Buffer> | undefined;
  // Unpack the root tree
  tree: Tree;
  /** Files the root leaves out (exclude:, remove: and the built-in removals), with why. */
  leftOut: LeftOutPaths;
  // Configure users and groups
  accounts: Accounts;
  // Configure the system
  osRelease: string;
  // Install the containers
  /** Per container with a baked-in image: the tag its archive names it with. */
  imageTags: Map<string, string>;
  // Bundle first-boot provisioning
  /** What a host config is checked against; recorded in the manifest. */
  imageFacts: ManifestFacts;
  /** The plan compiled from `hostConfig`, when there is one. */
  hostConfigPlan: Buffer | undefined;
  // Select kernel modules
  kernel: KernelInfo;
  modules: string[];
  // Build the initrd, format verity, make the ESP and data filesystems
  initrd: Buffer;
  verity: VerityResult;
  layout: DiskLayout;
}
