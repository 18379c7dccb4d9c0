package window

import (
	"fmt"
	"image"

	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// build creates the renderer's two pipelines — the image, drawn straight
// from the engine's storage buffer, and textured quads (thumbnails, text)
// — with their layouts, uniforms and samplers, and the white texture that
// solid quads use.
func (r *renderer) build() error {
	var err error
	align := int(r.d.Limits().MinUniformBufferOffsetAlignment)
	r.stride = max(64, align)
	if r.imgMod, err = r.dev.CreateShaderModule(&wgpu.ShaderModuleDescriptor{Label: "live.image", WGSLDescriptor: &wgpu.ShaderModuleWGSLDescriptor{Code: imageShader()}}); err != nil {
		return fmt.Errorf("image shader: %w", err)
	}
	if r.quadMod, err = r.dev.CreateShaderModule(&wgpu.ShaderModuleDescriptor{Label: "live.quad", WGSLDescriptor: &wgpu.ShaderModuleWGSLDescriptor{Code: quadShader()}}); err != nil {
		return fmt.Errorf("quad shader: %w", err)
	}
	vf := wgpu.ShaderStage_Vertex | wgpu.ShaderStage_Fragment
	if r.imgBGL, err = r.dev.CreateBindGroupLayout(&wgpu.BindGroupLayoutDescriptor{Label: "live.image", Entries: []wgpu.BindGroupLayoutEntry{
		{Binding: 0, Visibility: wgpu.ShaderStage_Fragment, Buffer: wgpu.BufferBindingLayout{Type: wgpu.BufferBindingType_ReadOnlyStorage}},
		{Binding: 1, Visibility: wgpu.ShaderStage_Fragment, Buffer: wgpu.BufferBindingLayout{Type: wgpu.BufferBindingType_ReadOnlyStorage}},
		{Binding: 2, Visibility: vf, Buffer: wgpu.BufferBindingLayout{Type: wgpu.BufferBindingType_Uniform}},
	}}); err != nil {
		return err
	}
	if r.quadBGL, err = r.dev.CreateBindGroupLayout(&wgpu.BindGroupLayoutDescriptor{Label: "live.quad", Entries: []wgpu.BindGroupLayoutEntry{
		{Binding: 0, Visibility: wgpu.ShaderStage_Fragment, Texture: wgpu.TextureBindingLayout{SampleType: wgpu.TextureSampleType_Float, ViewDimension: wgpu.TextureViewDimension_2D}},
		{Binding: 1, Visibility: wgpu.ShaderStage_Fragment, Sampler: wgpu.SamplerBindingLayout{Type: wgpu.SamplerBindingType_Filtering}},
		{Binding: 2, Visibility: vf, Buffer: wgpu.BufferBindingLayout{Type: wgpu.BufferBindingType_Uniform, HasDynamicOffset: true, MinBindingSize: 64}},
	}}); err != nil {
		return err
	}
	if r.imgPL, err = r.dev.CreatePipelineLayout(&wgpu.PipelineLayoutDescriptor{Label: "live.image", BindGroupLayouts: []*wgpu.BindGroupLayout{r.imgBGL}}); err != nil {
		return err
	}
	if r.quadPL, err = r.dev.CreatePipelineLayout(&wgpu.PipelineLayoutDescriptor{Label: "live.quad", BindGroupLayouts: []*wgpu.BindGroupLayout{r.quadBGL}}); err != nil {
		return err
	}
	pipe := func(label string, mod *wgpu.ShaderModule, pl *wgpu.PipelineLayout, blend *wgpu.BlendState) (*wgpu.RenderPipeline, error) {
		return r.dev.CreateRenderPipeline(&wgpu.RenderPipelineDescriptor{
			Label:       label,
			Layout:      pl,
			Vertex:      wgpu.VertexState{Module: mod, EntryPoint: "vs"},
			Primitive:   wgpu.PrimitiveState{Topology: wgpu.PrimitiveTopology_TriangleList, FrontFace: wgpu.FrontFace_CCW, CullMode: wgpu.CullMode_None},
			Multisample: wgpu.MultisampleState{Count: 1, Mask: 0xFFFFFFFF},
			Fragment: &wgpu.FragmentState{Module: mod, EntryPoint: "fs", Targets: []wgpu.ColorTargetState{
				{Format: r.format, Blend: blend, WriteMask: wgpu.ColorWriteMask_All},
			}},
		})
	}
	if r.imgPipe, err = pipe("live.image", r.imgMod, r.imgPL, nil); err != nil {
		return fmt.Errorf("image pipeline: %w", err)
	}
	premul := &wgpu.BlendState{
		Color: wgpu.BlendComponent{Operation: wgpu.BlendOperation_Add, SrcFactor: wgpu.BlendFactor_One, DstFactor: wgpu.BlendFactor_OneMinusSrcAlpha},
		Alpha: wgpu.BlendComponent{Operation: wgpu.BlendOperation_Add, SrcFactor: wgpu.BlendFactor_One, DstFactor: wgpu.BlendFactor_OneMinusSrcAlpha},
	}
	if r.quadPipe, err = pipe("live.quad", r.quadMod, r.quadPL, premul); err != nil {
		return fmt.Errorf("quad pipeline: %w", err)
	}
	if r.imgUni, err = r.dev.CreateBuffer(&wgpu.BufferDescriptor{Label: "live.image.params", Size: 48, Usage: wgpu.BufferUsage_Uniform | wgpu.BufferUsage_CopyDst}); err != nil {
		return err
	}
	if r.quadUni, err = r.dev.CreateBuffer(&wgpu.BufferDescriptor{Label: "live.quad.params", Size: uint64(r.stride * r.maxQuads), Usage: wgpu.BufferUsage_Uniform | wgpu.BufferUsage_CopyDst}); err != nil {
		return err
	}
	sampler := func(label string, f wgpu.FilterMode) (*wgpu.Sampler, error) {
		return r.dev.CreateSampler(&wgpu.SamplerDescriptor{Label: label,
			AddressModeU: wgpu.AddressMode_ClampToEdge, AddressModeV: wgpu.AddressMode_ClampToEdge, AddressModeW: wgpu.AddressMode_ClampToEdge,
			MagFilter: f, MinFilter: f, MipmapFilter: wgpu.MipmapFilterMode_Nearest, LodMaxClamp: 32, MaxAnisotrophy: 1})
	}
	if r.linear, err = sampler("live.linear", wgpu.FilterMode_Linear); err != nil {
		return err
	}
	// Text is drawn 1:1 (or at whole HiDPI factors): nearest is sharp and
	// costs a quarter of linear's texel reads on a software rasteriser.
	if r.nearest, err = sampler("live.nearest", wgpu.FilterMode_Nearest); err != nil {
		return err
	}
	white := image.NewRGBA(image.Rect(0, 0, 1, 1))
	white.Pix = []byte{255, 255, 255, 255}
	if r.white, err = r.newTexture("live.white", white, true); err != nil {
		return err
	}
	return nil
}
