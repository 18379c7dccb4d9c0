# stylize: `make test` installs what the tests need and runs them;
# `make bench` builds the command and benchmarks the GPU.
SHELL := /bin/bash
GO ?= go
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# lavapipe's window-system layer warns when this is unset; give it a private dir.
export XDG_RUNTIME_DIR ?= /tmp/stylize-xdg-$(shell id -u)

.PHONY: all build deps test vet fmt-check bench bench-cpu bench-live bench-go devices demo live fuzz cross clean

all: build

# deps installs, only where missing, the Vulkan loader and Mesa's lavapipe
# (a software Vulkan GPU, so that every GPU test runs on a machine without
# one), gcc for cgo, the X11/GL headers GLFW builds against (stylize-live)
# Xvfb (the live window's tests run on a private virtual display) and
# ffmpeg (stylize video reads and writes video files with it), with apt.
deps:
	@mkdir -p -m 700 $(XDG_RUNTIME_DIR)
	@command -v $(GO) >/dev/null || { echo "Go is not installed: see https://go.dev/doc/install"; exit 1; }
	@need=""; \
	command -v gcc >/dev/null || need="$$need gcc libc6-dev"; \
	ldconfig -p | grep -q 'libvulkan.so.1 ' || need="$$need libvulkan1"; \
	ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json 2>/dev/null | grep -q . || need="$$need mesa-vulkan-drivers"; \
	for h in X11/Xlib.h:libx11-dev X11/Xcursor/Xcursor.h:libxcursor-dev X11/extensions/Xrandr.h:libxrandr-dev \
	  X11/extensions/Xinerama.h:libxinerama-dev X11/extensions/XInput2.h:libxi-dev \
	  X11/extensions/xf86vmode.h:libxxf86vm-dev GL/gl.h:libgl1-mesa-dev; do \
	  [ -f /usr/include/$${h%%:*} ] || need="$$need $${h#*:}"; \
	done; \
	command -v Xvfb >/dev/null || need="$$need xvfb"; \
	command -v ffmpeg >/dev/null || need="$$need ffmpeg"; \
	if [ -n "$$need" ]; then \
	  echo "installing:$$need"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$need >/dev/null; \
	fi

build: deps
	$(GO) build -o bin/stylize ./cmd/stylize
	$(GO) build -o bin/stylize-live ./cmd/stylize-live

# live opens the realtime window on the bundled samples (needs a display).
LIVE_FLAGS ?= -size 256
live: build
	@w="$(WEIGHTS)"; [ -n "$$w" ] || w=$$(./bin/stylize weights fetch vgg19-keras) || exit 1; \
	./bin/stylize-live -content samples/chelsea.png -style samples/hubble_deep_field.jpg \
	  -weights "$$w" -out out/live.png $(LIVE_FLAGS)

fmt-check:
	@f=$$(gofmt -l .); if [ -n "$$f" ]; then echo "gofmt would change: $$f"; exit 1; fi

vet:
	$(GO) vet ./...

# The live window's tests measure frame rates, so they run after the rest,
# alone, instead of beside the GPU-heavy packages on the same cores.
test: deps fmt-check vet cross
	$(GO) test -count=1 -timeout 45m $$($(GO) list ./... | grep -v '/cmd/stylize-live$$')
	$(GO) test -count=1 -timeout 20m ./cmd/stylize-live

# cross builds both commands for Windows (amd64, cgo through MinGW-w64,
# installed with apt where missing) into bin/windows, so that the Windows
# build stays green; make test runs it.
MINGW_CC ?= x86_64-w64-mingw32-gcc
cross: deps
	@command -v $(MINGW_CC) >/dev/null || { echo "installing: gcc-mingw-w64-x86-64"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq gcc-mingw-w64-x86-64 >/dev/null; }
	GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC=$(MINGW_CC) $(GO) build -o bin/windows/stylize.exe ./cmd/stylize
	GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC=$(MINGW_CC) $(GO) build -o bin/windows/stylize-live.exe ./cmd/stylize-live

# bench prints the adapter and conv3x3 ms and GFLOP/s at VGG19's shapes.
# On a software GPU use BENCH_FLAGS=-quick.
BENCH_FLAGS ?=
bench: build
	./bin/stylize bench $(BENCH_FLAGS)

# bench-cpu times one seed iteration at 128² and 256² with stylize on this
# machine's software GPU (lavapipe) and with Debian's PyTorch on the same
# CPU, all cores each, in alternating rounds (bench/cpu_side_by_side.py),
# and prints stylize's time over PyTorch's per size. It installs
# python3-torch with apt where it is missing. The report goes to out/.
PYTHON ?= /usr/bin/python3
BENCH_CPU_SIZES ?= 128,256
bench-cpu: build
	@$(PYTHON) -c 'import torch' 2>/dev/null || { echo "installing: python3-torch"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-torch >/dev/null; }
	$(PYTHON) bench/cpu_side_by_side.py --python $(PYTHON) --sizes $(BENCH_CPU_SIZES) --rounds 3

# bench-live measures the window's frame rate and its cost in iterations
# on a private Xvfb (BenchmarkPacing*): timings, so a benchmark, not a test.
bench-live: deps
	$(GO) test ./cmd/stylize-live -run '^$$' -bench Pacing -benchtime 2x

bench-go: deps
	$(GO) test ./ops -run '^$$' -bench Conv3x3 -benchtime 3x

devices: build
	./bin/stylize devices

# demo stylises the bundled cat with the Hubble deep field. Its weights are
# WEIGHTS, a VGG19 file already on disk, or else Keras's VGG19 (the original
# Caffe weights, about 80 MB), fetched once into the user's cache directory.
# Without a network it says where to put the file by hand. DEMO_FLAGS
# defaults to a size that finishes in minutes: 384 px and 300 iterations on
# a hardware GPU, 192 px and 150 iterations on a software one (lavapipe,
# about 1 s an iteration on 2 cores).
WEIGHTS ?=
DEMO_FLAGS ?=
demo: build
	@mkdir -p out
	@w="$(WEIGHTS)"; \
	if [ -z "$$w" ]; then \
	  w=$$(./bin/stylize weights fetch vgg19-keras) || { \
	    echo "Or run the demo with weights you have: make demo WEIGHTS=FILE (any VGG19 .h5, .pth or .safetensors)," >&2; \
	    echo "or point STYLIZE_WEIGHTS_BASEURL at a mirror of the file." >&2; exit 1; }; \
	fi; \
	flags="$(DEMO_FLAGS)"; \
	if [ -z "$$flags" ]; then \
	  if ./bin/stylize devices 2>/dev/null | grep -q 'CPU, driver'; then \
	    flags="-size 192 -iters 150"; echo "a software GPU: the demo runs at $$flags (set DEMO_FLAGS to change it)"; \
	  else flags="-size 384 -iters 300"; fi; \
	fi; \
	./bin/stylize run -content samples/chelsea.png -style samples/hubble_deep_field.jpg \
	  -weights "$$w" -out out/demo.png $$flags && \
	echo "result: $$(pwd)/out/demo.png"

# fuzz runs each fuzz target of the parsers for FUZZTIME. Go minimises a
# large seed input for up to a minute by default, which left the Keras and
# .pth targets 15 and 8 inputs in 60 s; -fuzzminimizetime 3s lets them run
# tens of thousands.
FUZZTIME ?= 60s
fuzz:
	@set -e; for t in weights:FuzzReadKerasH5 weights:FuzzParsePth weights:FuzzParseSafetensors imageio:FuzzExifOrientation; do \
	  echo "fuzz $${t#*:} ($(FUZZTIME))"; \
	  $(GO) test ./$${t%%:*} -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 3s; \
	done

clean:
	rm -rf bin out
