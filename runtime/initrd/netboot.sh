# Sourced by init when the command line has slipway.netboot=URL (the netboot UKI): the root and its
# verity data are fetched over HTTP into memory and opened from loop devices, so the host runs
# live. dm-verity checks them against the root hash this UKI carries; init reads the whole root
# through it before mounting, so a changed byte anywhere stops the boot before anything runs.

# Brings up the first interface that gets a DHCP lease, and prints its name. Waits up to 10 s for
# an interface to show up, then gives each of them five tries of up to 10 s.
netboot_network() {
	budget=50
	while [ $budget -gt 0 ]; do
		seen=
		for dev in /sys/class/net/*; do
			name=${dev##*/}
			[ "$name" = lo ] && continue
			seen=1
			ip link set "$name" up
			if udhcpc -i "$name" -n -q -f -t 5 -T 2 -s /usr/lib/slipway/udhcpc.script >/dev/null 2>&1; then
				echo "$name"
				return 0
			fi
		done
		if [ -n "$seen" ]; then budget=$((budget - 10)); else budget=$((budget - 1)) && sleep 0.2; fi
	done
	return 1
}

# Fetches URL.root.squashfs and URL.root.verity; sets DATA_DEV and HASH_DEV to read-only loop devices.
netboot_root() {
	url=$1
	nic=$(netboot_network) || fail "no network interface got an address by DHCP"
	say "fetching the root from $url.root.squashfs over $nic"
	mkdir -p /run/netboot
	wget -q -O /run/netboot/root.squashfs "$url.root.squashfs" || fail "cannot fetch $url.root.squashfs"
	wget -q -O /run/netboot/root.verity "$url.root.verity" || fail "cannot fetch $url.root.verity"
	# The root's own network setup (systemd-networkd) starts from a clean interface.
	ip addr flush dev "$nic"
	ip link set "$nic" down
	attach_root_files /run/netboot/root.squashfs /run/netboot/root.verity "$url"
}

# Reads every block of the verified root: dm-verity fails the read of any block that does not
# match the root hash, so a changed image is refused here, before it is mounted.
netboot_check_root() {
	dd if=/dev/mapper/root of=/dev/null bs=1M 2>/dev/null ||
		fail "the root fetched from $1 does not match this UKI's root hash (dm-verity refused a block); nothing of it ran"
}
