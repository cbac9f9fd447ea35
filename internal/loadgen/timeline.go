package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtp"

	"tolk/internal/audio"
	"tolk/internal/fmp4"
)

// PartStart returns the program time (samples at 48 kHz, as tolk stamps its
// fragments) of a part's first sample, from its moof's tfdt.
func PartStart(part []byte) (int64, error) {
	start, _, err := PartSpan(part)
	return start, err
}

// PartSpan returns the program time of a part's first sample and the time
// just after its last (its first moof's first track).
func PartSpan(part []byte) (start, end int64, err error) {
	boxes, err := fmp4.Children(part)
	if err != nil {
		return 0, 0, err
	}
	for _, b := range boxes {
		if b.Type != "moof" {
			continue
		}
		m, err := fmp4.ParseMoof(b.Body, func(uint32) (uint32, uint32) { return audio.FrameSamples, 0 })
		if err != nil {
			return 0, 0, err
		}
		if len(m.Trafs) == 0 || len(m.Trafs[0].Samples) == 0 {
			return 0, 0, errors.New("part without samples")
		}
		return m.Trafs[0].Start(), m.Trafs[0].End(), nil
	}
	return 0, 0, errors.New("part without a moof")
}

// Epoch finds the wall-clock time of program time zero from a live media
// playlist: its newest dated part's program date time less that part's
// program time. WHEP packets carry program time as their RTP timestamp, so
// the epoch dates them too.
func Epoch(ctx context.Context, client *http.Client, playlist string) (time.Time, error) {
	b, err := fetch(ctx, client, playlist)
	if err != nil {
		return time.Time{}, err
	}
	p, ok := ParsePlaylist(b)
	if !ok || len(p.Parts) == 0 {
		return time.Time{}, fmt.Errorf("%s: no live part yet", playlist)
	}
	last := p.Parts[len(p.Parts)-1]
	if last.PDT.IsZero() {
		return time.Time{}, fmt.Errorf("%s: parts without a program date time", playlist)
	}
	body, err := fetch(ctx, client, playlist[:strings.LastIndexByte(playlist, '/')+1]+last.URI)
	if err != nil {
		return time.Time{}, err
	}
	pts, err := PartStart(body)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", last.URI, err)
	}
	return last.PDT.Add(-audio.Duration(pts)), nil
}

// ProgramTime returns the wall-clock time of an RTP timestamp of a packet
// received at `at`: the 32-bit timestamp is the program time modulo 2^32
// samples (24.8 hours), unwrapped to the turn nearest the arrival.
func ProgramTime(epoch time.Time, ts uint32, at time.Time) time.Time {
	now := int64(at.Sub(epoch) / (time.Second / audio.SampleRate))
	const turn = int64(1) << 32
	pts := now - now%turn + int64(ts)
	switch {
	case pts-now > turn/2:
		pts -= turn
	case now-pts > turn/2:
		pts += turn
	}
	return epoch.Add(audio.Duration(pts))
}

// WHEPStats are what WHEP listeners received.
type WHEPStats struct {
	// Packets received; Lost the sequence numbers skipped (a gap on the
	// listener's timeline).
	Packets, Lost int64
	// Latency is, per packet, its arrival less its program time's
	// wall-clock time (ProgramTime).
	Latency []time.Duration
}

// WHEPSink gathers what listeners receive; Take empties it.
type WHEPSink struct {
	mu sync.Mutex
	s  WHEPStats
	// Clock returns the wall-clock time of program time zero (see
	// HLSSink.Clock); nil: no latency is measured.
	Clock func() time.Time
}

// Take returns what was gathered since the last Take and starts afresh.
func (k *WHEPSink) Take() WHEPStats {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.s
	k.s = WHEPStats{}
	return s
}

// Receive reads one listener's packets until they end or ctx does, into
// the sink. Latency is measured on every tenth packet, enough for p99 and
// light on the sink's lock.
func (k *WHEPSink) Receive(ctx context.Context, packets <-chan *rtp.Packet) {
	var (
		last uint16
		have bool
		n    int
	)
	for {
		select {
		case p, ok := <-packets:
			if !ok {
				return
			}
			at := time.Now()
			var lost int64
			if have {
				if d := p.SequenceNumber - last; d > 1 && d < 1<<15 {
					lost = int64(d - 1)
				}
			}
			if !have || p.SequenceNumber-last < 1<<15 {
				last, have = p.SequenceNumber, true
			}
			n++
			k.mu.Lock()
			k.s.Packets++
			k.s.Lost += lost
			if k.Clock != nil && n%10 == 0 {
				k.s.Latency = append(k.s.Latency, at.Sub(ProgramTime(k.Clock(), p.Timestamp, at)))
			}
			k.mu.Unlock()
		case <-ctx.Done():
			return
		}
	}
}
