/**
 * The platforms a first boot reads its host config from: names the recipe, the kernel command line
 * (`slipway.platform=`) and the image's provisioning share. `auto` finds the platform at boot, where
 * that is safe to tell (runtime/initrd/platform.sh).
 */
export const PLATFORMS = ['auto', 'qemu', 'metal', 'aws', 'gcp', 'openstack', 'nocloud'] as const;
export type PlatformName = (typeof PLATFORMS)[number];
