package web

import (
	"net/http"
	"time"

	"tolk/captions"
	"tolk/internal/config"
	"tolk/internal/media"
	"tolk/internal/recording"
	"tolk/interpreter"
	"tolk/mixer"
	"tolk/web/hls"
)

// Event is a running event as the server needs it: composed above web (in
// cmd/tolk/event), handed to AddEvent.
type Event interface {
	ID() string
	Title() string
	Config() *config.Event
	// Renditions lists the languages a viewer can pick, the floor first.
	Renditions() []Rendition
	// CaptionRenditions lists the languages that have captions, the floor first.
	CaptionRenditions() []Rendition
	Mix(tag string) (*mixer.Mix, bool)
	Booth(tag string) (*interpreter.Booth, bool)
	// Voice is an interpreted language's clean voice: what its mix takes as
	// the interpreter's voice, and what other booths hear as relay.
	Voice(tag string) (*interpreter.Voice, bool)
	CaptionFeed(tag string) (CaptionFeed, bool)
	Subtitles(tag string) (*hls.Subtitles, bool)
	// Listeners is a language's WebRTC output, which WHEP sessions take.
	Listeners(tag string) (*ListenerTrack, bool)
	// BoothFeeds are what booth sessions hear: the floor and the relays.
	BoothFeeds() *BoothFeeds
	// HLS serves the event's LL-HLS below /hls/{event}/.
	HLS() http.Handler
	// FloorInputs describes the floor inputs, the one on the program marked;
	// SwitchFloor puts another on the program (a short cross-fade);
	// WHIPFloor is the input a WHIP publisher feeds, if one is configured.
	FloorInputs() []FloorInput
	SwitchFloor(id string) error
	WHIPFloor() (FloorWriter, bool)
	// FloorPreview is one floor input alone, for the producer to hear.
	FloorPreview(id string) (*ListenerTrack, bool)
	// ProgramTime is the program time (48 kHz samples) of the latest tick;
	// ProgramAt the program time being played at t (see media.Timeline.At);
	// Epoch the wall-clock time of program time zero, once fixed.
	ProgramTime() int64
	ProgramAt(t time.Time) int64
	Epoch() (time.Time, bool)
	// FloorState is "live", "missing" or "ended".
	FloorState() string
	Stats() EventStats
	// Recording is the state of this run's recording (State "off" when
	// it is not recorded); Recordings the library of the event's recorded
	// runs (nil when the server keeps none).
	Recording() recording.Status
	Recordings() *recording.Library
}

// CaptionFeed is one language's live captions: the track of partial and
// final cues on the program timeline, and its counts. A recognizer's
// pipeline (*captions.Pipeline) is one; a rebroadcast plays recorded cues.
type CaptionFeed interface {
	Cues() *media.Track[captions.Cue]
	Stats() captions.PipelineStats
}

// rebroadcaster is an event that plays a recorded run out again instead of
// a live floor (cmd/tolk/event): it has no booths. Run names the run,
// EVENT/RUN.
type rebroadcaster interface {
	Rebroadcast() (run string, ok bool)
}

// FloorWriter takes one 20 ms floor frame: the decoded samples and the Opus
// packet they came as (nil if none). It never blocks.
type FloorWriter interface {
	WriteFloorPacket(samples []float32, packet []byte)
}

// FloorInput is one floor input as the producer sees it.
type FloorInput struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Source string `json:"source"`
	// State is "live", "missing" or "ended".
	State     string `json:"state"`
	OnProgram bool   `json:"on_program"`
	// Quality is the speaker's input quality for the interpreters' sake:
	// loudness, peak, clipping, noise floor and SNR, audio bandwidth.
	Quality  mixer.InputQuality `json:"quality"`
	Frames   uint64             `json:"frames"`
	Dropped  uint64             `json:"dropped"`
	Restarts uint64             `json:"restarts"`
	// Playout is a live (SRT or RTMP) input's jitter buffer; nil for other
	// inputs (a file plays on the clock, WHIP has its own buffer).
	Playout *PlayoutStats `json:"playout,omitempty"`
}

// PlayoutStats are a live floor input's jitter buffer counts since the
// event started, every publisher together.
type PlayoutStats struct {
	// Dropped counts frames a full buffer threw away (a backlog released at
	// once after a network stall); Underruns the times a frame was due and
	// none had come (the sender stalled: the floor waits the playout delay
	// again).
	Dropped   uint64 `json:"dropped"`
	Underruns uint64 `json:"underruns"`
}

// Rendition is one language a viewer can pick.
type Rendition struct {
	Tag  string
	Name string
	// Floor is the original language: the floor itself, never ducked.
	Floor bool
	// MachineTranslated says the language's captions are the floor's,
	// machine-translated (no interpreter's speech recognized).
	MachineTranslated bool
}

// EventStats is a snapshot of an event's counters.
type EventStats struct {
	mixer.ProgramStats // the program clock's ticks and floor frames
	IngestRestarts     uint64
	// OutputDropped counts packets lost by the HLS output of each language.
	OutputDropped map[string]uint64
}
