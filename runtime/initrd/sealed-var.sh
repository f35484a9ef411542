# Sourced by init when the image seals /var (disk.encryption: tpm2). /var is LUKS2, its key sealed
# to this machine's TPM with two conditions: PCR 7 as it is now (Secure Boot on, with the keys the
# machine enrolled) and a PCR 11 value signed by the key that signed this image's PCR policy (the
# UKI carries the signature; systemd-stub puts it in /.extra). The key is released only in the
# initrd: open_sealed_var measures the `enter-initrd` phase first, and leave_initrd_phase moves
# PCR 11 on before the root starts. The first boot finds the build's mark instead of LUKS2 and
# seals a new /var; a partition with neither is never formatted, and a failed unlock never writes.

EFI_VARS=/sys/firmware/efi/efivars
EFI_GLOBAL=8be4df61-93ca-11d2-aa0d-00e098032b8c
SYSTEMD_BOOT=4a67b082-0a4c-41cf-b6c7-440b29bb8c4f
# What the build writes at the start of a new data partition (src/bootimage/datafs.ts).
UNSEALED_MARK=SLIPWAY-VAR-NOT-YET-SEALED
# systemd-stub puts the UKI's .pcrsig and .pcrpkey in /.extra; libcryptsetup's systemd-tpm2 token
# plugin reads the signature where systemd's initrd copies it.
PCR_SIGNATURE=/run/systemd/tpm2-pcr-signature.json
PCR_PUBLIC_KEY=/.extra/tpm2-pcr-public-key.pem
# libdevmapper makes the /dev/mapper node itself: no udev runs here.
export DM_DISABLE_UDEV=1
# systemd's tools say what went wrong on the console, where nobody else would read it here.
export SYSTEMD_LOG_TARGET=console

secure_boot_on() { [ "$(od -An -tu1 "$EFI_VARS/SecureBoot-$EFI_GLOBAL" 2>/dev/null | awk '{ print $NF }')" = 1 ]; }

# First boot: LUKS2 over the whole partition with a throwaway passphrase, the TPM-sealed key
# enrolled, the passphrase wiped. Nothing else can open it from then on.
seal_new_var() {
	dev=$1
	secure_boot_on || stop_boot "/var is sealed at the first boot only under Secure Boot, and Secure Boot is off on this machine: enroll the image's keys (see the README) or boot it with 'slipway boot --secure-boot'; $dev was not changed"
	say "first boot: sealing /var on $dev (LUKS2, its key sealed to this machine's TPM, Secure Boot state and the image's signed PCR policy)"
	passphrase=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
	printf '%s' "$passphrase" | cryptsetup luksFormat --batch-mode --type luks2 --label var --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file - "$dev" ||
		fail "cannot format $dev with LUKS2"
	PASSWORD=$passphrase systemd-cryptenroll --tpm2-device=auto --tpm2-pcrs=7 --tpm2-public-key="$PCR_PUBLIC_KEY" --tpm2-public-key-pcrs=11 "$dev" ||
		fail "cannot seal the key of $dev to the TPM"
	PASSWORD=$passphrase systemd-cryptenroll --wipe-slot=password "$dev" || fail "cannot remove the first boot's passphrase from $dev"
	passphrase=
	NEW_VAR=1
}

# Opens /var on $1 as /dev/mapper/var, sealing it first on a new disk.
open_sealed_var() {
	dev=$1
	mount -t efivarfs efivarfs "$EFI_VARS" || fail "cannot mount efivarfs"
	[ -e /dev/tpmrm0 ] || stop_boot "/var is sealed to a TPM, and this machine has none (slipway boot --tpm attaches one); $dev was not changed"
	[ -s /.extra/tpm2-pcr-signature.json ] && [ -s "$PCR_PUBLIC_KEY" ] || fail "this UKI carries no signed PCR policy (.pcrsig, .pcrpkey)"
	mkdir -p /run/systemd && cp /.extra/tpm2-pcr-signature.json "$PCR_SIGNATURE"
	/usr/lib/systemd/systemd-pcrphase enter-initrd || fail "cannot measure the initrd's phase into PCR 11"
	if [ "$(head -c ${#UNSEALED_MARK} "$dev")" = "$UNSEALED_MARK" ]; then
		seal_new_var "$dev"
	elif [ "$(blkid -p -s TYPE -o value "$dev")" != crypto_LUKS ]; then
		stop_boot "/var ($dev) is neither LUKS2 nor a new image's empty partition: it is left as it is, and not formatted"
	fi
	# When /var cannot be opened, the boot stops: a reboot would meet the same TPM, and nothing may
	# write to a /var it cannot read. (The update agent refuses a version whose PCR policy key
	# differs from the running one's, so an update does not end here.)
	say "unlocking /var on $dev (boot entry $(tail -c +5 "$EFI_VARS/LoaderEntrySelected-$SYSTEMD_BOOT" 2>/dev/null | tr -d '\000'))"
	/usr/lib/systemd/systemd-cryptsetup attach var "$dev" - "tpm2-device=auto,tpm2-signature=$PCR_SIGNATURE,headless=true" || {
		# What the policy was checked against, for whoever compares it with the machine's event log.
		for pcr in 7 11; do say "PCR $pcr (sha256): $(cat /sys/class/tpm/tpm0/pcr-sha256/$pcr 2>/dev/null)"; done
		secure_boot_on || stop_boot "cannot unlock /var ($dev): Secure Boot is off, and its key is sealed to the Secure Boot state it was sealed under; $dev was not changed"
		stop_boot "cannot unlock /var ($dev): its key is sealed to another TPM, another Secure Boot state, or PCR policies signed by another key (the lines above say what the TPM refused); $dev was not changed"
	}
	if [ -n "$NEW_VAR" ]; then
		/usr/sbin/mke2fs -q -t ext4 -b 4096 -L var -m 0 /dev/mapper/var || fail "cannot make the /var filesystem"
	fi
	say "/var unlocked with the key sealed to this machine's TPM"
}

# PCR 11 leaves the only phase /var's key is released in, before the root runs.
leave_initrd_phase() {
	/usr/lib/systemd/systemd-pcrphase leave-initrd || fail "cannot measure leaving the initrd into PCR 11"
	umount "$EFI_VARS"
}
