#!/usr/bin/env bash
# bench/device.sh measures stylize against PyTorch on a machine with an
# NVIDIA GPU, in one go that fits in 8 minutes:
#
#   1. unpacks the Vulkan loader debs it is handed in .gl/ (where the
#      machine has no libvulkan) and points VK_DRIVER_FILES at the NVIDIA
#      ICD unless it is set;
#   2. builds bin/stylize (or uses the one carried, where there is no Go);
#   3. runs `stylize tune` at the sizes (a cache of its own, in $OUT);
#   4. runs bench/pytorch_ref.py --json at the same sizes, strict fp32 and
#      TF32 (cuDNN's algorithm search on);
#   5. runs `stylize bench -json` at the same sizes, heuristic and tuned
#      rows, compared with PyTorch's report (ratios per row);
#   6. leaves both reports, their tables, the tuning log and the
#      comparison in $OUT (default out/device).
#
# Usage (the device tool: carry .gl and bin): bash bench/device.sh
# Environment: SIZES (default 512,1024,2048), OUT, TORCH_DEVICE (default
# cuda; cpu tries the script on a machine without one).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out/device}
SIZES=${SIZES:-512,1024,2048}
mkdir -p "$OUT"
log() { echo "device.sh: $*" | tee -a "$OUT/device.log" >&2; }
start=$(date +%s)

if ! ldconfig -p 2>/dev/null | grep -q libvulkan.so.1; then
	if ls .gl/*.deb >/dev/null 2>&1; then
		for f in .gl/*.deb; do dpkg -x "$f" /; done
		ldconfig
	else
		log "no libvulkan.so.1 and no loader debs in .gl/ (see the device tool's README)"
		exit 1
	fi
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ]; then
	export VK_DRIVER_FILES=$icd
fi
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp/stylize-xdg-$(id -u)}
mkdir -p -m 700 "$XDG_RUNTIME_DIR"

if command -v go >/dev/null; then
	go build -o bin/stylize ./cmd/stylize || exit 1
fi
if [ ! -x bin/stylize ]; then
	log "no bin/stylize and no Go to build it: build here and carry bin"
	exit 1
fi
{ nvidia-smi -L 2>/dev/null; bin/stylize devices 2>&1; } | tee "$OUT/devices.txt" >&2

# 3. Tuning: the passes of each size, within 150 s.
export STYLIZE_CACHE="$OUT/cache"
timeout -k 10 170 bin/stylize tune -sizes "$SIZES" -budget 150s -reps 3 >"$OUT/tune.log" 2>&1
log "tune: exit $?, $(tail -n 1 "$OUT/tune.log")"

# 4. PyTorch, strict fp32 and TF32.
PY=
for p in ${PYTHON:-} /opt/torch/.venv/bin/python3 python3 /usr/bin/python3; do
	if "$p" -c 'import torch' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || log "no python3 with torch"
timeout -k 10 120 "$PY" bench/pytorch_ref.py --device "${TORCH_DEVICE:-cuda}" --only peak,iter --sizes "$SIZES" --precision fp32,tf32 \
	--reps 10 --row-time 10 --json -o "$OUT/torch.json" >/dev/null 2>"$OUT/torch.txt"
log "pytorch_ref: exit $?"

# 5. stylize: heuristic and tuned rows, against PyTorch's.
cmp=()
[ -s "$OUT/torch.json" ] && cmp=(-compare "$OUT/torch.json")
timeout -k 10 180 bin/stylize bench -only peak,iter -sizes "$SIZES" -reps 10 -kernels auto "${cmp[@]}" \
	-json -o "$OUT/stylize.json" >/dev/null 2>"$OUT/stylize.txt"
log "stylize bench: exit $?"
log "done in $(( $(date +%s) - start )) s; reports in $OUT"
