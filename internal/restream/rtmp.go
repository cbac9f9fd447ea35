package restream

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"tolk/internal/audio"
)

// dial connects to the push's URL; pic is nil for a connection without
// video.
func (p *Push) dial(ctx context.Context, pic *picture) (conn, error) {
	u, err := url.Parse(p.opts.URL)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "srt" {
		return dialSRT(ctx, p.opts.FFmpeg, p.opts.URL, pic)
	}
	return dialRTMP(ctx, u, pic)
}

// aacConfig is what tolk's AAC encoder makes: AAC-LC, 48 kHz, mono.
var aacConfig = mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: audio.SampleRate, ChannelConfig: 1}

// rtmpConn is a connection to an RTMP or RTMPS server.
type rtmpConn struct {
	c     gortmplib.Conn
	nc    net.Conn // for the write deadline; nil in benchmarks
	w     *gortmplib.Writer
	video *gortmplib.Track
	audio *gortmplib.Track
}

// rtmpTarget puts a platform's URL (rtmp://host/APP/KEY, the key possibly
// with a query) in the form gortmplib splits into the application it
// connects to and the stream it publishes (rtmp://host/APP#KEY).
func rtmpTarget(u *url.URL) *url.URL {
	t := *u
	path := strings.TrimPrefix(t.Path, "/")
	i := strings.LastIndex(path, "/")
	key := path[i+1:]
	if t.RawQuery != "" {
		key += "?" + t.RawQuery
	}
	t.Path, t.RawPath, t.RawQuery, t.Fragment, t.RawFragment = "/"+path[:max(i, 0)], "", "", key, ""
	return &t
}

func dialRTMP(ctx context.Context, u *url.URL, pic *picture) (conn, error) {
	c := &gortmplib.Client{URL: rtmpTarget(u), Publish: true,
		DialContext: (&net.Dialer{KeepAlive: 15 * time.Second}).DialContext}
	if err := c.Initialize(ctx); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	rc := &rtmpConn{c: c, nc: c.NetConn(), audio: &gortmplib.Track{Codec: &codecs.MPEG4Audio{Config: &aacConfig}}}
	tracks := []*gortmplib.Track{}
	if pic != nil {
		rc.video = &gortmplib.Track{Codec: &codecs.H264{SPS: pic.sps, PPS: pic.pps}}
		tracks = append(tracks, rc.video)
	}
	tracks = append(tracks, rc.audio)
	rc.w = &gortmplib.Writer{Conn: c, Tracks: tracks}
	if d, ok := ctx.Deadline(); ok {
		_ = c.NetConn().SetDeadline(d)
	}
	if err := rc.w.Initialize(); err != nil {
		c.Close()
		return nil, fmt.Errorf("announce the tracks: %w", err)
	}
	_ = c.NetConn().SetDeadline(time.Time{})
	return rc, nil
}

// deadline bounds the next write: a platform that stops reading fails the
// connection instead of holding the push.
func (r *rtmpConn) deadline() {
	if r.nc != nil {
		_ = r.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	}
}

func (r *rtmpConn) writeVideo(pts, dts time.Duration, au [][]byte) error {
	r.deadline()
	return r.w.WriteH264(r.video, pts, dts, au)
}

func (r *rtmpConn) writeAudio(pts time.Duration, frame []byte) error {
	r.deadline()
	return r.w.WriteMPEG4Audio(r.audio, pts, frame)
}

func (r *rtmpConn) sent() uint64 { return r.c.BytesSent() }

func (r *rtmpConn) close() error {
	if r.nc != nil {
		return r.nc.Close()
	}
	return nil
}
