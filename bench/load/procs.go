package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// child is one server process the driver started.
type child struct {
	name string
	cmd  *exec.Cmd
	addr string
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done
}

// startChild starts a server process with its output in logPath. When
// addrFromStdout is set, the child's first stdout line is its address.
func startChild(name, path string, args []string, logPath string, addrFromStdout bool) (*child, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Stderr = logf
	cmd.SysProcAttr = childAttr()
	var stdout io.ReadCloser
	if addrFromStdout {
		if stdout, err = cmd.StdoutPipe(); err != nil {
			logf.Close()
			return nil, err
		}
	} else {
		cmd.Stdout = logf
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		logf.Close()
		close(c.done)
	}()
	if !addrFromStdout {
		return c, nil
	}
	line := make(chan string, 1)
	go func() {
		br := bufio.NewReader(stdout)
		s, _ := br.ReadString('\n')
		line <- strings.TrimSpace(s)
		_, _ = io.Copy(logf, br)
	}()
	select {
	case c.addr = <-line:
	case <-time.After(15 * time.Second):
	}
	if c.addr == "" {
		c.stop()
		return nil, fmt.Errorf("%s did not report its address (see %s)", name, logPath)
	}
	return c, nil
}

// stop asks the child to finish (SIGTERM), then kills it if it lingers.
func (c *child) stop() {
	if c == nil {
		return
	}
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// peakRSS is the child's peak resident set (VmHWM) in MB, or 0 when unknown.
func (c *child) peakRSS() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	kb, err := strconv.ParseFloat(strings.TrimSuffix(statusField(b, "VmHWM"), " kB"), 64)
	if err != nil {
		return 0
	}
	return kb / 1024
}

// statusField is the value of key in a /proc status file, trimmed, or "".
func statusField(status []byte, key string) string {
	for _, line := range strings.Split(string(status), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// waitReady polls /readyz until it answers 200, the child exits or the
// time runs out.
func (c *child) waitReady(ctx context.Context, logPath string) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-c.done:
			return fmt.Errorf("%s exited before it was ready: %v (see %s)", c.name, c.err, logPath)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		resp, err := client.Get("http://" + c.addr + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after 30s (see %s)", c.name, logPath)
}

// buildCrisp builds ./cmd/crisp from the module root into dir.
func buildCrisp(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside crisp's module: run from the repository root, or pass -crisp")
	}
	// Not dir/crisp: that is the plain crisp's definitions folder.
	bin := filepath.Join(dir, "bin", "crisp")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/crisp")
	cmd.Dir = filepath.Dir(gomod)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/crisp: %w\n%s", err, stderr.String())
	}
	return bin, nil
}

// freeAddr picks a free loopback port for a server that takes its address
// as a flag.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// usage is a process's CPU time and syscall counts so far.
type usage struct {
	cpu          time.Duration
	reads, write int64
	switches     int64 // the threads' context switches, voluntary or not
}

// usage reads /proc/PID/stat (utime, stime), /proc/PID/io (syscr, syscw)
// and each thread's context switches; ok is false off Linux or when the
// process is gone.
func (c *child) usage() (u usage, ok bool) {
	pid := c.cmd.Process.Pid
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return u, false
	}
	// The command name may hold spaces; the fields after it are fixed.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return u, false
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return u, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return u, false
	}
	const clockTick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	u.cpu = time.Duration(utime+stime) * clockTick
	io, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return u, false
	}
	for _, line := range strings.Split(string(io), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		switch k {
		case "syscr":
			u.reads, _ = strconv.ParseInt(v, 10, 64)
		case "syscw":
			u.write, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	u.switches = threadSwitches(pid)
	return u, true
}

// threadSwitches sums the context switches of a process's threads: each
// is a thread going to sleep or being preempted, and every wake-up of a
// sleeping thread on this machine's VM is a costly round trip. A thread
// that has exited is no longer counted, but Go's runtime keeps its threads.
func threadSwitches(pid int) int64 {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var n int64
	for _, t := range tasks {
		b, err := os.ReadFile(filepath.Join(dir, t.Name(), "status"))
		if err != nil {
			continue
		}
		for _, k := range []string{"voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"} {
			c, _ := strconv.ParseInt(statusField(b, k), 10, 64)
			n += c
		}
	}
	return n
}

func (u usage) sub(v usage) usage {
	return usage{cpu: u.cpu - v.cpu, reads: u.reads - v.reads, write: u.write - v.write, switches: u.switches - v.switches}
}

func (u usage) add(v usage) usage {
	return usage{cpu: u.cpu + v.cpu, reads: u.reads + v.reads, write: u.write + v.write, switches: u.switches + v.switches}
}

// copyFile copies src to a new file dst with the given mode: a file of its
// own, not a link, so nothing of it is shared with src in the page cache.
func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
