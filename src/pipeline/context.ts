/** What the build's steps share: the plan and its inputs, and what each step leaves for the next. */
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
import type { ManifestFacts } from '../hostconfig/facts.ts';
import type { LoadedRecipe } from '../recipe/load.ts';
import type { ImagePlan } from './plan.ts';

export interface BuildContext {
  plan: ImagePlan;
  loaded: LoadedRecipe;
  source: ArchiveSource;
  cache: ContentCache;
  /** A dry run: only CHECK_STEPS run, and the cached trees are read in place instead of copied. */
  checkOnly: boolean;
  /** Inside the output folder, removed on success and on failure. */
  staging: string;
  work: string;
  debs: Map<string, string>;
  /** Each package's control members, by sha256. */
  controls: Map<string, ControlMembers>;
  /** Each package's data tar, decompressed in the background from the end of the fetch on. */
  tars?: DataTars;
  /** Per container with a baked-in image: the tag its archive names it with. */
  imageTags: Map<string, string>;
  tree?: Tree;
  /** Files the root leaves out (exclude:, remove: and the built-in removals), with why. */
  leftOut?: LeftOutPaths;
  initrdTree?: Tree;
  accounts?: Accounts;
  kernel?: KernelInfo;
  modules?: string[];
  /** The initrd's programs archive, compressed at low priority from the initrd tree's unpacking on. */
  initrdPrograms?: Promise<Buffer>;
  initrd?: Buffer;
  osRelease?: string;
  verity?: VerityResult;
  layout?: DiskLayout;
  /** A host config to bake into the ESP (`slipway build --config`), and the plan compiled from it. */
  hostConfig?: { bytes: Buffer; label: string; fileName: string; plan?: Buffer };
  /** sha256 of artifacts, started as soon as each is written (outputs.ts). */
  digests: Map<string, Promise<string>>;
  /** What a host config is checked against; recorded in the manifest. */
  imageFacts?: ManifestFacts;
}
