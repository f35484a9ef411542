# The platform a first boot reads its host config from, sourced by provision.sh. The recipe's
# platform: puts slipway.platform= on the command line; without it (auto) the platform is found
# where that is safe: a URL on the command line is bare metal, the firmware's DMI names EC2, Google
# Compute Engine and OpenStack, and a drive labelled config-2 or cidata is OpenStack's or NoCloud's.
# The image's Node reads the platform (src/hostconfig/platforms.ts), chrooted into the root.

# Prints the platform: metal, aws, gcp, openstack, nocloud, or qemu (fw_cfg, the ESP and config drives only).
# $1: blkid's labels of every device.
machine_platform() {
	url=
	for arg in $(cat /proc/cmdline); do
		case "$arg" in
			slipway.platform=*) echo "${arg#slipway.platform=}" && return 0 ;;
			slipway.config.url=*) url=1 ;;
		esac
	done
	[ -z "$url" ] || { echo metal && return 0; }
	dmi=/sys/class/dmi/id
	read_dmi() { cat "$dmi/$1" 2>/dev/null; }
	case "$(read_dmi sys_vendor)|$(read_dmi bios_vendor)|$(read_dmi product_version)" in
		*"Amazon EC2"* | *amazon*) echo aws && return 0 ;;
	esac
	case "$(read_dmi product_name)" in
		"Google Compute Engine") echo gcp && return 0 ;;
		"OpenStack Nova" | "OpenStack Compute") echo openstack && return 0 ;;
	esac
	[ "$(read_dmi chassis_asset_tag)" != "OpenStack Nova" ] || { echo openstack && return 0; }
	if echo "$1" | grep -qi ': LABEL="config-2"'; then echo openstack && return 0; fi
	if echo "$1" | grep -qi ': LABEL="cidata"'; then echo nocloud && return 0; fi
	echo qemu
}

# The most a file from a drive may be: as much as a host config.
DRIVE_FILE_MAX=16777216

# Copies files ($4...) from the drive labelled $2 (either case; blkid's labels in $1) into folder $3,
# which exists only when the drive was read whole.
copy_from_drive() {
	drive=$(echo "$1" | grep -i ": LABEL=\"$2\"" | head -n 1 | cut -d: -f1)
	[ -n "$drive" ] || return 1
	mkdir -p /run/platform-drive
	mount -o ro "$drive" /run/platform-drive 2>/dev/null || return 1
	from=/run/platform-drive
	label=$2
	dest=$3
	shift 3
	mkdir -p "$dest"
	for file in "$@"; do
		[ -f "$from/$file" ] || continue
		if [ "$(stat -c %s "$from/$file")" -gt $DRIVE_FILE_MAX ] || ! cp "$from/$file" "$dest/"; then
			say "cannot read $file from the $label drive $drive (more than 16 MiB, or unreadable)"
			umount "$from"
			rm -rf "$dest"
			return 1
		fi
	done
	umount "$from"
	say "reading the $label drive $drive"
}

# Reads the host config platform $1 holds into the plan $3 ($2: blkid's labels); the agent writes
# where it came from to $STATE/provision/platform/source. Returns 1, saying why, when there is none
# to read (bare metal without a URL, a platform slipway does not know, an image without Node.js).
platform_config() {
	dir=$STATE/provision/platform
	rm -rf "$dir"
	mkdir -p "$dir"
	network=
	case "$1" in
		nocloud) copy_from_drive "$2" cidata "$dir/cidata" user-data meta-data ||
			stop_boot "the nocloud platform's drive (a filesystem labelled cidata) cannot be read" ;;
		openstack) copy_from_drive "$2" config-2 "$dir/config-2" openstack/latest/meta_data.json openstack/latest/user_data || network=1 ;;
		aws | gcp) network=1 ;;
		metal) if ! grep -q 'slipway\.config\.url=' /proc/cmdline; then
				say "the metal platform without slipway.config.url=: no host config to read"
				return 1
			fi
			network=1 ;;
		*) say "slipway.platform=$1 is not a platform slipway reads (metal, aws, gcp, openstack, nocloud, qemu): no host config read"
			return 1 ;;
	esac
	if [ ! -x /sysroot/usr/bin/node ]; then
		say "this image has no Node.js to read the $1 platform's config with (add nodejs to the recipe's packages): no host config read"
		return 1
	fi
	[ -z "$network" ] || platform_network_up "$1"
	run_provision_agent --platform "$1" "${dir#/sysroot}" "${3#/sysroot}" ||
		stop_boot "no host config from the $1 platform (see above); nothing was applied, and the next boot tries again"
}

NIC=
# Brings the network up once, for a platform's metadata or an Ignition config's remote sources.
platform_network_up() {
	[ -z "$NIC" ] || return 0
	load_modules /etc/slipway/network-modules
	NIC=$(bring_up_network) || stop_boot "no network interface got an address by DHCP, and the host config is behind the network ($1)"
	say "network up on $NIC for $1"
}
