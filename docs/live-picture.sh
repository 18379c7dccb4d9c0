#!/bin/sh
# live-picture.sh draws the README's window picture: stylize-live on the
# bundled cat and Hubble images at 200 px, with its HUD and thumbnails,
# captured after 12 iterations on a private Xvfb. WEIGHTS names a VGG19
# file; without one it uses synthetic weights (the picture then shows the
# window, not a trained network's style). Run it from the repository root
# after make build.
set -eu
weights=${WEIGHTS:-synthetic}
out=${1:-docs/stylize-live.png}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'wait-iter 12\ncapture live.png\nquit\n' > "$tmp/script.txt"
xvfb-run -a -s "-screen 0 1280x800x24" ./bin/stylize-live \
  -content samples/chelsea.png -style samples/hubble_deep_field.jpg -size 200 \
  -weights "$weights" -window 900x560 -script "$tmp/script.txt" \
  -capture-dir "$tmp" -out "$tmp/out.png" >/dev/null
cp "$tmp/live.png" "$out"
echo "wrote $out"
