package window

import (
	"fmt"
	"strings"

	"github.com/stylize/stylize/imageio"
)

// imageWGSL draws the engine's image straight from its storage buffer
// (planar f32 RGB, (3,H,W)) into a rectangle given in framebuffer pixels,
// nearest-neighbour, optionally with the content's colours (luminance-only
// transfer in YIQ, as imageio.OriginalColors does on the CPU).
// %s: the RGB->YIQ and YIQ->RGB matrices as mat3x3 constructors (naga in
// wgpu 0.17 takes no constant expressions, so Go writes them out).
const imageWGSL = `
struct Params {
	rect: vec4<f32>,  // x0, y0, x1, y1 of the image in framebuffer pixels
	view: vec4<f32>,  // framebuffer width, height; image width, height
	flags: vec4<f32>, // original colours, sRGB target, -, -
}

@group(0) @binding(0) var<storage, read> img: array<f32>;
@group(0) @binding(1) var<storage, read> content: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

struct VOut {
	@builtin(position) pos: vec4<f32>,
	@location(0) t: vec2<f32>, // image pixel coordinates, 0..W, 0..H
}

@vertex
fn vs(@builtin(vertex_index) i: u32) -> VOut {
	let c = corner(i);
	var o: VOut;
	o.pos = clip_pos(p.rect, p.view.xy, c);
	o.t = c * p.view.zw;
	return o;
}

@fragment
fn fs(i: VOut) -> @location(0) vec4<f32> {
	let w = u32(p.view.z);
	let h = u32(p.view.w);
	// Nearest neighbour: the pixel whose cell holds this fragment's centre.
	let ix = min(u32(max(i.t.x, 0.0)), w - 1u);
	let iy = min(u32(max(i.t.y, 0.0)), h - 1u);
	let n = w * h;
	let k = iy * w + ix;
	var rgb = vec3<f32>(img[k], img[n + k], img[2u * n + k]);
	if (p.flags.x > 0.5) {
		let to_yiq = %s;
		let to_rgb = %s;
		let g = to_yiq * rgb;
		let c = to_yiq * vec3<f32>(content[k], content[n + k], content[2u * n + k]);
		rgb = to_rgb * vec3<f32>(g.x, c.y, c.z);
	}
	rgb = clamp(rgb, vec3<f32>(0.0), vec3<f32>(1.0));
	if (p.flags.y > 0.5) {
		rgb = to_linear(rgb);
	}
	return vec4<f32>(rgb, 1.0);
}
`

// commonWGSL is what both shaders use: the corners of a rectangle drawn
// as two triangles, a framebuffer position in clip space, and the sRGB
// decoding they apply when the window's format is an sRGB one (which
// encodes what they write).
const commonWGSL = `
fn corner(i: u32) -> vec2<f32> {
	var corners = array<vec2<f32>, 6>(vec2<f32>(0.0, 0.0), vec2<f32>(1.0, 0.0), vec2<f32>(0.0, 1.0),
		vec2<f32>(0.0, 1.0), vec2<f32>(1.0, 0.0), vec2<f32>(1.0, 1.0));
	return corners[i];
}

// The point at c (0..1 in each axis) of r (framebuffer pixels) in clip space.
fn clip_pos(r: vec4<f32>, fb: vec2<f32>, c: vec2<f32>) -> vec4<f32> {
	let px = mix(r.xy, r.zw, c);
	return vec4<f32>(px.x / fb.x * 2.0 - 1.0, 1.0 - px.y / fb.y * 2.0, 0.0, 1.0);
}

fn to_linear(c: vec3<f32>) -> vec3<f32> {
	let lo = c / 12.92;
	let hi = pow((c + vec3<f32>(0.055)) / 1.055, vec3<f32>(2.4));
	return select(hi, lo, c <= vec3<f32>(0.04045));
}
`

// quadWGSL draws a texture (thumbnails, HUD text, help) into a rectangle,
// multiplied by a colour, blended as premultiplied alpha.
const quadWGSL = `
struct Quad {
	rect: vec4<f32>,  // x0, y0, x1, y1 in framebuffer pixels
	view: vec4<f32>,  // framebuffer width, height, sRGB target, -
	color: vec4<f32>, // multiplies the texel (premultiplied)
	pad: vec4<f32>,
}

@group(0) @binding(0) var tex: texture_2d<f32>;
@group(0) @binding(1) var smp: sampler;
@group(0) @binding(2) var<uniform> q: Quad;

struct VOut {
	@builtin(position) pos: vec4<f32>,
	@location(0) uv: vec2<f32>,
}

@vertex
fn vs(@builtin(vertex_index) i: u32) -> VOut {
	let c = corner(i);
	var o: VOut;
	o.pos = clip_pos(q.rect, q.view.xy, c);
	o.uv = c;
	return o;
}

@fragment
fn fs(i: VOut) -> @location(0) vec4<f32> {
	var t = textureSample(tex, smp, i.uv) * q.color;
	if (q.view.z > 0.5 && t.a > 0.0) {
		t = vec4<f32>(to_linear(t.rgb / t.a) * t.a, t.a);
	}
	return t;
}
`

// yiqMatrices returns imageio's RGB->YIQ matrix and its inverse, measured
// through imageio itself so that the display and the saved file agree.
func yiqMatrices() (fwd, inv [3][3]float64) {
	basis := func(f func(imageio.Image) imageio.Image) (m [3][3]float64) {
		for j := 0; j < 3; j++ {
			in := imageio.Image{H: 1, W: 1, Pix: make([]float32, 3)}
			in.Pix[j] = 1
			out := f(in)
			for i := 0; i < 3; i++ {
				m[i][j] = float64(out.Pix[i])
			}
		}
		return m
	}
	return basis(imageio.RGBToYIQ), basis(imageio.YIQToRGB)
}

// wgslMat3 writes m as a WGSL mat3x3 constructor (column-major: the
// constructor takes columns).
func wgslMat3(m [3][3]float64) string {
	var cols []string
	for j := 0; j < 3; j++ {
		cols = append(cols, fmt.Sprintf("vec3<f32>(%.10f, %.10f, %.10f)", m[0][j], m[1][j], m[2][j]))
	}
	return "mat3x3<f32>(" + strings.Join(cols, ", ") + ")"
}

// imageShader is imageWGSL with the YIQ matrices written in.
func imageShader() string {
	fwd, inv := yiqMatrices()
	return commonWGSL + fmt.Sprintf(imageWGSL, wgslMat3(fwd), wgslMat3(inv))
}

// quadShader is quadWGSL.
func quadShader() string { return commonWGSL + quadWGSL }
