package gpu

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// Access is how a kernel binds one buffer.
type Access int

const (
	// In is a read-only storage buffer (var<storage, read>).
	In Access = iota
	// Out is a read-write storage buffer (var<storage, read_write>).
	Out
	// Uniform is a params block (var<uniform>); a kernel's uniforms come
	// after all its storage bindings.
	Uniform
)

func (a Access) String() string {
	switch a {
	case In:
		return "storage,read"
	case Out:
		return "storage,read_write"
	case Uniform:
		return "uniform"
	}
	return "?"
}

// Kernel is a compiled compute pipeline with an explicit bind group layout:
// bindings 0..n-1 of @group(0) in the fixed order inputs, outputs, then
// the params uniforms.
type Kernel struct {
	Name     string
	Bindings []Access

	pipeline *wgpu.ComputePipeline
	layout   *wgpu.BindGroupLayout
	playout  *wgpu.PipelineLayout
	module   *wgpu.ShaderModule
}

// KernelSpec describes a kernel to compile.
type KernelSpec struct {
	Name     string   // for errors and debugging, e.g. "conv3x3.forward"
	Source   string   // complete WGSL text, constants already substituted
	Entry    string   // entry point
	Bindings []Access // one per @binding in order
}

// kernelEntry is the kernel cache's entry for one spec: done is closed
// once k or err is set (under Device.mu), so that goroutines asking for a
// kernel being compiled wait for that compilation instead of starting
// their own.
type kernelEntry struct {
	done chan struct{}
	k    *Kernel
	err  error
}

// Kernel compiles spec, or returns the pipeline compiled before for the same
// source text and entry point. Goroutines asking at once for the same new
// spec share one compilation. A failed compilation is not cached.
func (d *Device) Kernel(spec KernelSpec) (*Kernel, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	if spec.Entry == "" {
		return nil, fmt.Errorf("gpu: pipeline %q: no entry point", spec.Name)
	}
	var storage, uniform uint64
	for i, a := range spec.Bindings {
		switch a {
		case In, Out:
			storage++
		case Uniform:
			uniform++
		default:
			return nil, fmt.Errorf("gpu: pipeline %q: binding %d has unknown access %d", spec.Name, i, int(a))
		}
		if a != Uniform && i > 0 && spec.Bindings[i-1] == Uniform {
			return nil, fmt.Errorf("gpu: pipeline %q: binding %d (%s) follows a uniform; the uniform params must come last, after every storage binding", spec.Name, i, a)
		}
	}
	// Checked here rather than left to wgpu, whose refusal names neither
	// the pipeline nor the limit.
	for _, c := range []struct {
		what        string
		need, limit uint64
	}{
		{"storage buffers per shader stage", storage, uint64(d.limits.MaxStorageBuffersPerShaderStage)},
		{"uniform buffers per shader stage", uniform, uint64(d.limits.MaxUniformBuffersPerShaderStage)},
		{"bindings per bind group", storage + uniform, uint64(d.limits.MaxBindingsPerBindGroup)},
	} {
		if c.need > c.limit {
			return nil, &LimitError{What: fmt.Sprintf("pipeline %q: %s", spec.Name, c.what), Need: c.need, Limit: c.limit}
		}
	}
	h := sha256.New()
	h.Write([]byte(spec.Source))
	h.Write([]byte{0})
	h.Write([]byte(spec.Entry))
	for _, a := range spec.Bindings {
		h.Write([]byte{byte(a)})
	}
	key := hex.EncodeToString(h.Sum(nil))
	d.mu.Lock()
	if d.kernels == nil {
		d.mu.Unlock()
		return nil, ErrClosed
	}
	if ent, ok := d.kernels[key]; ok {
		d.mu.Unlock()
		<-ent.done
		return ent.k, ent.err
	}
	ent := &kernelEntry{done: make(chan struct{})}
	d.kernels[key] = ent
	d.mu.Unlock()

	k, err := d.compile(spec)
	d.mu.Lock()
	switch {
	case err != nil:
		if d.kernels != nil && d.kernels[key] == ent {
			delete(d.kernels, key) // not cached: a later request tries again
		}
	case d.kernels == nil: // closed while compiling
		k.release()
		k, err = nil, ErrClosed
	}
	ent.k, ent.err = k, err
	d.mu.Unlock()
	close(ent.done)
	return k, err
}

func (d *Device) compile(spec KernelSpec) (*Kernel, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer d.leave()
	d.compiles.Add(1)
	mod, err := d.dev.CreateShaderModule(&wgpu.ShaderModuleDescriptor{
		Label:          spec.Name,
		WGSLDescriptor: &wgpu.ShaderModuleWGSLDescriptor{Code: spec.Source},
	})
	if err != nil {
		return nil, fmt.Errorf("gpu: pipeline %q: compile WGSL: %w", spec.Name, err)
	}
	entries := make([]wgpu.BindGroupLayoutEntry, len(spec.Bindings))
	for i, a := range spec.Bindings {
		t := wgpu.BufferBindingType_ReadOnlyStorage
		switch a {
		case Out:
			t = wgpu.BufferBindingType_Storage
		case Uniform:
			t = wgpu.BufferBindingType_Uniform
		}
		entries[i] = wgpu.BindGroupLayoutEntry{Binding: uint32(i), Visibility: wgpu.ShaderStage_Compute, Buffer: wgpu.BufferBindingLayout{Type: t}}
	}
	bgl, err := d.dev.CreateBindGroupLayout(&wgpu.BindGroupLayoutDescriptor{Label: spec.Name, Entries: entries})
	if err != nil {
		mod.Release()
		return nil, fmt.Errorf("gpu: pipeline %q: bind group layout: %w", spec.Name, err)
	}
	pl, err := d.dev.CreatePipelineLayout(&wgpu.PipelineLayoutDescriptor{Label: spec.Name, BindGroupLayouts: []*wgpu.BindGroupLayout{bgl}})
	if err != nil {
		bgl.Release()
		mod.Release()
		return nil, fmt.Errorf("gpu: pipeline %q: pipeline layout: %w", spec.Name, err)
	}
	p, err := d.dev.CreateComputePipeline(&wgpu.ComputePipelineDescriptor{
		Label:   spec.Name,
		Layout:  pl,
		Compute: wgpu.ProgrammableStageDescriptor{Module: mod, EntryPoint: spec.Entry},
	})
	if err != nil {
		pl.Release()
		bgl.Release()
		mod.Release()
		return nil, fmt.Errorf("gpu: pipeline %q: %w", spec.Name, err)
	}
	return &Kernel{Name: spec.Name, Bindings: append([]Access(nil), spec.Bindings...), pipeline: p, layout: bgl, playout: pl, module: mod}, nil
}

func (k *Kernel) release() {
	k.pipeline.Release()
	k.playout.Release()
	k.layout.Release()
	k.module.Release()
}

// Binding is a kernel with its buffers bound: made once, dispatched many times.
type Binding struct {
	Kernel *Kernel
	bg     *wgpu.BindGroup
	bufs   []*Buffer
}

// Bind creates the bind group for k over bufs, checking their number and kind.
func (d *Device) Bind(k *Kernel, bufs ...*Buffer) (*Binding, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	if k == nil {
		return nil, fmt.Errorf("gpu: bind: nil kernel")
	}
	if len(bufs) != len(k.Bindings) {
		return nil, fmt.Errorf("gpu: pipeline %q: %d buffers given, it binds %d (%s)", k.Name, len(bufs), len(k.Bindings), accessList(k.Bindings))
	}
	entries := make([]wgpu.BindGroupEntry, len(bufs))
	for i, b := range bufs {
		if b == nil || b.buf == nil {
			return nil, fmt.Errorf("gpu: pipeline %q: binding %d: nil or released buffer", k.Name, i)
		}
		if b.d != d {
			return nil, fmt.Errorf("gpu: pipeline %q: binding %d: buffer %s belongs to another device", k.Name, i, b.Name)
		}
		if (k.Bindings[i] == Uniform) != (b.DType == Params) {
			return nil, fmt.Errorf("gpu: pipeline %q: binding %d wants %s, got %s", k.Name, i, k.Bindings[i], b)
		}
		entries[i] = wgpu.BindGroupEntry{Binding: uint32(i), Buffer: b.buf, Size: b.bytes}
	}
	for i := range bufs {
		for j := i + 1; j < len(bufs); j++ {
			if bufs[i] == bufs[j] && (k.Bindings[i] == Out || k.Bindings[j] == Out) {
				return nil, fmt.Errorf("gpu: pipeline %q: buffer %s bound twice (bindings %d and %d) with one of them writable", k.Name, bufs[i].Name, i, j)
			}
		}
	}
	if err := d.enter(); err != nil {
		return nil, err
	}
	bg, err := d.dev.CreateBindGroup(&wgpu.BindGroupDescriptor{Label: k.Name, Layout: k.layout, Entries: entries})
	d.leave()
	if err != nil {
		return nil, fmt.Errorf("gpu: pipeline %q: bind group: %w", k.Name, err)
	}
	return &Binding{Kernel: k, bg: bg, bufs: append([]*Buffer(nil), bufs...)}, nil
}

// Release frees the bind group.
func (b *Binding) Release() {
	if b != nil && b.bg != nil {
		b.bg.Release()
		b.bg = nil
	}
}

func accessList(a []Access) string {
	s := make([]string, len(a))
	for i, v := range a {
		s[i] = v.String()
	}
	return strings.Join(s, ", ")
}
