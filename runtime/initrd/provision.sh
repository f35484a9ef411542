# First-boot provisioning, sourced by the initrd's init (busybox sh). A host config is looked for in
# this order: QEMU's fw_cfg (opt/slipway/config), the ESP (/slipway/config.{yaml,json,ign}) or, live
# from the installer ISO, the medium's /slipway, then a filesystem labelled SLIPWAY-CFG
# (config.{yaml,json,ign} at its top), and last where the platform keeps it (platform.sh: a cloud's
# metadata service or drive, a URL). Beside it may be the plan
# slipway compiled from it for this image (fw_cfg opt/slipway/plan, or plan.tar): a tar of what to
# write into /var and the /etc overlay. Without a plan that fits, the image's Node.js checks the
# config and compiles the plan, chrooted into the verified root. Nothing is written unless it
# validates, and the plan is applied before systemd starts.

CONFIG_NAMES="config.yaml config.yml config.json config.ign"
PLAN_NAME=plan.tar
# The plan's record of the config and image facts it was compiled from (see src/hostconfig/compile.ts).
PLAN_RECORD=var/lib/slipway/provision/compiled-from
FACTS=/usr/lib/slipway/facts.json

# Copies the first config file found in folder $1 to $2, and the plan beside it to $3; prints its name.
take_config_from() {
	for name in $CONFIG_NAMES; do
		if [ -f "$1/$name" ]; then
			cp "$1/$name" "$2" || return 1
			[ ! -f "$1/$PLAN_NAME" ] || cp "$1/$PLAN_NAME" "$3" || return 1
			echo "$name"
			return 0
		fi
	done
	return 1
}

# Finds a host config and copies it to $1 (a plan beside it to $2); prints where it came from.
find_config() {
	fw=/sys/firmware/qemu_fw_cfg/by_name/opt/slipway
	if [ -r "$fw/config/raw" ]; then
		cat "$fw/config/raw" >"$1" || return 1
		[ ! -r "$fw/plan/raw" ] || cat "$fw/plan/raw" >"$2" || return 1
		echo "fw_cfg opt/slipway/config" && return 0
	fi
	mkdir -p /run/config-source
	# A machine booted over the network has no boot disk, and so no ESP.
	esp=
	[ -z "$TABLE" ] || esp=$(partition "type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B")
	if [ -n "$esp" ] && mount -t vfat -o ro "$esp" /run/config-source 2>/dev/null; then
		name=$(take_config_from /run/config-source/slipway "$1" "$2")
		umount /run/config-source
		[ -n "$name" ] && echo "the ESP's /slipway/$name" && return 0
	fi
	if [ -n "$LIVE" ]; then
		name=$(take_config_from "$LIVE_MEDIUM/slipway" "$1" "$2")
		[ -n "$name" ] && echo "the installer medium's /slipway/$name" && return 0
	fi
	# One probe of every device for both spellings of the label, the upper-case one first.
	drive=$(echo "$LABELS" | grep ': LABEL="SLIPWAY-CFG"' | head -n 1 | cut -d: -f1)
	[ -n "$drive" ] || drive=$(echo "$LABELS" | grep ': LABEL="slipway-cfg"' | head -n 1 | cut -d: -f1)
	if [ -n "$drive" ] && mount -o ro "$drive" /run/config-source 2>/dev/null; then
		name=$(take_config_from /run/config-source "$1" "$2")
		umount /run/config-source
		[ -n "$name" ] && echo "$name on the config drive $drive" && return 0
	fi
	return 1
}

sha256_of() { sha256sum <"$1" | cut -d' ' -f1; }

# Whether plan $1 was compiled from config $2 for the image whose root is $3.
plan_fits() {
	[ -f "$1" ] && [ -f "$3$FACTS" ] || return 1
	record=$(tar -x -O -f "$1" "$PLAN_RECORD" 2>/dev/null) || return 1
	[ "$record" = "$(printf 'config %s\nimage %s' "$(sha256_of "$2")" "$(sha256_of "$3$FACTS")")" ]
}

# Writes plan $1 into the root $2: files, folders and links with their modes and numeric owners.
# busybox tar replaces what an interrupted earlier attempt left; folders the plan does not name are
# made 0755 root.
apply_plan() {
	(umask 022 && tar -x -m --numeric-owner -f "$1" -C "$2")
}

# Runs the image's provisioning program (src/hostconfig/agent.ts) with arguments "$@", chrooted into
# the verified root; its standard output is the caller's. When the config needs the network (exit
# 75: an Ignition config's remote sources), brings it up and runs it again.
run_provision_agent() {
	[ -x /sysroot/usr/bin/node ] || fail "this image has no Node.js to check a host config with (add nodejs to the recipe's packages, or compile the config with slipway)"
	mount -t proc proc /sysroot/proc
	mount --bind /dev /sysroot/dev
	while :; do
		SLIPWAY_NETWORK=${NIC:+1} SLIPWAY_DNS=$(lease_dns_servers) chroot /sysroot /usr/bin/node /usr/lib/slipway/provision.cjs "$@"
		status=$?
		[ $status -eq 75 ] && [ -z "$NIC" ] || break
		platform_network_up "the config's remote sources"
	done
	umount /sysroot/dev /sysroot/proc
	[ -z "$NIC" ] || take_down_network "$NIC"
	NIC=
	return $status
}

# The image's Node.js checks config $1 (from $2) and writes the plan $3; on a bad config the boot stops.
compile_at_boot() {
	if ! run_provision_agent "${1#/sysroot}" "$2" "${3#/sysroot}"; then
		rm -f "$1" "$3"
		stop_boot "the host config from $2 is not valid (see above); nothing was applied"
	fi
}

# Waits, for 3 s at most, until the block devices stop appearing: the CD and SATA drivers just loaded
# probe their ports in the background, and a config drive in a CD drive shows up a moment later.
settle_block_devices() {
	[ -n "$(ls /sys/class/ata_port 2>/dev/null)" ] || return 0
	last=$(ls /sys/class/block | wc -l)
	steady=0
	for tick in 1 2 3 4 5 6 7 8 9 10 11 12; do
		sleep 0.25
		now=$(ls /sys/class/block | wc -l)
		if [ "$now" = "$last" ]; then steady=$((steady + 1)); else steady=0; fi
		last=$now
		[ $steady -lt 4 ] || return 0
	done
}

provision_first_boot() {
	load_modules /etc/slipway/provision-modules
	settle_block_devices
	# Every device's label, probed once: config drives are found by them.
	LABELS=$(blkid -c /dev/null -s LABEL)
	mkdir -p "$STATE/provision"
	# What a config and a platform's user data hold is for root only.
	chmod 700 "$STATE/provision"
	config="$STATE/provision/config"
	plan="$STATE/provision/$PLAN_NAME"
	rm -f "$plan"
	if source=$(find_config "$config" "$plan"); then
		say "host config from $source"
		if plan_fits "$plan" "$config" /sysroot; then
			say "applying the plan slipway compiled from it for this image"
		else
			[ ! -f "$plan" ] || say "the plan beside it was compiled from another config or for another image: checking the config here"
			rm -f "$plan"
			compile_at_boot "$config" "$source" "$plan"
		fi
	else
		source=
		platform=$(machine_platform "$LABELS")
		if [ "$platform" != qemu ]; then
			say "reading the host config from the $platform platform"
			if platform_config "$platform" "$LABELS" "$plan"; then
				source=$(cat "$STATE/provision/platform/source")
			fi
		fi
	fi
	if [ -n "$source" ]; then
		apply_plan "$plan" /sysroot || stop_boot "cannot write the host config's files to /var (see above); the next boot tries again"
		sync
		hostname=$(cat "$STATE/etc/upper/hostname" 2>/dev/null)
		echo "slipway-provision: applied $source${hostname:+ (host $hostname)}"
	fi
	# Never again, whether or not there was a config: a host is provisioned at its first boot only.
	echo "${source:-none}" >"$STATE/provisioned"
}

# Puts the provisioned accounts ($1) into the image's passwd, group, shadow and gshadow ($2) and
# writes the result to the /etc overlay's upper folder ($3). Done at every boot, so an update's new
# system accounts are never hidden behind an old copy.
merge_accounts() {
	[ -f "$1/passwd" ] || return 0
	for file in passwd shadow; do
		cat "$2/$file" "$1/$file" >"$3/$file.new" || return 1
	done
	for file in group gshadow; do
		# members: "group:user" lines, for the image's groups that provisioned users join.
		awk -F: -v OFS=: -v members="$1/members" 'FILENAME == members { add[$1] = add[$1] (add[$1] == "" ? "" : ",") $2; next }
			($1 in add) { $NF = $NF ($NF == "" ? "" : ",") add[$1] } { print }' "$1/members" "$2/$file" >"$3/$file.new" || return 1
		cat "$1/$file" >>"$3/$file.new" || return 1
	done
	chmod 644 "$3/passwd.new" "$3/group.new"
	chmod 640 "$3/shadow.new" "$3/gshadow.new"
	chgrp 42 "$3/shadow.new" "$3/gshadow.new"
	for file in passwd shadow group gshadow; do mv "$3/$file.new" "$3/$file" || return 1; done
}
