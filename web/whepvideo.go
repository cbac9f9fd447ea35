package web

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"tolk/internal/media"
	"tolk/internal/rtc"
)

// maxVideoLead bounds how long one frame is held for its time: a frame
// further ahead means the program clock has not started or jumped, and
// holding it longer would stall the picture.
const maxVideoLead = time.Second

// VideoOutput is the program's video as WHEP viewers receive it: one
// reader of the program's video track, paced on the program clock so that
// each frame leaves when the audio of its instant does (the mixes send a
// packet at the tick of its program time), packetized once per codec and
// written to every peer by an rtc.VideoTrack. A new viewer starts at the
// next key frame (the publisher's key frame interval bounds the wait: pass-
// through video cannot make one on demand, so picture loss requests from
// viewers are only counted). It is an output of the event; WHEP sessions
// add and remove the peers.
type VideoOutput struct {
	track *rtc.VideoTrack
	sub   *media.Reader[media.Unit]
	at    func(time.Time) int64
	quit  chan struct{}
	done  chan struct{}
	once  sync.Once

	keyRequests atomic.Uint64
}

// videoEvent is an event whose program has a video track (a live event;
// a rebroadcast has none).
type videoEvent interface {
	VideoOutput() (*VideoOutput, bool)
}

// NewVideoOutput sends frames (a reader of the program's video) to the
// WHEP peers until Close; programAt is the program time being played at a
// wall-clock time (Event.ProgramAt).
func NewVideoOutput(frames *media.Reader[media.Unit], programAt func(time.Time) int64, log *slog.Logger) *VideoOutput {
	v := &VideoOutput{track: rtc.NewVideoTrack(), sub: frames, at: programAt, quit: make(chan struct{}), done: make(chan struct{})}
	go v.run(log)
	return v
}

// run paces and writes the frames; it exits when the reader closes (Close,
// or the track closing).
func (v *VideoOutput) run(log *slog.Logger) {
	defer close(v.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var dropped uint64
	for u := range v.sub.C {
		if d := v.sub.Dropped(); d != dropped {
			// Frames were lost before us: nobody may decode on past them.
			dropped = d
			v.track.Resync()
		}
		if v.track.Peers() == 0 {
			continue
		}
		// Frames leave in decode order, each at its decode time: it is at
		// the viewer before its presentation time.
		if now := v.at(time.Now()); now >= 0 && u.DTS > now {
			timer.Reset(min(media48(u.DTS-now), maxVideoLead))
			select {
			case <-timer.C:
			case <-v.quit:
				return
			}
		}
		if err := v.track.WriteFrame(u); err != nil {
			log.Debug("whep video write", "err", err)
		}
	}
}

// media48 is a duration of 48 kHz samples.
func media48(samples int64) time.Duration { return time.Duration(samples) * time.Second / 48000 }

// VideoStats are the output's counts: frames taken and dropped by its
// reader, what the track sent, and the viewers' key frame requests.
type VideoStats struct {
	Reader      media.ReaderStats
	Track       rtc.VideoStats
	KeyRequests uint64
}

// Stats returns the output's counts.
func (v *VideoOutput) Stats() VideoStats {
	return VideoStats{Reader: v.sub.Stats(), Track: v.track.Stats(), KeyRequests: v.keyRequests.Load()}
}

// Close stops sending and waits.
func (v *VideoOutput) Close() {
	v.once.Do(func() {
		close(v.quit)
		v.sub.Close()
	})
	<-v.done
}
