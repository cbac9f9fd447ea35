package ingest

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// endpoint is a parsed listener address.
type endpoint struct {
	scheme string // "rtmp" or "srt"
	host   string // IP or name, without brackets
	port   int

	app, key string // rtmp: rtmp://host:port/app/key

	passphrase string        // srt: encryption, empty for none
	latency    time.Duration // srt: receiver latency, 0 for ffmpeg's default
}

const (
	maxURLLen       = 2048
	defaultRTMPPort = 1935
	maxSRTLatency   = 10 * time.Second
)

// parseEndpoint accepts rtmp://HOST[:PORT]/APP/KEY and
// srt://HOST:PORT[?passphrase=...&latency=MS&mode=listener].
func parseEndpoint(raw string) (endpoint, error) {
	var e endpoint
	if len(raw) > maxURLLen {
		return e, fmt.Errorf("listener url longer than %d bytes", maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return e, fmt.Errorf("listener url: %w", err)
	}
	e.scheme = strings.ToLower(u.Scheme)
	if e.scheme != "rtmp" && e.scheme != "srt" {
		return e, fmt.Errorf("listener url: scheme %q not supported (want rtmp or srt)", u.Scheme)
	}
	if u.Opaque != "" || u.User != nil || u.Fragment != "" || u.RawFragment != "" {
		return e, errors.New("listener url: only scheme://host:port and a path or query are allowed")
	}
	e.host = u.Hostname()
	if err := checkHost(e.host); err != nil {
		return e, fmt.Errorf("listener url: %w", err)
	}
	switch p := u.Port(); {
	case p == "" && e.scheme == "rtmp":
		e.port = defaultRTMPPort
	case p == "":
		return e, errors.New("listener url: srt needs a port")
	default:
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return e, fmt.Errorf("listener url: bad port %q", p)
		}
		e.port = n
	}
	if strings.HasSuffix(u.Host, ":") {
		return e, errors.New("listener url: empty port")
	}
	if e.scheme == "rtmp" {
		return e, e.parseRTMP(u)
	}
	return e, e.parseSRT(u)
}

func (e *endpoint) parseRTMP(u *url.URL) error {
	if u.RawQuery != "" || u.ForceQuery {
		return errors.New("listener url: rtmp takes no query")
	}
	parts := strings.Split(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
	if len(parts) != 2 {
		return errors.New("listener url: rtmp needs /APP/KEY after the port")
	}
	for i, name := range []string{"app", "stream key"} {
		if err := checkToken(parts[i]); err != nil {
			return fmt.Errorf("listener url: %s: %w", name, err)
		}
	}
	e.app, e.key = parts[0], parts[1]
	return nil
}

func (e *endpoint) parseSRT(u *url.URL) error {
	if u.Path != "" && u.Path != "/" {
		return errors.New("listener url: srt takes no path")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return fmt.Errorf("listener url: query: %w", err)
	}
	for k, vs := range q {
		if len(vs) != 1 {
			return fmt.Errorf("listener url: %s given %d times", k, len(vs))
		}
		v := vs[0]
		switch k {
		case "mode":
			if v != "listener" {
				return fmt.Errorf("listener url: mode %q: tolk only listens", v)
			}
		case "passphrase":
			// SRT's limits; ffmpeg passes it to libsrt as is.
			if len(v) < 10 || len(v) > 64 {
				return errors.New("listener url: passphrase must be 10 to 64 characters")
			}
			for _, r := range v {
				if r < 0x21 || r > 0x7e {
					return errors.New("listener url: passphrase must be printable ASCII without spaces")
				}
			}
			e.passphrase = v
		case "latency":
			ms, err := strconv.Atoi(v)
			if err != nil || ms < 0 || time.Duration(ms)*time.Millisecond > maxSRTLatency {
				return fmt.Errorf("listener url: latency %q: want milliseconds from 0 to %d", v, maxSRTLatency.Milliseconds())
			}
			e.latency = time.Duration(ms) * time.Millisecond
		default:
			return fmt.Errorf("listener url: srt option %q not supported (passphrase, latency, mode)", k)
		}
	}
	return nil
}

func checkHost(h string) error {
	if h == "" {
		return errors.New("missing host")
	}
	if net.ParseIP(h) != nil {
		return nil
	}
	if len(h) > 253 {
		return errors.New("host name too long")
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("bad host %q", h)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("bad host %q", h)
			}
		}
	}
	return nil
}

// checkToken admits RFC 3986 unreserved characters, which need no escaping in
// any of the places an app name or stream key ends up.
func checkToken(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	if len(s) > 128 {
		return errors.New("longer than 128 characters")
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_' || r == '~') {
			return fmt.Errorf("character %q not allowed (use letters, digits, - . _ ~)", r)
		}
	}
	if s == "." || s == ".." {
		return errors.New("not a name")
	}
	return nil
}

func (e endpoint) hostPort() string {
	return net.JoinHostPort(e.host, strconv.Itoa(e.port))
}

// input returns the ffmpeg input options and URL that listen on e.
func (e endpoint) input() []string {
	if e.scheme == "rtmp" {
		// Without TCP_NODELAY each step of the RTMP handshake waits out a
		// delayed ACK: about 150 ms more before the first frame.
		return []string{"-listen", "1", "-tcp_nodelay", "1", "-i", "rtmp://" + e.hostPort() + "/" + e.app + "/" + e.key}
	}
	// Options go as ffmpeg options, not in the URL, so no escaping is involved.
	args := []string{"-mode", "listener"}
	if e.passphrase != "" {
		args = append(args, "-passphrase", e.passphrase)
	}
	if e.latency > 0 {
		args = append(args, "-latency", strconv.FormatInt(e.latency.Microseconds(), 10))
	}
	return append(args, "-i", "srt://"+e.hostPort())
}

// refuse recognises ffmpeg's complaint about a publisher's app or stream key.
// ffmpeg's RTMP listener only warns about a mismatch and takes the stream
// anyway, so tolk enforces it.
func (e endpoint) refuse(line string) error {
	if e.scheme == "rtmp" && (strings.Contains(line, "Unexpected stream") || strings.Contains(line, "App field don't match up")) {
		return ErrRefused
	}
	return nil
}

// secrets lists what must never appear in logs.
func (e endpoint) secrets() []string {
	var s []string
	if e.key != "" {
		s = append(s, e.key)
	}
	if e.passphrase != "" {
		s = append(s, e.passphrase)
	}
	return s
}

// String describes e without its secrets.
func (e endpoint) String() string {
	if e.scheme == "rtmp" {
		return "rtmp://" + e.hostPort() + "/" + e.app + "/***"
	}
	s := "srt://" + e.hostPort()
	if e.passphrase != "" {
		s += " (encrypted)"
	}
	return s
}
