// Package restreamtest runs a real RTMP server for tests of pushes:
// Debian's nginx with its RTMP module (libnginx-mod-rtmp).
package restreamtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"tolk/internal/audio/audiotest"
)

// FreePort returns a TCP port free on 127.0.0.1 now.
func FreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Server is a real RTMP server: Debian's nginx with its RTMP module
// (libnginx-mod-rtmp), recording every publisher into its own FLV file.
type Server struct {
	dir, conf string
	port      int
	cmd       *exec.Cmd
	done      chan error
}

const rtmpModule = "/usr/lib/nginx/modules/ngx_rtmp_module.so"

// NewServer prepares a server on 127.0.0.1:port (application "live");
// Start runs it.
func NewServer(t *testing.T, port int) *Server {
	t.Helper()
	audiotest.NeedTool(t, "nginx")
	if _, err := os.Stat(rtmpModule); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("libnginx-mod-rtmp is missing in CI: %v", err)
		}
		t.Skip("libnginx-mod-rtmp not installed")
	}
	dir := t.TempDir()
	for _, d := range []string{"rec", "logs"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := fmt.Sprintf(`daemon off;
master_process off;
error_log %[1]s/logs/error.log info;
pid %[1]s/nginx.pid;
load_module %[3]s;
events { worker_connections 64; }
rtmp {
  server {
    listen 127.0.0.1:%[2]d;
    application live {
      live on;
      record all;
      record_path %[1]s/rec;
      record_unique on;
    }
  }
}
`, dir, port, rtmpModule)
	s := &Server{dir: dir, conf: filepath.Join(dir, "nginx.conf"), port: port}
	if err := os.WriteFile(s.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// Start runs the server and waits until it takes connections.
func (s *Server) Start(t *testing.T) {
	t.Helper()
	s.cmd = exec.Command("nginx", "-p", s.dir, "-c", s.conf)
	var stderr strings.Builder
	s.cmd.Stderr = &stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.done = make(chan error, 1)
	go func() { s.done <- s.cmd.Wait() }()
	for end := time.Now().Add(10 * time.Second); ; {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.port))
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(end) {
			t.Fatalf("nginx does not listen on %d: %s", s.port, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop ends the server at once, as a platform dropping the stream would.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Recordings lists the FLV files, one per publisher, oldest first.
func (s *Server) Recordings(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(s.dir, "rec", "*.flv"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

// Probe returns a file's streams as ffprobe reads them, one line each:
// "h264,640,360" for video, "aac,48000,1" for audio.
func Probe(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name,sample_rate,channels,width,height",
		"-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	return strings.TrimSpace(string(out))
}
