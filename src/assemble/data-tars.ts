/**
 * Every package's data tar, decompressed into the cache in the background while the build goes on,
 * so unpacking reads each tar as soon as it is ready instead of after all of them. Two workers, one
 * per core: one takes the packages in the order they are needed, the other the largest first (the
 * generic kernel alone is a third of the work, and would otherwise hold up whatever comes after it).
 */
import type { ContentCache } from './cache.ts';
import { cacheDataTar } from './deb.ts';
import type { LockedPackage } from './lock.ts';

interface Job {
  pkg: LockedPackage;
  deb: string;
  tar: Promise<string>;
  resolve: (path: string) => void;
  reject: (error: unknown) => void;
  taken: boolean;
}

export class DataTars {
  private readonly jobs = new Map<string, Job>();
  private readonly workers: Promise<void>[];
  private stopped = false;

  /** `packages` in the order they are needed; `debs` maps each sha256 to its downloaded file. */
  constructor(private readonly cache: ContentCache, packages: readonly LockedPackage[], debs: ReadonlyMap<string, string>) {
    cache.sweepPartials('unpacked');
    for (const pkg of packages) {
      if (this.jobs.has(pkg.sha256)) continue;
      let resolve!: (path: string) => void;
      let reject!: (error: unknown) => void;
      const tar = new Promise<string>((ok, fail) => {
        resolve = ok;
        reject = fail;
      });
      // Whoever needs the tar sees its failure; one nobody needs fails nothing.
      tar.catch(() => undefined);
      this.jobs.set(pkg.sha256, { pkg, deb: debs.get(pkg.sha256)!, tar, resolve, reject, taken: false });
    }
    const inOrder = [...this.jobs.values()];
    const largestFirst = [...inOrder].sort((a, b) => b.pkg.size - a.pkg.size);
    this.workers = [this.work(inOrder), this.work(largestFirst)];
  }

  /** The plain data tar of a package given to the constructor. */
  tar(pkg: LockedPackage): Promise<string> {
    const job = this.jobs.get(pkg.sha256);
    if (!job) throw new Error(`${pkg.name}: not among the packages fetched for this build`);
    return job.tar;
  }

  /** Waits for every tar; the first failure is thrown. */
  async all(): Promise<void> {
    await Promise.all([...this.jobs.values()].map((job) => job.tar));
  }

  /** Starts nothing new and waits for what is under way, so a failed build leaves no decompressor running. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.workers);
    for (const job of this.jobs.values()) if (!job.taken) job.reject(new Error('the build stopped'));
  }

  private async work(queue: readonly Job[]): Promise<void> {
    for (const job of queue) {
      if (this.stopped) return;
      if (job.taken) continue;
      job.taken = true;
      try {
        job.resolve(await cacheDataTar(this.cache, job.deb, job.pkg.sha256, job.pkg.name));
      } catch (error) {
        job.reject(error);
      }
    }
  }
}
