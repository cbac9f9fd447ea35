package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/pion/webrtc/v4"

	"tolk/internal/media"
	"tolk/internal/rtc"
)

// ListenerTrack is one language as its WebRTC listeners receive it: the
// mix's packets written once to a shared track, which pion copies to every
// peer, so a listener costs no encoding. It is an output of the event (the
// event attaches its reader); the server adds and removes the peers.
type ListenerTrack struct {
	track *webrtc.TrackLocalStaticRTP
	sub   *media.Reader[media.Unit]
	done  chan struct{}
	// listeners counts the WHEP peers on the track, monitors the consoles
	// hearing it: with neither, nothing is written.
	listeners, monitors atomic.Int64
}

// NewListenerTrack forwards packets (a reader of lang's mix) to a shared
// track until Close.
func NewListenerTrack(lang string, packets *media.Reader[media.Unit], log *slog.Logger) (*ListenerTrack, error) {
	track, err := webrtc.NewTrackLocalStaticRTP(rtc.OpusCodec, "audio-"+lang, "tolk-"+lang)
	if err != nil {
		packets.Close()
		return nil, fmt.Errorf("listener track %s: %w", lang, err)
	}
	l := &ListenerTrack{track: track, sub: packets, done: make(chan struct{})}
	go func() {
		// Exits when the reader closes: Close, or the mix closing its track.
		defer close(l.done)
		var seq uint16
		rtc.WriteUnits(l.sub, l.track, &seq, func() bool { return !l.Listening() }, func(err error) {
			if !errors.Is(err, context.Canceled) {
				log.Debug("listener track write", "lang", lang, "err", err)
			}
		})
	}()
	return l, nil
}

// Listening tells whether anyone (a listener or a console) takes the track.
func (l *ListenerTrack) Listening() bool { return l.listeners.Load()+l.monitors.Load() > 0 }

// Listeners is the number of peers on the track now.
func (l *ListenerTrack) Listeners() int64 { return l.listeners.Load() }

// Stats are the track's reader counts: what it took and what it dropped.
func (l *ListenerTrack) Stats() media.ReaderStats { return l.sub.Stats() }

// Close stops forwarding and waits. Peers on the track hear silence until
// their owner closes them.
func (l *ListenerTrack) Close() {
	l.sub.Close()
	<-l.done
}
