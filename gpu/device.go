// Package gpu owns the WebGPU device, its buffers, compute pipelines,
// command encoders, readback and GPU timing. It knows nothing of neural
// networks: the ops package records its dispatches through it.
//
// # Which call reports a wgpu error
//
// wgpu-native 0.17 validates each call when it is made and reports the
// error through the innermost error scope, whose pop answers before
// returning. go-webgpu wraps each creation and recording call in a
// validation scope and returns its error; this package adds scopes around
// each queue submission (Encoder.Submit: finishing the command buffer,
// submitting it, asking for the readbacks' mappings) and each queue write,
// so an error they cause is returned by that call, naming the encoder's
// label or the buffer written. Every such call holds the device's call
// lock, so that no other goroutine's scope can catch its error.
//
// What cannot be attributed: an error raised outside these calls (by code
// that uses Raw or Queue directly, or by a buffer's Destroy) reaches the
// uncaptured-error callback; it is returned, once, by the next Poll or
// Marker.Wait, tagged with the last submission made before it, and never
// by an unrelated call. A failure found when work runs rather than when
// it is submitted (a lost device, a failed mapping) comes back through the
// callbacks' statuses: ErrDeviceLost from every later call, an error from
// Marker.Wait or the Readback. wgpu-native 0.17 aborts the process on an
// invalid submission (one that uses a destroyed buffer, for instance);
// Submit refuses those before they reach it.
package gpu

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// Options chooses the adapter that Open uses. The zero value picks the
// highest-performance adapter, falling back to a software one.
type Options struct {
	// Adapter selects by index into Adapters() ("0", "1", ...) or by a
	// case-insensitive substring of the adapter's name ("nvidia", "llvmpipe").
	// Empty means the environment variable STYLIZE_DEVICE, else automatic.
	Adapter string
	// Backend restricts the search to one backend: vulkan, metal, dx12, gl.
	// Empty means STYLIZE_BACKEND, else all primary backends.
	Backend string
	// Software forces a CPU (software) adapter such as Mesa's lavapipe.
	Software bool
	// MaxMemory is the GPU memory a run may plan to hold at its peak, in
	// bytes: 0 means DefaultBudget's, NoBudget none.
	MaxMemory uint64
}

// AdapterInfo describes one adapter that WebGPU can use.
type AdapterInfo struct {
	Index    int
	Name     string
	Driver   string
	Vendor   uint32
	Backend  string
	Type     string
	Software bool
	Limits   wgpu.Limits
	Features []string
}

// String renders the adapter on one line.
func (a AdapterInfo) String() string {
	drv := a.Driver
	if drv == "" {
		drv = "?"
	}
	return fmt.Sprintf("[%d] %s (%s, %s, driver %s)", a.Index, a.Name, a.Backend, a.Type, drv)
}

// Device is an open WebGPU device with the adapter's own limits.
type Device struct {
	Info AdapterInfo

	instance *wgpu.Instance
	adapter  *wgpu.Adapter
	dev      *wgpu.Device
	queue    *wgpu.Queue
	limits   wgpu.Limits

	timestamps bool
	budget     uint64  // Options.MaxMemory, resolved; NoBudget for none
	lostID     uintptr // the device-lost callback's userdata
	lost       atomic.Bool
	lostMsg    atomic.Value
	closing    atomic.Bool // Close has begun
	closed     atomic.Bool // the native device is released, or being released

	// call serialises the calls into wgpu that use the device or its queue
	// with Close, so that none runs on a released device, and with each
	// other, so that an error scope catches only its own call's errors.
	// It is taken before mu, never while holding mu.
	call sync.Mutex

	compiles     atomic.Int64 // pipelines compiled, for tests of the kernel cache
	openEncoders atomic.Int64 // encoders neither submitted nor discarded

	mu         sync.Mutex
	kernels    map[string]*kernelEntry // nil once closed
	counters   Counters
	memBytes   int64
	uncaptured error  // the first error no error scope caught, for Poll or Marker.Wait
	lastSubmit string // the label of the last submission, to tag uncaptured errors
	memPeak    int64
}

// Counters tallies the traffic between the CPU and the GPU so that tests can
// check that an iteration does not read back or submit more than it should.
type Counters struct {
	Submits   int64 // queue submissions
	Readbacks int64 // buffer maps for reading
	Uploads   int64 // queue writes
	Dispatch  int64 // compute dispatches recorded
}

func backendFlag(name string) (wgpu.InstanceBackend, error) {
	switch strings.ToLower(name) {
	case "":
		return wgpu.InstanceBackend_Primary, nil
	case "vulkan", "vk":
		return wgpu.InstanceBackend_Vulkan, nil
	case "metal":
		return wgpu.InstanceBackend_Metal, nil
	case "dx12", "d3d12":
		return wgpu.InstanceBackend_DX12, nil
	case "gl", "opengl", "gles":
		return wgpu.InstanceBackend_GL, nil
	}
	return 0, fmt.Errorf("gpu: unknown backend %q (want vulkan, metal, dx12 or gl)", name)
}

func featureNames(fs []wgpu.FeatureName) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, strings.TrimPrefix(strings.TrimPrefix(f.String(), "FeatureName_"), "NativeFeature_"))
	}
	sort.Strings(out)
	return out
}

func describe(i int, a *wgpu.Adapter) AdapterInfo {
	p := a.GetProperties()
	info := AdapterInfo{
		Index:    i,
		Name:     p.Name,
		Driver:   p.DriverDescription,
		Vendor:   p.VendorId,
		Backend:  strings.TrimPrefix(p.BackendType.String(), "BackendType_"),
		Type:     strings.TrimPrefix(p.AdapterType.String(), "AdapterType_"),
		Software: p.AdapterType == wgpu.AdapterType_CPU,
		Limits:   a.GetLimits().Limits,
		Features: featureNames(a.EnumerateFeatures()),
	}
	return info
}

func typeRank(a AdapterInfo) int {
	switch a.Type {
	case "DiscreteGPU":
		return 0
	case "IntegratedGPU":
		return 1
	case "CPU":
		return 3
	}
	return 2
}

// Adapters lists every adapter WebGPU finds on the given backend ("" for all).
func Adapters(backend string) ([]AdapterInfo, error) {
	inst, adapters, err := enumerate(backend)
	if err != nil {
		return nil, err
	}
	defer inst.Release()
	out := make([]AdapterInfo, len(adapters))
	for i, a := range adapters {
		out[i] = describe(i, a)
		a.Release()
	}
	return out, nil
}

func enumerate(backend string) (*wgpu.Instance, []*wgpu.Adapter, error) {
	flags, err := backendFlag(backend)
	if err != nil {
		return nil, nil, err
	}
	ensureRuntimeDir()
	inst := wgpu.CreateInstance(&wgpu.InstanceDescriptor{Backends: flags})
	if inst == nil {
		return nil, nil, errors.New("gpu: could not create a WebGPU instance")
	}
	return inst, inst.EnumerateAdapters(&wgpu.InstanceEnumerateAdapterOptons{Backends: flags}), nil
}

// choose returns the index of the adapter that opts selects.
func choose(infos []AdapterInfo, opts Options) (int, error) {
	if len(infos) == 0 {
		return -1, fmt.Errorf("%w: %s", ErrNoAdapter, NoAdapterHint())
	}
	if opts.Adapter != "" {
		if n, err := strconv.Atoi(opts.Adapter); err == nil {
			if n < 0 || n >= len(infos) {
				return -1, fmt.Errorf("%w: adapter index %d out of range (found %d adapters: %s)", ErrNoAdapter, n, len(infos), names(infos))
			}
			return n, nil
		}
		want := strings.ToLower(opts.Adapter)
		for i, a := range infos {
			if strings.Contains(strings.ToLower(a.Name), want) || strings.Contains(strings.ToLower(a.Driver), want) {
				return i, nil
			}
		}
		return -1, fmt.Errorf("%w: no adapter name contains %q (found: %s)", ErrNoAdapter, opts.Adapter, names(infos))
	}
	best := -1
	for i, a := range infos {
		if opts.Software && !a.Software {
			continue
		}
		if best < 0 || typeRank(a) < typeRank(infos[best]) {
			best = i
		}
	}
	if best < 0 {
		return -1, fmt.Errorf("%w: no software adapter (found: %s); %s", ErrNoAdapter, names(infos), NoAdapterHint())
	}
	return best, nil
}

func names(infos []AdapterInfo) string {
	var s []string
	for _, a := range infos {
		s = append(s, a.String())
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, "; ")
}

// Open creates a device on the adapter that opts selects, asking for the
// adapter's own limits (not WebGPU's defaults) and for timestamp queries
// where the adapter offers them.
func Open(opts Options) (*Device, error) {
	if err := layoutError(); err != nil {
		return nil, err
	}
	if opts.Adapter == "" {
		opts.Adapter = os.Getenv("STYLIZE_DEVICE")
	}
	if opts.Backend == "" {
		opts.Backend = os.Getenv("STYLIZE_BACKEND")
	}
	inst, adapters, err := enumerate(opts.Backend)
	if err != nil {
		return nil, err
	}
	infos := make([]AdapterInfo, len(adapters))
	for i, a := range adapters {
		infos[i] = describe(i, a)
	}
	idx, err := choose(infos, opts)
	if err != nil {
		for _, a := range adapters {
			a.Release()
		}
		inst.Release()
		return nil, err
	}
	for i, a := range adapters {
		if i != idx {
			a.Release()
		}
	}
	adapter := adapters[idx]
	d := &Device{Info: infos[idx], instance: inst, adapter: adapter, kernels: map[string]*kernelEntry{}}

	var feats []wgpu.FeatureName
	if adapter.HasFeature(wgpu.FeatureName_TimestampQuery) {
		feats = append(feats, wgpu.FeatureName_TimestampQuery)
		d.timestamps = true
	}
	limits := adapter.GetLimits().Limits
	dev, err := d.requestDevice(adapter, "stylize", feats, limits)
	if err != nil {
		adapter.Release()
		inst.Release()
		return nil, fmt.Errorf("gpu: request device on %s: %w", d.Info.Name, err)
	}
	d.dev = dev
	if err := d.installErrorHandler(); err != nil {
		lostDevices.Delete(d.lostID)
		dev.Release()
		adapter.Release()
		inst.Release()
		return nil, err
	}
	d.queue = dev.GetQueue()
	d.limits = dev.GetLimits().Limits
	d.budget = opts.MaxMemory
	if d.budget == 0 {
		d.budget = DefaultBudget(d.Info)
	}
	return d, nil
}

// OpenEncoders returns the number of encoders made by NewEncoder and
// neither submitted nor discarded yet: an error path that forgets to
// discard its encoder shows here.
func (d *Device) OpenEncoders() int { return int(d.openEncoders.Load()) }

// Limits returns the limits the device was created with.
func (d *Device) Limits() wgpu.Limits { return d.limits }

// HasTimestamps reports whether GPU timestamp queries are available.
func (d *Device) HasTimestamps() bool { return d.timestamps }

// Raw exposes the underlying wgpu device for code that draws (the live window).
func (d *Device) Raw() *wgpu.Device { return d.dev }

// Queue exposes the underlying wgpu queue.
func (d *Device) Queue() *wgpu.Queue { return d.queue }

// Counters returns a snapshot of the CPU-GPU traffic counters.
func (d *Device) Counters() Counters {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.counters
}

// MemoryBytes returns the bytes that live GPU buffers hold now and at
// their peak: storage and params buffers, readback staging buffers and
// timers' buffers, from creation until Release.
func (d *Device) MemoryBytes() (now, peak int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.memBytes, d.memPeak
}

// ResetPeak sets the peak that MemoryBytes reports to the bytes held now,
// so that the peak of one phase can be measured on its own.
func (d *Device) ResetPeak() {
	d.mu.Lock()
	d.memPeak = d.memBytes
	d.mu.Unlock()
}

// addMem counts n more bytes of GPU buffers (n < 0 for a release).
func (d *Device) addMem(n int64) {
	d.mu.Lock()
	d.memBytes += n
	if d.memBytes > d.memPeak {
		d.memPeak = d.memBytes
	}
	d.mu.Unlock()
}

// markLost makes every later call fail with ErrDeviceLost, citing msg.
func (d *Device) markLost(msg string) {
	d.lostMsg.CompareAndSwap(nil, msg)
	d.lost.Store(true)
}

// check returns an error if the device can no longer be used.
func (d *Device) check() error {
	if d == nil || d.closed.Load() {
		return ErrClosed
	}
	if d.lost.Load() {
		msg, _ := d.lostMsg.Load().(string)
		return fmt.Errorf("%w (%s): the GPU was reset or ran out of memory; restart with a smaller -size", ErrDeviceLost, msg)
	}
	return nil
}

// takeUncaptured returns, once, the first error that no error scope
// caught since the last time.
func (d *Device) takeUncaptured() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	err := d.uncaptured
	d.uncaptured = nil
	return err
}

// enter takes the call lock for a call into wgpu that uses the device or
// its queue. It fails, without the lock, if the device is closed or lost;
// otherwise the caller must call leave.
func (d *Device) enter() error {
	if err := d.check(); err != nil {
		return err
	}
	d.call.Lock()
	if d.closed.Load() {
		d.call.Unlock()
		return ErrClosed
	}
	return nil
}

// leave releases the call lock taken by enter.
func (d *Device) leave() { d.call.Unlock() }

// pollOnce polls the device without blocking, running the callbacks of
// the work that has finished, and reports whether the queue is empty.
func (d *Device) pollOnce() (bool, error) {
	if err := d.enter(); err != nil {
		return false, err
	}
	empty := d.dev.Poll(false, nil)
	d.leave()
	return empty, nil
}

// spin polls the device without blocking until cond holds. wgpu 0.17's
// blocking poll gives up after 5 s and then treats the awaited work as
// finished — firing buffer-map callbacks over unwritten data and freeing
// resources the GPU is still using — so a slow GPU (a software one, a
// large image) must never be waited on that way.
func (d *Device) spin(cond func() bool) error {
	pause := 20 * time.Microsecond
	for {
		if _, err := d.pollOnce(); err != nil {
			return err
		}
		if cond() {
			return d.check()
		}
		time.Sleep(pause)
		if pause < 2*time.Millisecond {
			pause *= 2
		}
	}
}

// Poll waits until all submitted work has finished. It also returns, once,
// an error that wgpu raised outside any call (see onUncaptured).
func (d *Device) Poll() error {
	pause := 20 * time.Microsecond
	for {
		empty, err := d.pollOnce()
		if err != nil {
			return err
		}
		if empty {
			if err := d.check(); err != nil {
				return err
			}
			return d.takeUncaptured()
		}
		time.Sleep(pause)
		if pause < 2*time.Millisecond {
			pause *= 2
		}
	}
}

// Marker notes the work submitted so far; Wait blocks until it has finished.
type Marker struct {
	d    *Device
	done atomic.Bool
	err  error // why the marked work did not finish; written before done
}

// Mark returns a marker for everything submitted until now. Loops call it
// before submitting iteration k and wait on it after: iteration k-1 has
// then finished while k is queued, so the CPU records ahead but a slow GPU
// is never buried under queued work.
func (d *Device) Mark() *Marker {
	m := &Marker{d: d}
	if err := d.enter(); err != nil {
		m.finish(err)
		return m
	}
	err := onWorkDone(d.queue, m.finish)
	d.leave()
	if err != nil {
		m.finish(err)
	}
	return m
}

// finish records the outcome of the marked work; a lost device makes
// every later call fail too.
func (m *Marker) finish(err error) {
	if errors.Is(err, ErrDeviceLost) {
		m.d.markLost(err.Error())
	}
	m.err = err
	m.done.Store(true)
}

// Wait blocks, polling, until the marked work has finished, and returns
// an error if it did not finish successfully. Like Poll, it also returns,
// once, an error that wgpu raised outside any call.
func (m *Marker) Wait() error {
	err := m.d.spin(m.done.Load)
	if m.done.Load() && m.err != nil {
		return fmt.Errorf("gpu: wait for marked work: %w", m.err)
	}
	if err != nil {
		return err
	}
	return m.d.takeUncaptured()
}

// Close waits for the submitted work, then releases the device and
// everything cached on it. It is safe to call more than once and while
// other goroutines use the device: their calls either finish before the
// device is released or fail with ErrClosed.
func (d *Device) Close() {
	if d == nil || !d.closing.CompareAndSwap(false, true) {
		return
	}
	d.call.Lock()
	defer d.call.Unlock()
	// No call can submit work now: wait for what was submitted.
	for pause := 20 * time.Microsecond; !d.lost.Load() && !d.dev.Poll(false, nil); {
		time.Sleep(pause)
		if pause < 2*time.Millisecond {
			pause *= 2
		}
	}
	d.closed.Store(true)
	// A kernel still being compiled releases itself when it sees the
	// cache gone.
	d.mu.Lock()
	var kernels []*Kernel
	for _, ent := range d.kernels {
		if ent.k != nil {
			kernels = append(kernels, ent.k)
		}
	}
	d.kernels = nil
	d.mu.Unlock()
	for _, k := range kernels {
		k.release()
	}
	d.queue.Release()
	d.uninstallErrorHandler()
	d.dev.Release()
	d.adapter.Release()
	d.instance.Release()
}
