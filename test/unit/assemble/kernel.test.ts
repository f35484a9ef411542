import { describe, expect, it } from 'vitest';
import { BuildError } from '../../../src/errors.ts';
import { moduleClosure, moduleName, type KernelInfo } from '../../../src/assemble/kernel.ts';

function kernel(dependencies: Record<string, string[]>, builtin: string[] = []): KernelInfo {
  return {
    version: '6.1.0-test-amd64',
    vmlinuz: Buffer.alloc(0),
    modules: new Map(Object.keys(dependencies).map((name) => [name, `kernel/${name}.ko`])),
    dependsOn: (name) => dependencies[name] ?? [],
    builtin: new Set(builtin),
  };
}

const KERNEL = kernel(
  {
    dm_verity: ['dm_bufio', 'dm_mod'],
    dm_bufio: [],
    dm_mod: [],
    overlay: [],
    nft_masq: ['nf_nat', 'nf_tables'],
    nf_nat: ['nf_conntrack'],
    nf_conntrack: ['libcrc32c'],
    nf_tables: [],
  },
  ['libcrc32c', 'virtio_pci'],
);

describe('moduleName', () => {
  it.each([
    ['kernel/drivers/md/dm-verity.ko', 'dm_verity'],
    ['kernel/fs/overlayfs/overlay.ko.xz', 'overlay'],
    ['kernel/net/netfilter/nf_nat.ko.zst', 'nf_nat'],
    ['kernel/lib/crc-t10dif.ko.gz', 'crc_t10dif'],
    ['kernel/drivers/virtio/virtio_pci.ko', 'virtio_pci'],
  ])('%s → %s', (file, name) => {
    expect(moduleName(file)).toBe(name);
  });
});

describe('moduleClosure', () => {
  it('puts dependencies before the modules that need them', () => {
    expect(moduleClosure(KERNEL, ['dm_verity'], [])).toEqual(['dm_bufio', 'dm_mod', 'dm_verity']);
    expect(moduleClosure(KERNEL, ['nft_masq'], [])).toEqual(['nf_conntrack', 'nf_nat', 'nf_tables', 'nft_masq']);
  });

  it('lists each module once', () => {
    expect(moduleClosure(KERNEL, ['dm_mod', 'dm_verity', 'dm_mod'], [])).toEqual(['dm_mod', 'dm_bufio', 'dm_verity']);
  });

  it('skips built-in modules, wanted or depended on', () => {
    expect(moduleClosure(KERNEL, ['virtio_pci', 'nf_conntrack'], [])).toEqual(['nf_conntrack']);
  });

  it('takes names with dashes', () => {
    expect(moduleClosure(KERNEL, ['dm-verity'], ['dm-verity'])).toEqual(['dm_bufio', 'dm_mod', 'dm_verity']);
  });

  it('skips a default module the kernel lacks', () => {
    expect(moduleClosure(KERNEL, ['xt_nat', 'overlay'], [])).toEqual(['overlay']);
  });

  it('fails on a recipe module the kernel lacks, naming it', () => {
    const wanted = ['overlay', 'zfs'];
    expect(() => moduleClosure(KERNEL, wanted, ['zfs'])).toThrow(BuildError);
    expect(() => moduleClosure(KERNEL, wanted, ['zfs'])).toThrow('kernel.modules: unknown module "zfs" in kernel 6.1.0-test-amd64');
  });

  it('takes a recipe module that is built in', () => {
    expect(moduleClosure(KERNEL, ['overlay', 'virtio_pci'], ['virtio_pci'])).toEqual(['overlay']);
  });

  it('fails when a module depends on one the kernel lacks', () => {
    const broken = kernel({ wireguard: ['udp_tunnel'] });
    expect(() => moduleClosure(broken, ['wireguard'], [])).toThrow('module wireguard depends on udp_tunnel, which kernel 6.1.0-test-amd64 lacks');
  });

  it('survives a dependency cycle', () => {
    const cyclic = kernel({ a: ['b'], b: ['a'] });
    expect(moduleClosure(cyclic, ['a'], [])).toEqual(['b', 'a']);
  });
});
