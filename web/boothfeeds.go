package web

import (
	"fmt"
	"sync"

	"github.com/pion/webrtc/v4"

	"tolk/internal/media"
	"tolk/internal/rtc"
	"tolk/interpreter"
)

// BoothFeeds are an event's shared outgoing tracks for booths: the floor as
// encoded for the floor rendition, and each booth's clean voice for relay.
// Each is written once and copied by pion to every booth that listens. A
// relay is encoded and forwarded only while some booth takes it as input:
// the voice's relay encoder costs more than its language's whole mix.
type BoothFeeds struct {
	floor    *webrtc.TrackLocalStaticRTP
	floorSub *media.Reader[media.Unit]
	floorEnd chan struct{}
	relay    map[string]*relayFeed
}

// relayFeed is one booth's clean voice as a shared track, with the number of
// sessions that take it as input.
type relayFeed struct {
	track *webrtc.TrackLocalStaticRTP
	voice *interpreter.Voice

	mu     sync.Mutex
	users  int
	closed bool
	sub    *media.Reader[media.Unit]
	end    chan struct{} // closed when the forwarding goroutine has returned
	seq    uint16        // RTP sequence, continued across stops and starts
}

// boothFeedQueue bounds each booth feed's backlog of packets (≈ 1 s).
const boothFeedQueue = 50

// NewBoothFeeds forwards floor (a reader of the floor rendition's packets) to
// a shared track until Close, and every booth's clean voice to its own while a
// session uses it. The event builds them with its other outputs.
func NewBoothFeeds(floor *media.Reader[media.Unit], voices map[string]*interpreter.Voice) (*BoothFeeds, error) {
	t, err := webrtc.NewTrackLocalStaticRTP(rtc.OpusCodec, "floor", "floor")
	if err != nil {
		floor.Close()
		return nil, fmt.Errorf("floor feed: %w", err)
	}
	f := &BoothFeeds{floor: t, floorSub: floor, relay: map[string]*relayFeed{}}
	for lang, v := range voices {
		t, err := webrtc.NewTrackLocalStaticRTP(rtc.OpusCodec, "relay-"+lang, "relay")
		if err != nil {
			floor.Close()
			return nil, fmt.Errorf("relay feed %s: %w", lang, err)
		}
		f.relay[lang] = &relayFeed{track: t, voice: v}
	}
	var seq uint16
	f.floorEnd = forwardUnits(floor, t, &seq)
	return f, nil
}

// forwardUnits writes the packets of sub to t until the subscription closes;
// the returned channel closes then. seq is the goroutine's until that moment.
func forwardUnits(sub *media.Reader[media.Unit], t *webrtc.TrackLocalStaticRTP, seq *uint16) chan struct{} {
	end := make(chan struct{})
	go func() {
		defer close(end)
		rtc.WriteUnits(sub, t, seq, nil, nil)
	}()
	return end
}

// useRelay returns lang's relay track (nil if lang has no booth), forwarding
// it from now on if no other session used it; releaseRelay undoes one useRelay.
func (f *BoothFeeds) useRelay(lang string) *webrtc.TrackLocalStaticRTP {
	r, ok := f.relay[lang]
	if !ok {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.users++
	if r.users == 1 && !r.closed {
		r.sub = r.voice.Packets().Read("relay", boothFeedQueue)
		r.end = forwardUnits(r.sub, r.track, &r.seq)
	}
	return r.track
}

func (f *BoothFeeds) releaseRelay(lang string) {
	r, ok := f.relay[lang]
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.users--
	if r.users == 0 {
		r.stop()
	}
}

// stop ends the forwarding goroutine, if one runs, and waits for it.
func (r *relayFeed) stop() {
	if r.sub == nil {
		return
	}
	r.sub.Close()
	<-r.end
	r.sub = nil
}

// Close stops forwarding and waits; later uses of a relay forward nothing.
func (f *BoothFeeds) Close() {
	f.floorSub.Close()
	<-f.floorEnd
	for _, r := range f.relay {
		r.mu.Lock()
		r.closed = true
		r.stop()
		r.mu.Unlock()
	}
}
