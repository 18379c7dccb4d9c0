module github.com/stylize/stylize

go 1.24

require github.com/rajveermalviya/go-webgpu/wgpu v0.17.1

require (
	github.com/go-gl/glfw/v3.3/glfw v0.0.0-20260823155953-d41da22a9587
	github.com/rajveermalviya/go-webgpu/wgpuext/glfw v0.1.1
	golang.org/x/image v0.20.0
)
