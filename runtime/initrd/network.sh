# The initrd's network, sourced by init for a netboot and by provisioning when a platform keeps the
# host config behind it (a metadata service, a URL). busybox's udhcpc takes a lease; the root's own
# network setup (systemd-networkd) then starts from a clean interface.

# Brings up the first interface that gets a DHCP lease, and prints its name. Waits up to 10 s for
# an interface to show up, then gives each of them five tries of up to 10 s.
bring_up_network() {
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
			ip link set "$name" down
		done
		if [ -n "$seen" ]; then budget=$((budget - 10)); else budget=$((budget - 1)) && sleep 0.2; fi
	done
	return 1
}

# Leaves interface $1 as the root's network setup expects to find it: no address, down.
take_down_network() {
	ip addr flush dev "$1"
	ip link set "$1" down
}

# The lease's DNS servers, comma-separated (what the image's Node resolves names with in the initrd).
lease_dns_servers() {
	grep '^nameserver ' /etc/resolv.conf 2>/dev/null | cut -d' ' -f2 | tr '\n' ',' | sed 's/,$//'
}
