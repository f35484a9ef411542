# Sourced by init when the command line has slipway.live=NAME_VERSION (the installer ISO's UKI): the
# root and its verity data are files on the medium the machine booted from, a CD or a USB stick
# holding the ISO, opened from read-only loop devices; dm-verity checks every block read against
# the root hash this UKI carries. /var is in memory. The installer (slipway-install.service) is told
# which device the medium is, and mounts it again itself.

LIVE_MEDIUM=/run/live-medium

# Mounts the ISO 9660 medium that holds NAME_VERSION.root.squashfs; waits up to 20 s for it.
live_find_medium() {
	load_modules /etc/slipway/live-modules
	mkdir -p "$LIVE_MEDIUM"
	tries=0
	while [ $tries -lt 100 ]; do
		for dev in /sys/block/*; do
			name=${dev##*/}
			case "$name" in sr* | sd* | vd* | nvme*) ;; *) continue ;; esac
			mount -t iso9660 -o ro "/dev/$name" "$LIVE_MEDIUM" 2>/dev/null || continue
			[ -f "$LIVE_MEDIUM/slipway/$1.root.squashfs" ] && { echo "/dev/$name"; return 0; }
			umount "$LIVE_MEDIUM"
		done
		tries=$((tries + 1))
		sleep 0.2
	done
	return 1
}

# Sets DATA_DEV and HASH_DEV to the medium's root and verity data, LIVE_DEVICE to the medium.
live_root() {
	LIVE_DEVICE=$(live_find_medium "$1") || fail "no CD or USB stick holds slipway/$1.root.squashfs (the ISO this UKI came from)"
	attach_root_files "$LIVE_MEDIUM/slipway/$1.root.squashfs" "$LIVE_MEDIUM/slipway/$1.root.verity" "$LIVE_DEVICE"
	say "running live from $LIVE_DEVICE"
}

# Tells the live system which device the medium is, in /var/lib/slipway/live-medium. The medium's
# mount leaves the initrd's view only: the loop devices keep it open.
live_name_medium() {
	echo "$LIVE_DEVICE" >"$STATE/live-medium" || fail "cannot write $STATE/live-medium"
	umount -l "$LIVE_MEDIUM"
}
