package residency

import (
	"bufio"
	"debug/elf"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ReleaseExecutable advises the kernel that the executable's read-only
// mappings (code, read-only data) are not needed now, and returns the bytes
// of address space advised. It does nothing for an executable with a
// RELRO segment: that is read-only only after the loader wrote to it, and
// dropping it would undo the writes. Writable mappings are never touched.
func ReleaseExecutable() (int64, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, fmt.Errorf("residency: %w", err)
	}
	if relro, err := hasRELRO("/proc/self/exe"); err != nil || relro {
		return 0, err
	}
	spans, err := readOnlySpans("/proc/self/maps", exe)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, s := range spans {
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, s.start, s.end-s.start, syscall.MADV_DONTNEED); errno != 0 {
			return n, fmt.Errorf("residency: madvise: %w", errno)
		}
		n += int64(s.end - s.start)
	}
	return n, nil
}

func hasRELRO(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, fmt.Errorf("residency: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_GNU_RELRO {
			return true, nil
		}
	}
	return false, nil
}

type span struct{ start, end uintptr }

// readOnlySpans reads a /proc/PID/maps file for the mappings of path that
// are readable and neither writable nor shared.
func readOnlySpans(maps, path string) ([]span, error) {
	f, err := os.Open(maps)
	if err != nil {
		return nil, fmt.Errorf("residency: %w", err)
	}
	defer f.Close()
	var out []span
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// address perms offset dev inode pathname
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || strings.Join(fields[5:], " ") != path {
			continue
		}
		perms := fields[1]
		if len(perms) != 4 || perms[0] != 'r' || perms[1] != '-' || perms[3] != 'p' {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		out = append(out, span{uintptr(start), uintptr(end)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("residency: %w", err)
	}
	return out, nil
}
