#!/bin/sh
# Compares the file:// store's put_file and get_file with dd on one disk.
#
#   bench/file_store.sh BENCH_BINARY [SCRATCH_FOLDER [SIZE_MIB [RUNS]]]
#
# BENCH_BINARY is the built file_store_bench.  SCRATCH_FOLDER (default: a
# new folder under $TMPDIR or /tmp) must be on the disk to measure, and it
# needs 3 x SIZE_MIB of free space.  SIZE_MIB defaults to 1024, RUNS to 3.
# Each run copies the same random file with dd (bs=1M conv=fdatasync) and
# with each store operation, timed from outside the process.  Before each
# command the script deletes its output, syncs and waits SETTLE_SECONDS
# (default 5), so that every command starts with no writeback pending.
# Without the wait, the command that follows another write ran slower on a
# virtual disk.  The script prints one Markdown table row per command with
# the best and median throughput, and removes what it wrote.
set -eu

bench=${1:?usage: bench/file_store.sh BENCH_BINARY [SCRATCH_FOLDER [SIZE_MIB [RUNS]]]}
scratch=${2:-}
size_mib=${3:-1024}
runs=${4:-3}
settle=${SETTLE_SECONDS:-5}

if [ -z "$scratch" ]; then
	scratch=$(mktemp -d "${TMPDIR:-/tmp}/hoist-file-store-bench.XXXXXX")
	remove_scratch=1
else
	mkdir -p "$scratch"
	remove_scratch=0
fi
src="$scratch/source.bin"
outdir="$scratch/out"
out="$outdir/out.bin"
store="$scratch/store"
url="file://$store"
key="bench/object.bin"
results="$scratch/results.txt"

cleanup() {
	rm -rf "$store" "$src" "$outdir" "$results"
	if [ "$remove_scratch" = 1 ]; then
		rmdir "$scratch"
	fi
}
trap cleanup EXIT

now_ns() {
	date +%s%N
}

# Runs "$@" once and appends "NAME MIB_PER_S" to the results.
measure() {
	name=$1
	shift
	start=$(now_ns)
	"$@" >/dev/null
	end=$(now_ns)
	echo "$name $(awk -v b="$((size_mib * 1048576))" -v ns="$((end - start))" \
		'BEGIN { printf "%.1f", b / 1048576 / (ns / 1e9) }')" >>"$results"
}

# Deletes the folder that the next command writes to and creates it
# empty (the store creates its own), then lets writeback finish.  Every
# command thus writes into a new folder, which ext4 may place in another
# block group than the deleted one.
settle_before() {
	rm -rf "$1"
	if [ "$1" = "$outdir" ]; then
		mkdir "$1"
	fi
	sync
	sleep "$settle"
}

dd if=/dev/urandom of="$src" bs=1M count="$size_mib" status=none
sync

: >"$results"
i=0
while [ "$i" -lt "$runs" ]; do
	settle_before "$outdir"
	measure dd dd if="$src" of="$out" bs=1M conv=fdatasync status=none

	settle_before "$store"
	measure put "$bench" put "$url" "$key" "$src"
	settle_before "$outdir"
	measure get "$bench" get "$url" "$key" "$out"

	settle_before "$store"
	measure put-crc32c "$bench" put-crc32c "$url" "$key" "$src"
	settle_before "$outdir"
	measure get-crc32c "$bench" get-crc32c "$url" "$key" "$out"

	settle_before "$store"
	measure put-sha256 "$bench" put-sha256 "$url" "$key" "$src"
	settle_before "$outdir"
	measure get-sha256 "$bench" get-sha256 "$url" "$key" "$out"
	i=$((i + 1))
done

fs=$(df -T "$scratch" | awk 'NR == 2 { print $2 }')
echo "$size_mib MiB file, $runs runs, $fs file system at $scratch," \
	"$settle s settle time"
echo
echo "| command | best MiB/s | median MiB/s | median vs dd |"
echo "|---|---|---|---|"
dd_median=$(awk '$1 == "dd" { print $2 }' "$results" | sort -n |
	awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
for name in dd put get put-crc32c get-crc32c put-sha256 get-sha256; do
	awk -v n="$name" '$1 == n { print $2 }' "$results" | sort -n |
		awk -v n="$name" -v dd="$dd_median" '
		{ v[NR] = $1 }
		END {
			m = v[int((NR + 1) / 2)]
			printf "| %s | %s | %s | %.0f%% |\n", n, v[NR], m, 100 * m / dd
		}'
done
