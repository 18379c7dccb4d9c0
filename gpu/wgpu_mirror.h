// The structs of wgpu-native 0.17's webgpu.h (the one go-webgpu v0.17.1
// ships) that native.go needs to request a device with a device-lost
// callback, under stylize_ names so that this file needs no header from
// the module cache. TestMirrorMatchesWebGPUHeader compiles them next to
// the real header and checks every size and offset.
#ifndef STYLIZE_WGPU_MIRROR_H
#define STYLIZE_WGPU_MIRROR_H

#include <stddef.h>
#include <stdint.h>

typedef struct stylize_WGPULimits {
	uint32_t maxTextureDimension1D;
	uint32_t maxTextureDimension2D;
	uint32_t maxTextureDimension3D;
	uint32_t maxTextureArrayLayers;
	uint32_t maxBindGroups;
	uint32_t maxBindingsPerBindGroup;
	uint32_t maxDynamicUniformBuffersPerPipelineLayout;
	uint32_t maxDynamicStorageBuffersPerPipelineLayout;
	uint32_t maxSampledTexturesPerShaderStage;
	uint32_t maxSamplersPerShaderStage;
	uint32_t maxStorageBuffersPerShaderStage;
	uint32_t maxStorageTexturesPerShaderStage;
	uint32_t maxUniformBuffersPerShaderStage;
	uint64_t maxUniformBufferBindingSize;
	uint64_t maxStorageBufferBindingSize;
	uint32_t minUniformBufferOffsetAlignment;
	uint32_t minStorageBufferOffsetAlignment;
	uint32_t maxVertexBuffers;
	uint64_t maxBufferSize;
	uint32_t maxVertexAttributes;
	uint32_t maxVertexBufferArrayStride;
	uint32_t maxInterStageShaderComponents;
	uint32_t maxInterStageShaderVariables;
	uint32_t maxColorAttachments;
	uint32_t maxColorAttachmentBytesPerSample;
	uint32_t maxComputeWorkgroupStorageSize;
	uint32_t maxComputeInvocationsPerWorkgroup;
	uint32_t maxComputeWorkgroupSizeX;
	uint32_t maxComputeWorkgroupSizeY;
	uint32_t maxComputeWorkgroupSizeZ;
	uint32_t maxComputeWorkgroupsPerDimension;
} stylize_WGPULimits;

typedef struct stylize_WGPURequiredLimits {
	void const *nextInChain;
	stylize_WGPULimits limits;
} stylize_WGPURequiredLimits;

typedef struct stylize_WGPUQueueDescriptor {
	void const *nextInChain;
	char const *label;
} stylize_WGPUQueueDescriptor;

// WGPUDeviceLostCallback: reason is a WGPUDeviceLostReason.
typedef void (*stylize_WGPUDeviceLostCallback)(uint32_t reason, char const *message, void *userdata);

// WGPURequestDeviceCallback: status is a WGPURequestDeviceStatus.
typedef void (*stylize_WGPURequestDeviceCallback)(uint32_t status, void *device, char const *message, void *userdata);

typedef struct stylize_WGPUDeviceDescriptor {
	void const *nextInChain;
	char const *label;
	size_t requiredFeaturesCount;
	uint32_t const *requiredFeatures; // WGPUFeatureName
	stylize_WGPURequiredLimits const *requiredLimits;
	stylize_WGPUQueueDescriptor defaultQueue;
	stylize_WGPUDeviceLostCallback deviceLostCallback;
	void *deviceLostUserdata;
} stylize_WGPUDeviceDescriptor;

#endif
