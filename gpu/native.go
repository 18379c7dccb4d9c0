package gpu

/*
#include <stdint.h>

// The one wgpu-native entry point go-webgpu does not wrap. Declared here
// with opaque pointers (ABI-identical to webgpu.h's declaration) so that
// this file needs no header from the module cache.
typedef void (*stylize_error_cb)(int type, char const *message, void *userdata);
void wgpuDeviceSetUncapturedErrorCallback(void *device, stylize_error_cb callback, void *userdata);

extern void stylizeUncapturedError(int type, char *message, void *userdata);

static void stylize_on_error(int type, char const *message, void *userdata) {
	stylizeUncapturedError(type, (char *)message, userdata);
}

static void stylize_set_error_callback(void *device) {
	wgpuDeviceSetUncapturedErrorCallback(device, stylize_on_error, device);
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
}

//export stylizeUncapturedError
func stylizeUncapturedError(typ C.int, message *C.char, userdata unsafe.Pointer) {
	v, ok := registry.Load(uintptr(userdata))
	if !ok {
		return
	}
	v.(*Device).onUncaptured(wgpu.ErrorType(typ), C.GoString(message))
}

// onUncaptured records an error that no error scope caught; a lost device
// or an out-of-memory error makes every later call fail with ErrDeviceLost.
func (d *Device) onUncaptured(t wgpu.ErrorType, msg string) {
	d.mu.Lock()
	if d.uncaptured == nil {
		d.uncaptured = fmt.Errorf("gpu: %s: %s", strings.TrimPrefix(t.String(), "ErrorType_"), msg)
	}
	d.mu.Unlock()
	if t == wgpu.ErrorType_DeviceLost || t == wgpu.ErrorType_OutOfMemory || strings.Contains(strings.ToLower(msg), "lost") {
		d.lostMsg.Store(msg)
		d.lost.Store(true)
	}
}
