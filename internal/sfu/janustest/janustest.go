// Package janustest runs Debian's Janus for tests: the streaming plugin and
// the HTTP transport only, from configuration written into a temporary
// directory, on free ports, stopped when the test ends.
package janustest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hraban/opus"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/media"
	"tolk/internal/rtc"
	"tolk/internal/sfu"
)

// Server is a running Janus.
type Server struct {
	// API is the HTTP API (http://127.0.0.1:PORT/janus).
	API string
	// AdminKey is the streaming plugin's admin_key: creating mountpoints
	// needs it.
	AdminKey string
	// Dir holds the configuration and the log.
	Dir string
	// Pid is the Janus process's.
	Pid    int
	log    *lockedBuffer
	bin    string
	cmd    *exec.Cmd
	exited chan struct{}
}

// Log is what Janus printed so far.
func (s *Server) Log() string { return s.log.String() }

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() < 1<<20 {
		l.b.Write(p)
	}
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const libDir = "/usr/lib/x86_64-linux-gnu/janus"

// Need skips the test when janus is not installed, and fails it in CI,
// where .ci/setup installs it.
func Need(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("janus")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("janus is missing in CI: run .ci/setup")
		}
		t.Skip("janus not installed (apt-get install janus, or run .ci/setup)")
	}
	return bin
}

// FreePort returns a TCP (tcp) or UDP (udp) port free on loopback now.
func FreePort(t testing.TB, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs Janus until the test ends and waits until its API answers.
// mountpoints is added to janus.plugin.streaming.jcfg as it is (pre-configured
// mountpoints, libconfig syntax), "" for none.
func Start(t testing.TB, mountpoints string) *Server {
	t.Helper()
	bin := Need(t)
	dir := t.TempDir()
	port := FreePort(t, "tcp")
	s := &Server{API: fmt.Sprintf("http://127.0.0.1:%d/janus", port), AdminKey: "tolk-test-admin", Dir: dir,
		log: &lockedBuffer{}}
	var disable []string
	entries, _ := os.ReadDir(filepath.Join(libDir, "plugins"))
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, ".so") && n != "libjanus_streaming.so" {
			disable = append(disable, n)
		}
	}
	var disableT []string
	entries, _ = os.ReadDir(filepath.Join(libDir, "transports"))
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, ".so") && n != "libjanus_http.so" {
			disableT = append(disableT, n)
		}
	}
	// RTP ports: a random range of 200 so that tests running beside one
	// another seldom meet.
	rtpLo := 20000 + int(time.Now().UnixNano()/1000%200)*200
	files := map[string]string{
		"janus.jcfg": fmt.Sprintf(`general: {
	configs_folder = "%[1]s"
	plugins_folder = "%[2]s/plugins"
	transports_folder = "%[2]s/transports"
	events_folder = "%[2]s/events"
	loggers_folder = "%[2]s/loggers"
	debug_level = 4
	log_to_stdout = true
	session_timeout = 60
}
media: {
	rtp_port_range = "%[3]d-%[4]d"
}
nat: {
	ice_ignore_list = "vmnet"
}
plugins: {
	disable = "%[5]s"
}
transports: {
	disable = "%[6]s"
}
events: {
	broadcast = false
	disable = "libjanus_sampleevh.so,libjanus_wsevh.so,libjanus_mqttevh.so,libjanus_rabbitmqevh.so,libjanus_gelfevh.so,libjanus_nanomsgevh.so"
}
loggers: {
	disable = "libjanus_jsonlog.so"
}
`, dir, libDir, rtpLo, rtpLo+199, strings.Join(disable, ","), strings.Join(disableT, ",")),
		"janus.transport.http.jcfg": fmt.Sprintf(`general: {
	json = "plain"
	base_path = "/janus"
	http = true
	port = %d
	ip = "127.0.0.1"
	https = false
}
admin: {
	admin_http = false
	admin_https = false
}
cors: {
	allow_origin = "*"
}
`, port),
		"janus.plugin.streaming.jcfg": fmt.Sprintf(`general: {
	admin_key = "%s"
	rtp_port_range = "%d-%d"
}
%s
`, s.AdminKey, rtpLo+100, rtpLo+199, mountpoints),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s.bin = bin
	s.run(t)
	t.Cleanup(s.kill)
	return s
}

// Restart kills Janus (SIGKILL: it forgets every mountpoint and session)
// and starts it again on the same ports, waiting until its API answers.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.kill()
	s.run(t)
}

func (s *Server) kill() {
	if s.cmd != nil {
		_ = s.cmd.Process.Kill()
		<-s.exited
		s.cmd = nil
	}
}

// run starts Janus and waits until its API answers.
func (s *Server) run(t testing.TB) {
	t.Helper()
	cmd := exec.Command(s.bin, "-C", filepath.Join(s.Dir, "janus.jcfg"), "-F", s.Dir)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.Pid = cmd.Process.Pid
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited = cmd, exited
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	defer client.CloseIdleConnections()
	for {
		resp, err := client.Get(strings.TrimSuffix(s.API, "/janus") + "/janus/info")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-exited:
			t.Fatalf("janus exited: %s", s.Log())
		case <-ctx.Done():
			t.Fatalf("janus never answered on %s: %s", s.API, s.Log())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Watch watches a mountpoint through the Janus API as a browser would: a
// session with the streaming plugin, "watch", Janus's offer answered by a
// pion peer (every candidate gathered first), "start". The returned
// channel delivers the audio's RTP packets (queue bounds them; later ones
// are dropped); stop ends the peer and the session.
func Watch(ctx context.Context, t testing.TB, api string, id, queue int) (packets <-chan *rtp.Packet, stop func()) {
	t.Helper()
	j, err := sfu.DialJanus(ctx, api, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Message(ctx, map[string]any{"request": "watch", "id": id}, nil); err != nil {
		j.Close()
		t.Fatalf("watch %d: %v", id, err)
	}
	var offer *sfu.JSEP
	for offer == nil {
		data, jsep, err := j.Event(ctx)
		if err != nil {
			j.Close()
			t.Fatalf("watch %d: no offer: %v", id, err)
		}
		if jsep != nil && jsep.Type == "offer" {
			offer = jsep
		} else if strings.Contains(string(data), "error") {
			j.Close()
			t.Fatalf("watch %d: %s", id, data)
		}
	}
	webrtcAPI, err := rtc.NewAPI(rtc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := webrtcAPI.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan *rtp.Packet, queue)
	done, started := make(chan struct{}), make(chan struct{})
	var once sync.Once
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.Kind() != webrtc.RTPCodecTypeAudio {
			return
		}
		once.Do(func() {
			close(started)
			go func() {
				defer close(done)
				for {
					p, _, err := tr.ReadRTP()
					if err != nil {
						return
					}
					select {
					case out <- p:
					default:
					}
				}
			}()
		})
	})
	answer, err := rtc.Answer(ctx, pc, offer.SDP)
	if err != nil {
		pc.Close()
		j.Close()
		t.Fatalf("answer janus's offer: %v", err)
	}
	if _, err := j.Message(ctx, map[string]any{"request": "start"}, &sfu.JSEP{Type: "answer", SDP: answer}); err != nil {
		pc.Close()
		j.Close()
		t.Fatalf("start: %v", err)
	}
	return out, func() {
		j.Close()
		pc.Close()
		select {
		case <-started:
			<-done // the peer is closed: the reader ends
		default:
		}
	}
}

// Tap decodes received Opus packets onto the timeline of their RTP
// timestamps (counted from the first packet's): a Tap measures what the
// stream carries for a stretch of its own time, however late it arrives.
func Tap(t *testing.T, pkts <-chan *rtp.Packet, stop <-chan struct{}) *audiotest.Tap {
	t.Helper()
	dec, err := opus.NewDecoder(audio.SampleRate, 1)
	if err != nil {
		t.Fatal(err)
	}
	units := make(chan media.Unit, 64)
	go func() {
		defer close(units)
		first, have := uint32(0), false
		pcm := make([]float32, 5760)
		for {
			var p *rtp.Packet
			select {
			case <-stop:
				return
			case p = <-pkts:
			}
			if !have {
				first, have = p.Timestamp, true
			}
			n, err := dec.DecodeFloat32(p.Payload, pcm)
			if err != nil {
				continue
			}
			units <- media.Unit{PTS: int64(p.Timestamp - first), PCM: append([]float32(nil), pcm[:n]...)}
		}
	}()
	return audiotest.NewTap(units)
}
