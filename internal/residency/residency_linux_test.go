package residency

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestReleaseExecutable: the test binary's read-only mappings stop being
// resident, and its code keeps running (what it touches faults back in).
func TestReleaseExecutable(t *testing.T) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	before := residentKB(t, exe)
	n, err := ReleaseExecutable()
	if err != nil {
		t.Fatal(err)
	}
	after := residentKB(t, exe)
	if n == 0 || after >= before {
		t.Errorf("released %d bytes; read-only pages resident %d kB before, %d kB after", n, before, after)
	}
	t.Logf("released %d MB of address space; resident %d kB -> %d kB", n>>20, before, after)
	// Code and read-only data all over the binary still work.
	if s := strconv.Quote(strings.Repeat("é", 3)); s != `"ééé"` {
		t.Errorf("quote after release: %s", s)
	}
}

// residentKB sums Rss over exe's read-only mappings in /proc/self/smaps.
func residentKB(t *testing.T, exe string) int {
	t.Helper()
	data, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	total, counting := 0, false
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			counting = len(fields) >= 6 && fields[5] == exe && !strings.Contains(fields[1], "w")
			continue
		}
		if counting && len(fields) == 3 && fields[0] == "Rss:" {
			kb, _ := strconv.Atoi(fields[1])
			total += kb
		}
	}
	return total
}

// TestReadOnlySpans: only readable, unwritable, private mappings of the
// executable are taken.
func TestReadOnlySpans(t *testing.T) {
	maps := `00400000-01231000 r-xp 00000000 fe:00 123 /opt/crisp/crisp
01231000-028d3000 r--p 00e31000 fe:00 123 /opt/crisp/crisp
028d3000-02995000 rw-p 024d3000 fe:00 123 /opt/crisp/crisp
7f0000000000-7f0000020000 rw-s 00000000 fe:00 456 /var/lib/crisp/crisp.db-shm
7f0000100000-7f0000200000 r--p 00000000 fe:00 789 /usr/lib/x86_64-linux-gnu/libc.so.6
7f0000300000-7f0000301000 r--s 00000000 fe:00 123 /opt/crisp/crisp
7f0000400000-7f0000401000 r-xp 00000000 fe:00 124 /opt/crisp/crisp (deleted)
`
	path := filepath.Join(t.TempDir(), "maps")
	if err := os.WriteFile(path, []byte(maps), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := readOnlySpans(path, "/opt/crisp/crisp")
	if err != nil {
		t.Fatal(err)
	}
	want := []span{{0x400000, 0x1231000}, {0x1231000, 0x28d3000}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("spans %x, want %x", got, want)
	}
}
