# The dm-verity table of this version's root, sourced by the initrd's init (busybox sh), so that
# dmsetup alone opens the root (no veritysetup, libcryptsetup or libcrypto in the initrd).
#
# `veritysetup format` writes a superblock at the start of the hash partition (little-endian):
#   0 signature "verity\0\0"   8 version u32   12 hash type u32   16 uuid[16]   32 algorithm[32]
#   64 data block size u32   68 hash block size u32   72 data blocks u64   80 salt size u16
#   82 padding[6]   88 salt[256]
# and the hash tree after it, from the first hash block on. The root hash from the kernel command
# line covers the tree's shape too: with a forged superblock the tree does not match it, and the
# kernel refuses the first block read. The checks here turn a missing or foreign superblock into
# a message that says so.
#
# The superblock is read by one dd | od and taken apart with builtins: under emulation every
# process the initrd starts costs milliseconds.

VERITY_SIGNATURE=7665726974790000 # "verity\0\0"
VERITY_SHA256=7368613235360000000000000000000000000000000000000000000000000000 # "sha256", NUL-padded to 32 bytes

# Sets variable $1 to the $3 bytes at offset $2 of the superblock: as hex; as a little-endian number.
superblock_hex() { eval "$1=\${SUPERBLOCK_HEX:$(($2 * 2)):$(($3 * 2))}"; }
superblock_uint() {
	value=0 at=$(($2 + $3))
	while [ "$at" -gt "$2" ]; do
		at=$((at - 1))
		value=$((value << 8 | 0x${SUPERBLOCK_HEX:$((at * 2)):2}))
	done
	eval "$1=\$value"
}

# Sets VERITY_TABLE (for dmsetup) and VERITY_UUID for data device $1, hash device $2, root hash
# $3 and the data device's size in bytes $4, from the superblock on $2; fails on one it cannot use.
verity_table() {
	superblock="the verity superblock on $2"
	SUPERBLOCK_HEX=$(dd if="$2" bs=512 count=1 2>/dev/null | od -A n -t x1 -v | tr -d ' \n')
	[ "${#SUPERBLOCK_HEX}" -eq 1024 ] || fail "cannot read the verity superblock from $2"
	superblock_hex signature 0 8
	[ "$signature" = "$VERITY_SIGNATURE" ] || fail "$2 has no verity superblock (no \"verity\" signature)"
	superblock_uint version 8 4
	[ "$version" -eq 1 ] || fail "$superblock has version $version; this initrd reads version 1"
	superblock_uint hash_type 12 4
	[ "$hash_type" -eq 1 ] || fail "$superblock has hash type $hash_type; this initrd opens type 1 (normal)"
	superblock_hex algorithm 32 32
	[ "$algorithm" = "$VERITY_SHA256" ] || fail "$superblock names a hash algorithm other than sha256"
	superblock_uint data_block_size 64 4
	superblock_uint hash_block_size 68 4
	for size in "$data_block_size" "$hash_block_size"; do
		case "$size" in 512 | 1024 | 2048 | 4096) ;; *) fail "$superblock has a block size of $size bytes; dm-verity takes 512, 1024, 2048 or 4096" ;; esac
	done
	# Compared by division: data blocks times block size could overflow the shell's 64 bits.
	superblock_uint data_blocks 72 8
	[ "$data_blocks" -gt 0 ] && [ "$data_blocks" -le $(($4 / data_block_size)) ] ||
		fail "$superblock counts $data_blocks data blocks of $data_block_size bytes, more than the $4 bytes of $1"
	superblock_uint salt_size 80 2
	[ "$salt_size" -le 256 ] || fail "$superblock has a salt of $salt_size bytes; at most 256 fit"
	superblock_hex salt 88 "$salt_size"
	superblock_hex uuid 16 16
	VERITY_TABLE="0 $((data_blocks * data_block_size / 512)) verity 1 $1 $2 $data_block_size $hash_block_size $data_blocks 1 sha256 $3 ${salt:--}"
	# The device UUID veritysetup gives a verity device (CRYPT-VERITY-<superblock uuid>-<name>).
	VERITY_UUID="CRYPT-VERITY-$uuid-root"
}
