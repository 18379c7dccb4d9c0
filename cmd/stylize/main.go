// Command stylize is neural style transfer (Gatys et al.) that runs its
// whole optimisation as WGSL compute shaders through WebGPU.
//
// Usage:
//
//	stylize devices            list the GPUs WebGPU can use
//	stylize bench [flags]      time the VGG19 conv3x3 passes on a GPU
//	stylize tune [flags]       measure the fastest kernel plans on this GPU
//	stylize weights CMD        fetch, inspect, convert and list VGG19 weights
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/stylize/stylize/gpu"
)

const usage = `stylize: neural style transfer on any Vulkan, Metal or D3D12 GPU.

Usage:
  stylize devices [-backend B]       list the GPUs WebGPU can use
  stylize bench [flags]              time conv3x3 forward/backward at VGG19 shapes
  stylize run -content IMG -style IMG [flags]
                                     style transfer (see stylize run -h)
  stylize video -in FRAMES -style IMG -out DIR [flags]
                                     temporally consistent style transfer of a clip
  stylize tune [-sizes 512]          measure the fastest kernel plans on this GPU
                                     (cached; run, bench and stylize-live use them)
  stylize weights fetch|info|convert|list
                                     download, inspect and convert VGG19 weights

Run 'stylize <command> -h' for a command's flags.
Environment: STYLIZE_DEVICE picks the adapter (index or name substring),
STYLIZE_BACKEND the backend (vulkan, metal, dx12, gl); STYLIZE_CACHE the
directory downloaded weights and measured kernel plans are kept in.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "devices":
		err = devices(os.Args[2:])
	case "bench":
		err = benchCommand(os.Args[2:])
	case "run":
		err = runCommand(os.Args[2:])
	case "video":
		err = videoCommand(os.Args[2:])
	case "weights":
		err = weightsCommand(os.Args[2:])
	case "tune":
		err = tuneCommand(os.Args[2:])
	case "-h", "-help", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "stylize: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "stylize:", err)
		os.Exit(1)
	}
}

func devices(args []string) error {
	fs := flag.NewFlagSet("devices", flag.ContinueOnError)
	backend := fs.String("backend", "", "only this backend: vulkan, metal, dx12, gl")
	if err := fs.Parse(args); err != nil {
		return err
	}
	infos, err := gpu.Adapters(*backend)
	if err != nil {
		return err
	}
	if len(infos) == 0 {
		return errors.New(gpu.NoAdapterHint())
	}
	for _, a := range infos {
		fmt.Println(a)
		fmt.Printf("    max storage binding %d MiB, max buffer %d MiB, workgroup storage %d KiB, %d invocations/workgroup\n",
			a.Limits.MaxStorageBufferBindingSize>>20, a.Limits.MaxBufferSize>>20,
			a.Limits.MaxComputeWorkgroupStorageSize>>10, a.Limits.MaxComputeInvocationsPerWorkgroup)
		fmt.Printf("    features: %v\n", a.Features)
	}
	return nil
}
