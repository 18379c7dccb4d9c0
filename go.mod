module github.com/stylize/stylize

go 1.24

require github.com/rajveermalviya/go-webgpu/wgpu v0.17.1

require golang.org/x/image v0.20.0
