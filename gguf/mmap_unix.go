//go:build unix

package gguf

import (
	"os"
	"syscall"
)

// mapFile maps the file read-only. Empty files get an empty slice.
func mapFile(fd *os.File, size int64) ([]byte, func() error, error) {
	if size == 0 {
		return []byte{}, func() error { return nil }, nil
	}
	if int64(int(size)) != size {
		return nil, nil, syscall.EFBIG
	}
	data, err := syscall.Mmap(int(fd.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	adviseHugePages(data)
	return data, func() error { return syscall.Munmap(data) }, nil
}
