package sfu

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pion/rtp"

	"tolk/internal/config"
)

// Janus error codes the forwarder reacts to (janus_streaming.c).
const (
	janusNoSuchMountpoint = 455
	janusMountpointExists = 456
)

// maxJanusReply bounds a Janus API answer read into memory.
const maxJanusReply = 1 << 20

// JanusError is an error Janus answered: a core error (unknown session,
// wrong secret) or a streaming plugin's.
type JanusError struct {
	Code   int
	Reason string
}

func (e *JanusError) Error() string { return fmt.Sprintf("janus error %d: %s", e.Code, e.Reason) }

// Janus speaks to the Janus HTTP API: one session with the streaming
// plugin attached. Requests are synchronous; Events long-polls the
// asynchronous ones' answers.
type Janus struct {
	api, secret string
	client      *http.Client
	session     uint64
	handle      uint64
}

// janusReply is what the Janus API answers.
type janusReply struct {
	Janus string `json:"janus"`
	Data  struct {
		ID uint64 `json:"id"`
	} `json:"data"`
	Error *struct {
		Code   int    `json:"code"`
		Reason string `json:"reason"`
	} `json:"error"`
	PluginData *struct {
		Data json.RawMessage `json:"data"`
	} `json:"plugindata"`
	JSEP *JSEP `json:"jsep"`
}

// JSEP is a session description as Janus carries it.
type JSEP struct {
	Type string `json:"type"`
	SDP  string `json:"sdp"`
}

// DialJanus creates a Janus session at api (http://HOST:8088/janus) with
// apiSecret (janus.jcfg's api_secret, "" for none) and attaches the
// streaming plugin.
func DialJanus(ctx context.Context, api, apiSecret string) (*Janus, error) {
	j := &Janus{api: strings.TrimSuffix(api, "/"), secret: apiSecret, client: &http.Client{}}
	var r janusReply
	if err := j.post(ctx, j.api, map[string]any{"janus": "create"}, &r); err != nil {
		return nil, fmt.Errorf("janus session: %w", err)
	}
	j.session = r.Data.ID
	if err := j.post(ctx, j.sessionURL(), map[string]any{"janus": "attach", "plugin": "janus.plugin.streaming"}, &r); err != nil {
		j.Close()
		return nil, fmt.Errorf("janus attach streaming: %w", err)
	}
	j.handle = r.Data.ID
	return j, nil
}

func (j *Janus) sessionURL() string { return j.api + "/" + strconv.FormatUint(j.session, 10) }

func (j *Janus) handleURL() string {
	return j.sessionURL() + "/" + strconv.FormatUint(j.handle, 10)
}

func transaction() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// post sends one request and reads its answer; a Janus "error" answer is a
// *JanusError.
func (j *Janus) post(ctx context.Context, to string, msg map[string]any, r *janusReply) error {
	msg["transaction"] = transaction()
	if j.secret != "" {
		msg["apisecret"] = j.secret
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, to, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return j.do(req, r)
}

func (j *Janus) do(req *http.Request, r *janusReply) error {
	resp, err := j.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJanusReply))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s", resp.Status)
	}
	return parseReply(b, r)
}

// parseReply reads a Janus API answer; a Janus "error" answer is a
// *JanusError.
func parseReply(b []byte, r *janusReply) error {
	*r = janusReply{}
	if err := json.Unmarshal(b, r); err != nil {
		return fmt.Errorf("janus answer: %w", err)
	}
	if r.Janus == "error" {
		if r.Error == nil {
			return &JanusError{Reason: "unexplained error"}
		}
		return &JanusError{Code: r.Error.Code, Reason: r.Error.Reason}
	}
	return nil
}

// pluginData returns a plugin's answer, or its error as a *JanusError;
// nil for an "ack" (the answer comes as an event).
func pluginData(r *janusReply) (json.RawMessage, error) {
	if r.PluginData == nil {
		return nil, nil
	}
	var e struct {
		Code   int    `json:"error_code"`
		Reason string `json:"error"`
	}
	if json.Unmarshal(r.PluginData.Data, &e) == nil && e.Code != 0 {
		return nil, &JanusError{Code: e.Code, Reason: e.Reason}
	}
	return r.PluginData.Data, nil
}

// createdPort reads the port of a mountpoint's first stream from the
// streaming plugin's answer to "create".
func createdPort(data json.RawMessage) (int, bool) {
	var created struct {
		Stream struct {
			Ports []struct {
				Port int `json:"port"`
			} `json:"ports"`
		} `json:"stream"`
	}
	if err := json.Unmarshal(data, &created); err != nil || len(created.Stream.Ports) == 0 {
		return 0, false
	}
	p := created.Stream.Ports[0].Port
	return p, p > 0 && p < 65536
}

// Message sends a request to the streaming plugin and returns its data
// (synchronous requests: create, destroy, info, list); an "error_code" in
// it is a *JanusError. jsep, when set, goes with it (the watcher's answer).
func (j *Janus) Message(ctx context.Context, body map[string]any, jsep *JSEP) (json.RawMessage, error) {
	msg := map[string]any{"janus": "message", "body": body}
	if jsep != nil {
		msg["jsep"] = jsep
	}
	var r janusReply
	if err := j.post(ctx, j.handleURL(), msg, &r); err != nil {
		return nil, err
	}
	return pluginData(&r)
}

// Event long-polls the session for the next event of the plugin (the
// answer to an asynchronous request, such as watch's offer). Keepalives
// are skipped.
func (j *Janus) Event(ctx context.Context) (json.RawMessage, *JSEP, error) {
	for {
		u := j.sessionURL() + "?maxev=1"
		if j.secret != "" {
			u += "&apisecret=" + url.QueryEscape(j.secret)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, nil, err
		}
		var r janusReply
		if err := j.do(req, &r); err != nil {
			return nil, nil, err
		}
		if r.Janus == "event" && r.PluginData != nil {
			return r.PluginData.Data, r.JSEP, nil
		}
	}
}

// Keepalive tells Janus the session is in use (it drops sessions idle for
// its session_timeout, 60 s by default).
func (j *Janus) Keepalive(ctx context.Context) error {
	var r janusReply
	return j.post(ctx, j.sessionURL(), map[string]any{"janus": "keepalive"}, &r)
}

// Close destroys the session (and so detaches the plugin).
func (j *Janus) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var r janusReply
	_ = j.post(ctx, j.sessionURL(), map[string]any{"janus": "destroy"}, &r)
	j.client.CloseIdleConnections()
}

// Mountpoint is what CreateMountpoint needs.
type Mountpoint struct {
	ID          int
	Name        string
	Description string
	// Port is the RTP port to listen on; 0 lets Janus pick one.
	Port int
	// Secret, AdminKey: see config.Janus.
	Secret, AdminKey string
}

// CreateMountpoint creates an RTP mountpoint with one Opus stream and
// returns the port it receives on. A mountpoint already there with the
// same id (a tolk that was killed) is destroyed and made again.
func (j *Janus) CreateMountpoint(ctx context.Context, m Mountpoint) (port int, err error) {
	req := map[string]any{"request": "create", "type": "rtp", "id": m.ID, "name": m.Name,
		"description": m.Description, "permanent": false,
		"media": []map[string]any{{"type": "audio", "mid": "a", "label": "audio", "port": m.Port,
			"pt": 111, "codec": "opus"}}}
	if m.AdminKey != "" {
		req["admin_key"] = m.AdminKey
	}
	if m.Secret != "" {
		req["secret"] = m.Secret
	}
	data, err := j.Message(ctx, req, nil)
	var je *JanusError
	if errors.As(err, &je) && je.Code == janusMountpointExists {
		if err := j.DestroyMountpoint(ctx, m.ID, m.Secret); err != nil {
			return 0, fmt.Errorf("mountpoint %d exists and cannot be replaced: %w", m.ID, err)
		}
		data, err = j.Message(ctx, req, nil)
	}
	if err != nil {
		return 0, fmt.Errorf("create mountpoint %d: %w", m.ID, err)
	}
	if p, ok := createdPort(data); ok {
		return p, nil
	}
	if m.Port > 0 {
		return m.Port, nil
	}
	return 0, fmt.Errorf("create mountpoint %d: janus named no port", m.ID)
}

// DestroyMountpoint removes a mountpoint.
func (j *Janus) DestroyMountpoint(ctx context.Context, id int, secret string) error {
	req := map[string]any{"request": "destroy", "id": id, "permanent": false}
	if secret != "" {
		req["secret"] = secret
	}
	_, err := j.Message(ctx, req, nil)
	return err
}

// MountpointInfo asks about a mountpoint; a *JanusError with code 455 says
// it is gone.
func (j *Janus) MountpointInfo(ctx context.Context, id int, secret string) error {
	req := map[string]any{"request": "info", "id": id}
	if secret != "" {
		req["secret"] = secret
	}
	_, err := j.Message(ctx, req, nil)
	return err
}

// JanusOptions configure a forward to a Janus mountpoint.
type JanusOptions struct {
	Common
	// Janus is the configuration (sfu.janus); Mount the language's
	// mountpoint.
	Janus config.Janus
	Mount config.JanusMount
	// Check is how often a forward with an API checks that its
	// mountpoint is still there (default 10 s): a Janus that restarted
	// forgot it.
	Check time.Duration
}

// NewJanus makes an output that forwards a language's Opus as RTP to its
// Janus streaming mountpoint, stopped; Start starts it. With an API URL it
// creates the mountpoint on every connection and destroys it when it stops.
func NewJanus(opts JanusOptions) (*Output, error) {
	if opts.Packets == nil {
		return nil, fmt.Errorf("sfu %s: no audio track", opts.ID)
	}
	if opts.Janus.API == "" && opts.Mount.Port == 0 {
		return nil, fmt.Errorf("sfu %s: no Janus API and no port", opts.ID)
	}
	host := opts.Janus.RTPAddr()
	if host == "" {
		return nil, fmt.Errorf("sfu %s: no RTP host", opts.ID)
	}
	opts.defaults()
	if opts.Check <= 0 {
		opts.Check = 10 * time.Second
	}
	if opts.Name == "" {
		opts.Name = opts.Janus.Name
		if opts.Name == "" {
			opts.Name = "Janus"
		}
		opts.Name += " #" + strconv.Itoa(opts.Mount.ID)
	}
	target := "rtp://" + net.JoinHostPort(host, strconv.Itoa(opts.Mount.Port))
	if opts.Mount.Port == 0 {
		// Until Janus names the port: its API, which holds no secret
		// (whatever user or query it has is left out).
		target = opts.Janus.API
		if u, err := url.Parse(opts.Janus.API); err == nil {
			target = u.Scheme + "://" + u.Host + u.Path
		}
	}
	o := newOutput(opts.Common, "janus", target, func(ctx context.Context) (link, error) {
		return dialForward(ctx, opts, host)
	})
	return o, nil
}

// forward is one link to a Janus mountpoint: a UDP socket, and the API
// session that made the mountpoint.
type forward struct {
	opts JanusOptions
	conn *net.UDPConn
	buf  []byte
	addr string
	j    *Janus // nil without an API
	dead chan error
	stop chan struct{}
	done chan struct{}
}

func dialForward(ctx context.Context, opts JanusOptions, host string) (link, error) {
	f := &forward{opts: opts, buf: make([]byte, 1500), dead: make(chan error, 1), stop: make(chan struct{}),
		done: make(chan struct{})}
	port := opts.Mount.Port
	if opts.Janus.API != "" {
		j, err := DialJanus(ctx, opts.Janus.API, opts.Janus.APISecret)
		if err != nil {
			return nil, err
		}
		port, err = j.CreateMountpoint(ctx, Mountpoint{ID: opts.Mount.ID, Name: "tolk " + opts.Lang,
			Description: opts.Lang, Port: opts.Mount.Port, Secret: opts.Janus.Secret, AdminKey: opts.Janus.AdminKey})
		if err != nil {
			j.Close()
			return nil, err
		}
		f.j = j
	}
	f.addr = net.JoinHostPort(host, strconv.Itoa(port))
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", f.addr)
	if err != nil {
		f.release()
		return nil, fmt.Errorf("rtp to %s: %w", f.addr, err)
	}
	f.conn = c.(*net.UDPConn)
	if f.j != nil {
		go f.watch()
	} else {
		close(f.done)
	}
	return f, nil
}

// watch checks the mountpoint every opts.Check, which also keeps the API
// session alive; a mountpoint or session that is gone ends the link.
func (f *forward) watch() {
	defer close(f.done)
	t := f.opts.Clock.NewTimer(f.opts.Check)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C():
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := f.j.MountpointInfo(ctx, f.opts.Mount.ID, f.opts.Janus.Secret)
		cancel()
		if err != nil {
			f.dead <- fmt.Errorf("mountpoint %d: %w", f.opts.Mount.ID, err)
			return
		}
		t.Reset(f.opts.Check)
	}
}

func (f *forward) send(p *rtp.Packet) error {
	n, err := p.MarshalTo(f.buf)
	if err != nil {
		return err
	}
	_, err = f.conn.Write(f.buf[:n])
	return err
}

func (f *forward) failed() <-chan error { return f.dead }

func (f *forward) target() string {
	return fmt.Sprintf("rtp://%s (mountpoint %d)", f.addr, f.opts.Mount.ID)
}

func (f *forward) close() {
	close(f.stop)
	<-f.done
	f.conn.Close()
	f.release()
}

// release destroys the mountpoint tolk made and ends the API session.
func (f *forward) release() {
	if f.j == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = f.j.DestroyMountpoint(ctx, f.opts.Mount.ID, f.opts.Janus.Secret)
	f.j.Close()
}
