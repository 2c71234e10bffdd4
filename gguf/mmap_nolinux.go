//go:build unix && !linux

package gguf

// adviseHugePages does nothing where the kernel has no huge-page advice
// for file mappings.
func adviseHugePages([]byte) {}
