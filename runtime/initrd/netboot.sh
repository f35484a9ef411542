# Sourced by init when the command line has slipway.netboot=URL (the netboot UKI): the root and its
# verity data are fetched over HTTP into memory and opened from loop devices, so the host runs
# live. dm-verity checks them against the root hash this UKI carries; init reads the whole root
# through it before mounting, so a changed byte anywhere stops the boot before anything runs.

# Fetches URL.root.squashfs and URL.root.verity; sets DATA_DEV and HASH_DEV to read-only loop devices.
netboot_root() {
	url=$1
	nic=$(bring_up_network) || fail "no network interface got an address by DHCP"
	say "fetching the root from $url.root.squashfs over $nic"
	mkdir -p /run/netboot
	wget -q -O /run/netboot/root.squashfs "$url.root.squashfs" || fail "cannot fetch $url.root.squashfs"
	wget -q -O /run/netboot/root.verity "$url.root.verity" || fail "cannot fetch $url.root.verity"
	take_down_network "$nic"
	attach_root_files /run/netboot/root.squashfs /run/netboot/root.verity "$url"
}

# Reads every block of the verified root: dm-verity fails the read of any block that does not
# match the root hash, so a changed image is refused here, before it is mounted.
netboot_check_root() {
	dd if=/dev/mapper/root of=/dev/null bs=1M 2>/dev/null ||
		fail "the root fetched from $1 does not match this UKI's root hash (dm-verity refused a block); nothing of it ran"
}
