package gpu

/*
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wgpu_mirror.h"

// The wgpu-native entry points that go-webgpu does not wrap, or wraps in
// a way this package cannot use, declared here with opaque pointers and
// 32-bit integers for enums (ABI-identical to webgpu.h's declarations) so
// that this file needs no header from the module cache. The uncaptured-
// error callback comes first.
typedef void (*stylize_error_cb)(int type, char const *message, void *userdata);
void wgpuDeviceSetUncapturedErrorCallback(void *device, stylize_error_cb callback, void *userdata);

extern void stylizeUncapturedError(int type, char *message, void *userdata);

static void stylize_on_error(int type, char const *message, void *userdata) {
	stylizeUncapturedError(type, (char *)message, userdata);
}

static void stylize_set_error_callback(void *device) {
	wgpuDeviceSetUncapturedErrorCallback(device, stylize_on_error, device);
}

// Error scopes. filter is a WGPUErrorFilter: 0 Validation, 1 OutOfMemory
// (wgpu-native 0.17 aborts on any other). wgpu-native 0.17 runs the pop
// callback before wgpuDevicePopErrorScope returns; the answer is malloc'd
// so that a later answer would land in live (leaked) memory, not a dead
// stack frame.
void wgpuDevicePushErrorScope(void *device, uint32_t filter);
void wgpuDevicePopErrorScope(void *device, stylize_error_cb callback, void *userdata);

typedef struct {
	int answered;
	int type;
	char *message;
} stylize_popped;

static void stylize_on_pop(int type, char const *message, void *userdata) {
	stylize_popped *p = (stylize_popped *)userdata;
	p->type = type;
	p->message = message ? strdup(message) : NULL;
	p->answered = 1;
}

static void stylize_push_scopes(void *device) {
	wgpuDevicePushErrorScope(device, 1);
	wgpuDevicePushErrorScope(device, 0);
}

static stylize_popped *stylize_pop_scope(void *device) {
	stylize_popped *p = (stylize_popped *)calloc(1, sizeof *p);
	if (p != NULL) {
		wgpuDevicePopErrorScope(device, stylize_on_pop, p);
	}
	return p;
}

// Buffer mapping, with an integer id as userdata: go-webgpu's MapAsync
// hands wgpu the address of a Go variable that nothing keeps alive until
// the callback runs in a later poll, so a garbage collection in between
// made it read freed memory (stale results, then a segfault).
// mode 1 is WGPUMapMode_Read.
typedef void (*stylize_map_cb)(int status, void *userdata);
void wgpuBufferMapAsync(void *buffer, uint32_t mode, size_t offset, size_t size, stylize_map_cb callback, void *userdata);

extern void stylizeMapDone(int status, uintptr_t id);

static void stylize_on_map(int status, void *userdata) {
	stylizeMapDone(status, (uintptr_t)userdata);
}

static void stylize_map_read(void *buffer, size_t size, uintptr_t id) {
	wgpuBufferMapAsync(buffer, 1, 0, size, stylize_on_map, (void *)id);
}

// Completion of submitted work, with the same integer-id userdata. Its
// status is a WGPUQueueWorkDoneStatus, not a WGPUBufferMapAsyncStatus, so
// it has its own callback and decoder.
typedef void (*stylize_done_cb)(int status, void *userdata);
void wgpuQueueOnSubmittedWorkDone(void *queue, stylize_done_cb callback, void *userdata);

extern void stylizeWorkDone(int status, uintptr_t id);

static void stylize_on_done(int status, void *userdata) {
	stylizeWorkDone(status, (uintptr_t)userdata);
}

static void stylize_on_work_done(void *queue, uintptr_t id) {
	wgpuQueueOnSubmittedWorkDone(queue, stylize_on_done, (void *)id);
}

// Device creation with a device-lost callback. wgpu-native 0.17 has no
// wgpuDeviceSetDeviceLostCallback: the callback can only be given in the
// WGPUDeviceDescriptor, and without one a lost device panics inside
// wgpu-native (its default handler), which aborts the process. go-webgpu's
// DeviceDescriptor.DeviceLostCallback cannot be used: it stores a Go
// pointer in the descriptor, which the cgo pointer check refuses (a panic).
// The lost callback gets an integer id as userdata, as map requests do.
void wgpuAdapterRequestDevice(void *adapter, stylize_WGPUDeviceDescriptor const *descriptor, stylize_WGPURequestDeviceCallback callback, void *userdata);

extern void stylizeDeviceLost(uint32_t reason, char *message, uintptr_t id);

static void stylize_on_lost(uint32_t reason, char const *message, void *userdata) {
	stylizeDeviceLost(reason, (char *)message, (uintptr_t)userdata);
}

typedef struct {
	int answered;
	uint32_t status;
	void *device;
	char *message;
} stylize_requested;

static void stylize_on_device(uint32_t status, void *device, char const *message, void *userdata) {
	stylize_requested *r = (stylize_requested *)userdata;
	r->answered = 1;
	r->status = status;
	r->device = device;
	r->message = message ? strdup(message) : NULL;
}

// stylize_request_device returns a malloc'd answer for the caller to free
// once answered is set. wgpu-native 0.17 answers before returning; were it
// ever to answer later, the answer is leaked rather than written to freed
// memory.
static stylize_requested *stylize_request_device(void *adapter, stylize_WGPUDeviceDescriptor *desc, uintptr_t lost_id) {
	stylize_requested *r = (stylize_requested *)calloc(1, sizeof *r);
	if (r == NULL) {
		return NULL;
	}
	desc->deviceLostCallback = stylize_on_lost;
	desc->deviceLostUserdata = (void *)lost_id;
	wgpuAdapterRequestDevice(adapter, desc, stylize_on_device, r);
	return r;
}
*/
import "C"

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// registry maps a native device handle to its Device, for the callback.
var registry sync.Map

// waiters maps the id of a map or work-done request to the function its
// callback runs with the decoded status (nil for success). The id, not a
// pointer, is what wgpu-native holds as userdata, so nothing the garbage
// collector manages is referenced from C between the request and the
// callback.
var (
	waiters   sync.Map
	waiterSeq atomic.Uintptr
)

// addWaiter registers done and returns the id to hand wgpu as userdata.
func addWaiter(done func(error)) uintptr {
	id := waiterSeq.Add(1)
	waiters.Store(id, done)
	return id
}

// deliver runs and forgets the waiter registered under id.
func deliver(id uintptr, err error) {
	v, ok := waiters.LoadAndDelete(id)
	if !ok {
		return
	}
	v.(func(error))(err)
}

// mapStatusErr decodes a WGPUBufferMapAsyncStatus (webgpu.h of
// wgpu-native 0.17: Success 0, ValidationError 1, Unknown 2, DeviceLost 3,
// DestroyedBeforeCallback 4, UnmappedBeforeCallback 5,
// MappingAlreadyPending 6, OffsetOutOfRange 7, SizeOutOfRange 8): nil for
// success, an error wrapping ErrDeviceLost for a lost device.
func mapStatusErr(status uint32) error {
	s := wgpu.BufferMapAsyncStatus(status)
	switch s {
	case wgpu.BufferMapAsyncStatus_Success:
		return nil
	case wgpu.BufferMapAsyncStatus_DeviceLost:
		return fmt.Errorf("%w: buffer mapping failed with status DeviceLost", ErrDeviceLost)
	}
	return fmt.Errorf("gpu: buffer mapping failed with status %s", statusName(s.String(), status))
}

// workDoneErr decodes a WGPUQueueWorkDoneStatus (webgpu.h of wgpu-native
// 0.17: Success 0, Error 1, Unknown 2, DeviceLost 3): nil for success, an
// error wrapping ErrDeviceLost for a lost device.
func workDoneErr(status uint32) error {
	s := wgpu.QueueWorkDoneStatus(status)
	switch s {
	case wgpu.QueueWorkDoneStatus_Success:
		return nil
	case wgpu.QueueWorkDoneStatus_DeviceLost:
		return fmt.Errorf("%w: submitted work did not finish: status DeviceLost", ErrDeviceLost)
	}
	return fmt.Errorf("gpu: submitted work did not finish: status %s", statusName(s.String(), status))
}

func statusName(name string, v uint32) string {
	if name == "" {
		return fmt.Sprintf("%#x (not in webgpu.h)", v)
	}
	return name
}

// mapDoneCallback and workDoneCallback are what the cgo callbacks run.
func mapDoneCallback(status uint32, id uintptr)  { deliver(id, mapStatusErr(status)) }
func workDoneCallback(status uint32, id uintptr) { deliver(id, workDoneErr(status)) }

//export stylizeMapDone
func stylizeMapDone(status C.int, id C.uintptr_t) { mapDoneCallback(uint32(status), uintptr(id)) }

//export stylizeWorkDone
func stylizeWorkDone(status C.int, id C.uintptr_t) { workDoneCallback(uint32(status), uintptr(id)) }

// The native handles inside go-webgpu's wrappers are unexported, so the
// functions below read them through unsafe, relying on the struct layouts
// of go-webgpu v0.17.1 (goWebGPUVersion): Buffer and Queue are
// {deviceRef, ref}, Adapter and Device are {ref}. layoutError checks those
// layouts with reflect; Open refuses to run if they differ, and
// TestGoWebGPULayout fails. A nil handle (a released or zero wrapper) is
// refused here rather than handed to wgpu-native, which aborts on it.

// rawBuffer returns the native WGPUBuffer of b, or nil.
func rawBuffer(b *wgpu.Buffer) unsafe.Pointer {
	if b == nil {
		return nil
	}
	return (*[2]unsafe.Pointer)(unsafe.Pointer(b))[1] // go-webgpu v0.17.1 Buffer: {deviceRef, ref}
}

// rawQueue returns the native WGPUQueue of q, or nil.
func rawQueue(q *wgpu.Queue) unsafe.Pointer {
	if q == nil {
		return nil
	}
	return (*[2]unsafe.Pointer)(unsafe.Pointer(q))[1] // go-webgpu v0.17.1 Queue: {deviceRef, ref}
}

// rawAdapter returns the native WGPUAdapter of a, or nil.
func rawAdapter(a *wgpu.Adapter) unsafe.Pointer {
	if a == nil {
		return nil
	}
	return *(*unsafe.Pointer)(unsafe.Pointer(a)) // go-webgpu v0.17.1 Adapter: {ref}
}

// wrapDevice returns a go-webgpu Device around the native handle h.
func wrapDevice(h unsafe.Pointer) *wgpu.Device {
	dev := new(wgpu.Device)
	*(*unsafe.Pointer)(unsafe.Pointer(dev)) = h // go-webgpu v0.17.1 Device: {ref}
	return dev
}

// rawHandle returns the native WGPUDevice of d, or nil.
func rawHandle(d *wgpu.Device) unsafe.Pointer {
	if d == nil {
		return nil
	}
	return *(*unsafe.Pointer)(unsafe.Pointer(d)) // go-webgpu v0.17.1 Device: {ref}
}

// mapRead asks wgpu to map the first size bytes of b for reading; done
// runs, from a later device poll, with nil or the mapping's error.
func mapRead(b *wgpu.Buffer, size uint64, done func(error)) error {
	raw := rawBuffer(b)
	if raw == nil {
		return fmt.Errorf("gpu: map for reading: nil buffer handle")
	}
	C.stylize_map_read(raw, C.size_t(size), C.uintptr_t(addWaiter(done)))
	return nil
}

// onWorkDone runs done, from a later device poll, once all the work
// submitted to q so far has finished, with nil or the reason it did not.
func onWorkDone(q *wgpu.Queue, done func(error)) error {
	raw := rawQueue(q)
	if raw == nil {
		return fmt.Errorf("gpu: wait for submitted work: nil queue handle")
	}
	C.stylize_on_work_done(raw, C.uintptr_t(addWaiter(done)))
	return nil
}

// lostDevices maps the id given to wgpu as the device-lost callback's
// userdata to its Device.
var lostDevices sync.Map

// requestDevice creates a device on a with the given features and limits,
// as go-webgpu's Adapter.RequestDevice does, but with a device-lost
// callback that marks d lost. (Push constants' size, which go-webgpu
// passes in a chained struct, stays at wgpu's default: none.)
func (d *Device) requestDevice(a *wgpu.Adapter, label string, feats []wgpu.FeatureName, l wgpu.Limits) (*wgpu.Device, error) {
	ra := rawAdapter(a)
	if ra == nil {
		return nil, fmt.Errorf("gpu: request device: nil adapter handle")
	}
	desc := (*C.stylize_WGPUDeviceDescriptor)(C.calloc(1, C.sizeof_stylize_WGPUDeviceDescriptor))
	lim := (*C.stylize_WGPURequiredLimits)(C.calloc(1, C.sizeof_stylize_WGPURequiredLimits))
	if desc == nil || lim == nil {
		C.free(unsafe.Pointer(desc))
		C.free(unsafe.Pointer(lim))
		return nil, fmt.Errorf("gpu: request device: out of memory")
	}
	defer C.free(unsafe.Pointer(desc))
	defer C.free(unsafe.Pointer(lim))
	desc.label = C.CString(label)
	defer C.free(unsafe.Pointer(desc.label))
	if len(feats) > 0 {
		fs := (*C.uint32_t)(C.calloc(C.size_t(len(feats)), 4))
		if fs == nil {
			return nil, fmt.Errorf("gpu: request device: out of memory")
		}
		defer C.free(unsafe.Pointer(fs))
		for i, f := range feats {
			unsafe.Slice(fs, len(feats))[i] = C.uint32_t(f)
		}
		desc.requiredFeatures = fs
		desc.requiredFeaturesCount = C.size_t(len(feats))
	}
	lim.limits = C.stylize_WGPULimits{
		maxTextureDimension1D:                     C.uint32_t(l.MaxTextureDimension1D),
		maxTextureDimension2D:                     C.uint32_t(l.MaxTextureDimension2D),
		maxTextureDimension3D:                     C.uint32_t(l.MaxTextureDimension3D),
		maxTextureArrayLayers:                     C.uint32_t(l.MaxTextureArrayLayers),
		maxBindGroups:                             C.uint32_t(l.MaxBindGroups),
		maxBindingsPerBindGroup:                   C.uint32_t(l.MaxBindingsPerBindGroup),
		maxDynamicUniformBuffersPerPipelineLayout: C.uint32_t(l.MaxDynamicUniformBuffersPerPipelineLayout),
		maxDynamicStorageBuffersPerPipelineLayout: C.uint32_t(l.MaxDynamicStorageBuffersPerPipelineLayout),
		maxSampledTexturesPerShaderStage:          C.uint32_t(l.MaxSampledTexturesPerShaderStage),
		maxSamplersPerShaderStage:                 C.uint32_t(l.MaxSamplersPerShaderStage),
		maxStorageBuffersPerShaderStage:           C.uint32_t(l.MaxStorageBuffersPerShaderStage),
		maxStorageTexturesPerShaderStage:          C.uint32_t(l.MaxStorageTexturesPerShaderStage),
		maxUniformBuffersPerShaderStage:           C.uint32_t(l.MaxUniformBuffersPerShaderStage),
		maxUniformBufferBindingSize:               C.uint64_t(l.MaxUniformBufferBindingSize),
		maxStorageBufferBindingSize:               C.uint64_t(l.MaxStorageBufferBindingSize),
		minUniformBufferOffsetAlignment:           C.uint32_t(l.MinUniformBufferOffsetAlignment),
		minStorageBufferOffsetAlignment:           C.uint32_t(l.MinStorageBufferOffsetAlignment),
		maxVertexBuffers:                          C.uint32_t(l.MaxVertexBuffers),
		maxBufferSize:                             C.uint64_t(l.MaxBufferSize),
		maxVertexAttributes:                       C.uint32_t(l.MaxVertexAttributes),
		maxVertexBufferArrayStride:                C.uint32_t(l.MaxVertexBufferArrayStride),
		maxInterStageShaderComponents:             C.uint32_t(l.MaxInterStageShaderComponents),
		maxInterStageShaderVariables:              C.uint32_t(l.MaxInterStageShaderVariables),
		maxColorAttachments:                       C.uint32_t(l.MaxColorAttachments),
		maxColorAttachmentBytesPerSample:          C.uint32_t(l.MaxColorAttachmentBytesPerSample),
		maxComputeWorkgroupStorageSize:            C.uint32_t(l.MaxComputeWorkgroupStorageSize),
		maxComputeInvocationsPerWorkgroup:         C.uint32_t(l.MaxComputeInvocationsPerWorkgroup),
		maxComputeWorkgroupSizeX:                  C.uint32_t(l.MaxComputeWorkgroupSizeX),
		maxComputeWorkgroupSizeY:                  C.uint32_t(l.MaxComputeWorkgroupSizeY),
		maxComputeWorkgroupSizeZ:                  C.uint32_t(l.MaxComputeWorkgroupSizeZ),
		maxComputeWorkgroupsPerDimension:          C.uint32_t(l.MaxComputeWorkgroupsPerDimension),
	}
	desc.requiredLimits = lim

	d.lostID = waiterSeq.Add(1)
	lostDevices.Store(d.lostID, d)
	r := C.stylize_request_device(ra, desc, C.uintptr_t(d.lostID))
	if r == nil {
		lostDevices.Delete(d.lostID)
		return nil, fmt.Errorf("gpu: request device: out of memory")
	}
	if r.answered == 0 {
		lostDevices.Delete(d.lostID)
		return nil, fmt.Errorf("gpu: request device: wgpu-native did not answer before returning (go-webgpu %s's wgpu-native 0.17 does)", goWebGPUVersion)
	}
	defer C.free(unsafe.Pointer(r))
	msg := ""
	if r.message != nil {
		msg = C.GoString(r.message)
		C.free(unsafe.Pointer(r.message))
	}
	if r.status != 0 || r.device == nil { // WGPURequestDeviceStatus_Success
		lostDevices.Delete(d.lostID)
		return nil, fmt.Errorf("gpu: request device: status %d: %s", uint32(r.status), msg)
	}
	return wrapDevice(r.device), nil
}

// deviceLostCallback is what the cgo device-lost callback runs.
func deviceLostCallback(reason uint32, msg string, id uintptr) {
	v, ok := lostDevices.Load(id)
	if !ok {
		return
	}
	v.(*Device).markLost(fmt.Sprintf("%s (reason %s)", msg, statusName(wgpu.DeviceLostReason(reason).String(), reason)))
}

//export stylizeDeviceLost
func stylizeDeviceLost(reason C.uint32_t, message *C.char, id C.uintptr_t) {
	deviceLostCallback(uint32(reason), C.GoString(message), uintptr(id))
}

// popScope pops the innermost error scope of dev and returns the error it
// caught: type NoError when none.
func popScope(dev unsafe.Pointer) (wgpu.ErrorType, string, error) {
	p := C.stylize_pop_scope(dev)
	if p == nil {
		return 0, "", fmt.Errorf("gpu: pop error scope: out of memory")
	}
	if p.answered == 0 {
		return 0, "", fmt.Errorf("gpu: pop error scope: wgpu-native did not answer before returning (go-webgpu %s's wgpu-native 0.17 does)", goWebGPUVersion)
	}
	defer C.free(unsafe.Pointer(p))
	msg := ""
	if p.message != nil {
		msg = C.GoString(p.message)
		C.free(unsafe.Pointer(p.message))
	}
	return wgpu.ErrorType(p._type), msg, nil
}

// scoped runs f, a call into wgpu made with the call lock held (between
// enter and leave), inside a Validation and an OutOfMemory error scope,
// and returns f's error or the error the scopes caught, naming what. So
// an error that wgpu raises during f is returned by the call that caused
// it, never by a later unrelated one. An out-of-memory error also marks
// the device lost, as an uncaptured one does.
func (d *Device) scoped(what string, f func() error) error {
	dev := rawHandle(d.dev)
	if dev == nil {
		return fmt.Errorf("gpu: %s: nil device handle", what)
	}
	C.stylize_push_scopes(dev)
	ferr := f()
	vt, vmsg, verr := popScope(dev)
	ot, omsg, oerr := popScope(dev)
	switch {
	case oerr != nil:
		return oerr
	case ot != wgpu.ErrorType_NoError:
		d.markLost(fmt.Sprintf("%s: out of memory: %s", what, omsg))
		return fmt.Errorf("gpu: %s: %w: out of memory: %s", what, ErrDeviceLost, omsg)
	case ferr != nil:
		return ferr
	case verr != nil:
		return verr
	case vt != wgpu.ErrorType_NoError:
		return fmt.Errorf("gpu: %s: %s error: %s", what, strings.TrimPrefix(vt.String(), "ErrorType_"), vmsg)
	}
	return nil
}

// installErrorHandler routes errors that no error scope caught (from queue
// submissions, for instance) to d instead of wgpu-native's default, which
// aborts the process.
func (d *Device) installErrorHandler() error {
	h := rawHandle(d.dev)
	if h == nil {
		return fmt.Errorf("gpu: install the error handler: nil device handle")
	}
	registry.Store(uintptr(h), d)
	C.stylize_set_error_callback(h)
	return nil
}

func (d *Device) uninstallErrorHandler() {
	registry.Delete(uintptr(rawHandle(d.dev)))
	lostDevices.Delete(d.lostID)
}

//export stylizeUncapturedError
func stylizeUncapturedError(typ C.int, message *C.char, userdata unsafe.Pointer) {
	v, ok := registry.Load(uintptr(userdata))
	if !ok {
		return
	}
	v.(*Device).onUncaptured(wgpu.ErrorType(typ), C.GoString(message))
}

// onUncaptured records an error that no error scope caught. The error's
// type, not its message, tells whether the device is gone: DeviceLost and
// OutOfMemory make every later call fail with ErrDeviceLost. (wgpu-native
// 0.17 reports a lost device through the device-lost callback instead;
// the DeviceLost type is handled here too for versions that route it
// through this callback.)
//
// Any other uncaptured error cannot be pinned on a call: every call this
// package makes into wgpu that can raise one runs inside error scopes
// (see scoped, and go-webgpu's own scopes), so it came from outside them
// (code using Raw or Queue directly, a buffer's Destroy). It is kept,
// tagged with the last submission made before it, for the next Poll or
// Marker.Wait to return, rather than failing whichever call comes next.
func (d *Device) onUncaptured(t wgpu.ErrorType, msg string) {
	name := strings.TrimPrefix(t.String(), "ErrorType_")
	if t == wgpu.ErrorType_DeviceLost || t == wgpu.ErrorType_OutOfMemory {
		d.markLost(name + ": " + msg)
		return
	}
	d.mu.Lock()
	if d.uncaptured == nil {
		after := "before any submission"
		if d.lastSubmit != "" {
			after = fmt.Sprintf("after submission %q", d.lastSubmit)
		}
		d.uncaptured = fmt.Errorf("gpu: %s error outside any call's error scope, raised %s: %s", name, after, msg)
	}
	d.mu.Unlock()
}
