# First-boot provisioning, sourced by the initrd's init (busybox sh). A host config is looked for in
# this order: QEMU's fw_cfg (opt/slipway/config), the ESP (/slipway/config.{yaml,json,ign}), then a
# filesystem labelled SLIPWAY-CFG (config.{yaml,json,ign} at its top). The image's Node.js applies it
# chrooted into the verified root, before systemd starts; nothing is written unless it validates.

CONFIG_NAMES="config.yaml config.yml config.json config.ign"

# Copies the first config file found in folder $1 to $2; prints its name.
take_config_from() {
	for name in $CONFIG_NAMES; do
		if [ -f "$1/$name" ]; then cp "$1/$name" "$2" && echo "$name" && return 0; fi
	done
	return 1
}

# Finds a host config and copies it to $1; prints where it came from.
find_config() {
	for module in $(cat /etc/slipway/provision-modules); do insmod "/usr/lib/modules/$KVER/$module" 2>/dev/null; done
	fw=/sys/firmware/qemu_fw_cfg/by_name/opt/slipway/config/raw
	if [ -r "$fw" ]; then cat "$fw" >"$1" && echo "fw_cfg opt/slipway/config" && return 0; fi
	mkdir -p /run/config-source
	esp=$(sfdisk -d "$DISK" | grep -i "type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B" | cut -d' ' -f1 | head -n 1)
	if [ -n "$esp" ] && mount -t vfat -o ro "$esp" /run/config-source 2>/dev/null; then
		name=$(take_config_from /run/config-source/slipway "$1")
		umount /run/config-source
		[ -n "$name" ] && echo "the ESP's /slipway/$name" && return 0
	fi
	drive=$(blkid -c /dev/null -o device -t LABEL=SLIPWAY-CFG | head -n 1)
	[ -n "$drive" ] || drive=$(blkid -c /dev/null -o device -t LABEL=slipway-cfg | head -n 1)
	if [ -n "$drive" ] && mount -o ro "$drive" /run/config-source 2>/dev/null; then
		name=$(take_config_from /run/config-source "$1")
		umount /run/config-source
		[ -n "$name" ] && echo "$name on the config drive $drive" && return 0
	fi
	return 1
}

provision_first_boot() {
	mkdir -p "$STATE/provision"
	config="$STATE/provision/config"
	if source=$(find_config "$config"); then
		say "host config from $source"
		[ -x /sysroot/usr/bin/node ] || fail "this image has no Node.js to apply a host config with (add nodejs to the recipe's packages)"
		mount -t proc proc /sysroot/proc
		mount --bind /dev /sysroot/dev
		chroot /sysroot /usr/bin/node /usr/lib/slipway/provision.cjs /var/lib/slipway/provision/config "$source"
		status=$?
		umount /sysroot/dev /sysroot/proc
		if [ $status -ne 0 ]; then
			rm -f "$config"
			stop_boot "the host config from $source is not valid (see above); nothing was applied"
		fi
		sync
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
