package web

import (
	"math"
	"net/http"
	"sort"
	"time"

	"tolk/captions"
	"tolk/internal/media"
	"tolk/internal/recording"
	"tolk/internal/restream"
	"tolk/interpreter"
	"tolk/mixer"
)

// LanguageSettings are a language's live controls.
type LanguageSettings struct {
	// DuckDB is how far the floor goes down under the voice; absent for the
	// floor rendition, which is never ducked.
	DuckDB      *float64 `json:"duck_db,omitempty"`
	VoiceGainDB *float64 `json:"voice_gain_db,omitempty"`
	FloorGainDB float64  `json:"floor_gain_db"`
}

// Meter is a level reading in dBFS (loudness in LUFS).
type Meter struct {
	PeakDB        float64 `json:"peak_db"`
	RMSDB         float64 `json:"rms_db"`
	ShortTermLUFS float64 `json:"short_term_lufs"`
}

// Listeners counts who listens to a language now, by protocol.
type Listeners struct {
	// WebRTC counts the WHEP peers on the language's track.
	WebRTC int64 `json:"webrtc"`
	// HLS counts the players that reported playing the language over HLS
	// in the last ViewerTimeout (the watch page reports; other players and
	// viewers behind a cache that does not forward reports are not seen).
	HLS int64 `json:"hls"`
}

// InterpreterStatus is one interpreter of a booth as the producer sees them.
type InterpreterStatus struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Connected bool   `json:"connected"`
	// Mic is "on", "off" or "cough" (held while the mic is on).
	Mic   string `json:"mic"`
	OnAir bool   `json:"on_air"`
	// Input is what they hear as source: "floor" or "relay:TAG".
	Input string `json:"input,omitempty"`
	// LevelDB is their microphone as the server receives it.
	LevelDB *float64 `json:"level_db,omitempty"`
	LinkQuality
	// JitterBuffer is the server's receiver of their microphone.
	JitterBuffer *MicStatus `json:"jitter_buffer,omitempty"`
}

// MicStatus is one booth microphone's jitter buffer.
type MicStatus struct {
	Packets      uint64  `json:"packets"`
	Lost         uint64  `json:"lost"`
	FECRecovered uint64  `json:"fec_recovered"`
	Concealed    uint64  `json:"concealed"`
	Late         uint64  `json:"late"`
	Underruns    uint64  `json:"underruns"`
	DepthMS      float64 `json:"depth_ms"`
	TargetMS     float64 `json:"target_ms"`
}

// BoothStatus is a booth's state beside its interpreters.
type BoothStatus struct {
	// Muted is the producer's mute: the language carries the floor alone.
	Muted      bool                  `json:"muted"`
	DirectTake bool                  `json:"direct_take"`
	Handover   *interpreter.Handover `json:"handover"`
	// Warning is "two_mics_open" while two interpreters' mics are open.
	Warning *string `json:"warning"`
	// PTS is the program time the booth's state is mixed from.
	PTS int64 `json:"pts"`
	// Resume names the interpreter lost while on air (a dropped connection
	// or a restart of the server) and until when their return puts them
	// back on air; null when nobody is awaited.
	Resume *interpreter.Resume `json:"resume"`
}

// CaptionStatus is a language's recognizer as the producer sees it.
type CaptionStatus struct {
	Available bool `json:"available"`
	// Running is true while a recognizer stream is open.
	Running   bool       `json:"running"`
	LastCue   string     `json:"last_cue,omitempty"`
	LastCueAt *time.Time `json:"last_cue_at,omitempty"`
	// LagMS is how far the last cue trailed the audio.
	LagMS     float64 `json:"lag_ms"`
	Cues      uint64  `json:"cues"`
	Errors    uint64  `json:"errors"`
	Dropped   uint64  `json:"dropped"`
	LastError string  `json:"last_error,omitempty"`
	// Fallback, for an interpreted language with captions.fallback, counts
	// the floor's translated cues shown while nobody was on air and those
	// held back because an interpreter was.
	Fallback *FallbackStatus `json:"fallback,omitempty"`
}

// FallbackStatus counts a language's fallback captions.
type FallbackStatus struct {
	Shown uint64 `json:"shown"`
	Held  uint64 `json:"held"`
}

// fallbackCounter is a caption feed with a machine-translation fallback.
type fallbackCounter interface {
	Fallback() (shown, held uint64)
}

// feedStatus is a caption feed's status.
func feedStatus(feed CaptionFeed) CaptionStatus {
	cs := captionStatus(feed.Stats())
	if f, ok := feed.(fallbackCounter); ok {
		shown, held := f.Fallback()
		cs.Fallback = &FallbackStatus{Shown: shown, Held: held}
	}
	return cs
}

// LanguageStatus is one language as the producer sees it.
type LanguageStatus struct {
	Tag   string `json:"tag"`
	Name  string `json:"name"`
	Floor bool   `json:"floor"`
	// OnAir names the interpreter on air; null while the language carries
	// the floor alone.
	OnAir *string `json:"on_air"`
	// ProgramDBFS is the peak of what listeners hear over the last 300 ms.
	ProgramDBFS float64 `json:"program_dbfs"`
	// DuckDB is the ducking applied to the floor bed now (0 = full level).
	DuckDB float64 `json:"duck_db"`
	// Listeners counts who listens, by protocol.
	Listeners Listeners `json:"listeners"`
	// Interpreters are the booth's members, connected or not.
	Interpreters []InterpreterStatus `json:"interpreters"`
	// Settings are the controls in force.
	Settings LanguageSettings `json:"settings"`
	// Program is the meter of what listeners hear.
	Program Meter `json:"program"`
	// VoiceDB is the clean voice's level (the booth's on-air interpreter);
	// absent for the floor rendition.
	VoiceDB *float64 `json:"voice_db,omitempty"`
	// VoiceCut is true while the on-air interpreter's link is cut (no
	// audio for over 100 ms with the mic open: the floor is back at full);
	// VoiceCuts counts the cuts. Absent for the floor rendition.
	VoiceCut  *bool   `json:"voice_cut,omitempty"`
	VoiceCuts *uint64 `json:"voice_cuts,omitempty"`
	// FloorBedDB is the floor as it goes into the mix, after its gain and
	// the ducking.
	FloorBedDB float64 `json:"floor_bed_db"`
	// Ducking is true while the voice holds the floor down.
	Ducking   bool    `json:"ducking"`
	LimiterDB float64 `json:"limiter_db"`
	Frames    uint64  `json:"frames"`
	// Latency is measured per path (see LatencyStatus).
	Latency LatencyStatus `json:"latency"`
	// Booth is the language's booth; absent for the floor rendition.
	Booth    *BoothStatus  `json:"booth,omitempty"`
	Captions CaptionStatus `json:"captions"`
	// Outputs are the mix's tracks with every reader's counts (HLS, WHEP,
	// booth feeds, captions): who falls behind and drops.
	Outputs []media.TrackStats `json:"outputs"`
	// Rebroadcast is true when the language plays a recorded run: it has no
	// mix, booth or controls, and no meters (the run's packets go out as
	// recorded, undecoded).
	Rebroadcast bool `json:"rebroadcast,omitempty"`
}

// LatencyStatus is a language's glass-to-glass latency, measured per path.
// Pages measure their own delay behind the program (RTP timestamps and HLS
// program date-times are program time; the server's clock and program time
// come with every report's answer and every booth pong); the server adds
// what it measures itself.
type LatencyStatus struct {
	// FloorToEarMS: the floor entering the program to the ear of the
	// interpreter on air (or, with nobody on air, the median of the booth's
	// connected members), as their booth page measures it.
	FloorToEarMS *float64 `json:"floor_to_ear_ms"`
	// MouthToWebRTCMS: the on-air interpreter's mouth to the median WebRTC
	// listener's ear: the microphone's frame (20 ms), half the link's RTCP
	// round trip, the jitter buffer's depth, half a tick on average, and the
	// listeners' reported delay behind the program. Absent without an
	// interpreter on air or a WebRTC listener that reports.
	MouthToWebRTCMS *float64 `json:"mouth_to_webrtc_ms"`
	// WebRTC and HLS are the delays behind the program that players report.
	WebRTC ViewerLatency `json:"webrtc"`
	HLS    ViewerLatency `json:"hls"`
}

// FloorStatus is the floor as the producer sees it.
type FloorStatus struct {
	// State is "live", "missing" or "ended".
	State  string `json:"state"`
	Source string `json:"source"`
	// Level is the floor rendition's meter.
	Level Meter `json:"level"`
	// Inputs are the floor inputs the producer switches between, each with
	// its own meter and quality.
	Inputs []FloorInput `json:"inputs"`
	// Switches counts the switches between inputs.
	Switches uint64 `json:"switches"`
}

// EventStatus is GET /api/events/{event}/status, and the console's "status"
// message.
type EventStatus struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// At is when the status was read; PTS the program time then.
	At        time.Time        `json:"at"`
	PTS       int64            `json:"pts"`
	Floor     FloorStatus      `json:"floor"`
	Languages []LanguageStatus `json:"languages"`
	// Latency is what players report, all languages together.
	Latency struct {
		WebRTC ViewerLatency `json:"webrtc"`
		HLS    ViewerLatency `json:"hls"`
	} `json:"latency"`
	// Recording is this run's recording: its state and run, its size,
	// the free disk and when it will be full against the scheduled end.
	Recording recording.Status `json:"recording"`
	// Pushes are the outputs to platforms (config outputs:), stream keys
	// redacted.
	Pushes []restream.Status `json:"pushes"`
	// CaptionOnly are the languages with captions and no audio (the
	// floor's, machine-translated), in the order of the event's captions.
	CaptionOnly []CaptionOnlyStatus `json:"caption_only"`
}

// CaptionOnlyStatus is a language that has captions but no audio.
type CaptionOnlyStatus struct {
	Tag                string        `json:"tag"`
	Name               string        `json:"name"`
	MachineTranslation bool          `json:"machine_translation"`
	Captions           CaptionStatus `json:"captions"`
}

// eventStatus reads every language of st.
func (s *Server) eventStatus(st *eventState) EventStatus {
	ev := st.ev
	out := EventStatus{ID: ev.ID(), Title: ev.Title(), At: time.Now().UTC(), PTS: ev.ProgramTime(),
		Floor: FloorStatus{State: ev.FloorState(), Source: ev.Config().Floor.Source, Inputs: ev.FloorInputs(),
			Switches: ev.Stats().Switches}, Languages: []LanguageStatus{}}
	for _, in := range out.Floor.Inputs {
		if in.OnProgram {
			out.Floor.Source = in.Source
		}
	}
	out.Recording = ev.Recording()
	out.Pushes = pushesOf(ev)
	out.CaptionOnly = captionOnlyStatus(ev)
	vs := st.viewers.summary(time.Now())
	out.Latency.WebRTC, out.Latency.HLS = vs.latency["webrtc"][""], vs.latency["hls"][""]
	for _, rd := range ev.Renditions() {
		ls, ok := languageStatus(st, rd, vs)
		if !ok {
			continue
		}
		if rd.Floor {
			out.Floor.Level = ls.Program
		}
		out.Languages = append(out.Languages, ls)
	}
	return out
}

// languageStatus reads one language's controls, meters and counts.
func languageStatus(st *eventState, rd Rendition, vs viewerSummary) (LanguageStatus, bool) {
	m, ok := st.ev.Mix(rd.Tag)
	if !ok {
		return replayLanguageStatus(st, rd, vs)
	}
	set, mt := m.Settings(), m.Meters()
	ls := LanguageStatus{
		Tag: rd.Tag, Name: rd.Name, Floor: rd.Floor,
		ProgramDBFS: round(mt.PeakDB), DuckDB: round(mt.DuckDB),
		Listeners:    Listeners{HLS: vs.hls[rd.Tag]},
		Latency:      LatencyStatus{WebRTC: vs.latency["webrtc"][rd.Tag], HLS: vs.latency["hls"][rd.Tag]},
		Interpreters: []InterpreterStatus{},
		Settings:     LanguageSettings{FloorGainDB: round(set.FloorGainDB)},
		Program:      Meter{PeakDB: round(mt.PeakDB), RMSDB: round(mt.RMSDB), ShortTermLUFS: round(mt.ShortTermLUFS)},
		FloorBedDB:   round(mt.FloorBedDB), Ducking: mt.VoiceActive, LimiterDB: round(mt.LimiterDB),
		Frames:  m.Stats().Frames,
		Outputs: []media.TrackStats{m.Packets().Stats(), m.PCM().Stats()},
	}
	if !rd.Floor {
		d, g := round(set.DuckDB), round(set.VoiceGainDB)
		ls.Settings.DuckDB, ls.Settings.VoiceGainDB = &d, &g
	}
	if l, ok := st.langs[rd.Tag]; ok {
		ls.Listeners.WebRTC = l.out.Listeners()
	}
	if v, ok := st.ev.Voice(rd.Tag); ok {
		db := round(v.LevelDB())
		ls.VoiceDB = &db
		cut, cuts := v.Cut(), v.Cuts()
		ls.VoiceCut, ls.VoiceCuts = &cut, &cuts
	}
	if feed, ok := st.ev.CaptionFeed(rd.Tag); ok {
		ls.Captions = feedStatus(feed)
	}
	if b, ok := st.ev.Booth(rd.Tag); ok {
		if snap, err := b.Snapshot(); err == nil {
			ls.Booth = &BoothStatus{Muted: snap.Muted, DirectTake: snap.DirectTake, Handover: snap.Handover,
				Warning: snap.Warning, PTS: snap.PTS, Resume: snap.Resume}
			ls.Interpreters = interpreters(snap, st.links.of(rd.Tag))
			for _, it := range ls.Interpreters {
				// A muted booth keeps its floor holder, but nobody is heard.
				if it.OnAir && !snap.Muted {
					name := it.Name
					ls.OnAir = &name
				}
			}
			ls.Latency.FloorToEarMS, ls.Latency.MouthToWebRTCMS = boothLatency(ls.Interpreters, ls.Latency.WebRTC)
		}
	}
	return ls, true
}

// replayLanguageStatus is a language of a rebroadcast, which has no mix: who
// listens, how late, and its recorded captions.
func replayLanguageStatus(st *eventState, rd Rendition, vs viewerSummary) (LanguageStatus, bool) {
	rb, ok := st.ev.(rebroadcaster)
	if !ok {
		return LanguageStatus{}, false
	}
	if _, ok := rb.Rebroadcast(); !ok {
		return LanguageStatus{}, false
	}
	silent := round(mixer.SilenceDB)
	ls := LanguageStatus{
		Tag: rd.Tag, Name: rd.Name, Floor: rd.Floor, Rebroadcast: true,
		ProgramDBFS: silent, FloorBedDB: silent, LimiterDB: 0,
		Program:      Meter{PeakDB: silent, RMSDB: silent, ShortTermLUFS: silent},
		Listeners:    Listeners{HLS: vs.hls[rd.Tag]},
		Latency:      LatencyStatus{WebRTC: vs.latency["webrtc"][rd.Tag], HLS: vs.latency["hls"][rd.Tag]},
		Interpreters: []InterpreterStatus{},
		Outputs:      []media.TrackStats{},
	}
	if l, ok := st.langs[rd.Tag]; ok {
		ls.Listeners.WebRTC = l.out.Listeners()
	}
	if feed, ok := st.ev.CaptionFeed(rd.Tag); ok {
		ls.Captions = feedStatus(feed)
	}
	return ls, true
}

// captionOnlyStatus reads the captions of the languages without audio.
func captionOnlyStatus(ev Event) []CaptionOnlyStatus {
	out := []CaptionOnlyStatus{}
	for _, rd := range captionOnly(ev) {
		cs := CaptionOnlyStatus{Tag: rd.Tag, Name: rd.Name, MachineTranslation: rd.MachineTranslated}
		if feed, ok := ev.CaptionFeed(rd.Tag); ok {
			cs.Captions = feedStatus(feed)
		}
		out = append(out, cs)
	}
	return out
}

// interpreters joins a booth's members with their links.
func interpreters(snap interpreter.Snapshot, links map[string]*boothLink) []InterpreterStatus {
	out := []InterpreterStatus{}
	for _, m := range snap.Members {
		it := InterpreterStatus{ID: m.ID, Name: m.Name, Connected: m.Connected, OnAir: m.OnAir, Input: m.Input, Mic: "off"}
		switch {
		case m.Mic && m.Cough:
			it.Mic = "cough"
		case m.Mic:
			it.Mic = "on"
		}
		if l, ok := links[m.ID]; ok && m.Connected {
			db := round(l.mic.Level())
			it.LevelDB = &db
			it.LinkQuality = l.quality()
			ms := l.mic.Stats()
			it.JitterBuffer = &MicStatus{Packets: ms.Packets, Lost: ms.Lost, FECRecovered: ms.FECRecovered,
				Concealed: ms.Concealed, Late: ms.Late, Underruns: ms.Underruns, DepthMS: round(ms.DepthMS), TargetMS: round(ms.TargetMS)}
		}
		out = append(out, it)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Connected && !out[j].Connected })
	return out
}

// boothLatency works out the booth's paths from its interpreters' links and
// the WebRTC listeners' reports.
func boothLatency(its []InterpreterStatus, webrtc ViewerLatency) (floorToEar, mouthToWebRTC *float64) {
	var ears []float64
	for _, it := range its {
		if it.FloorToEarMS == nil {
			continue
		}
		if it.OnAir {
			ears = []float64{*it.FloorToEarMS}
			break
		}
		ears = append(ears, *it.FloorToEarMS)
	}
	if len(ears) > 0 {
		sort.Float64s(ears)
		floorToEar = &ears[len(ears)/2]
	}
	for _, it := range its {
		if !it.OnAir || it.RTTMS == nil || it.JitterBuffer == nil || webrtc.Players == 0 {
			continue
		}
		const frameMS, halfTickMS = 20, 10
		v := math.Round(frameMS + *it.RTTMS/2 + it.JitterBuffer.DepthMS + halfTickMS + webrtc.MedianMS)
		mouthToWebRTC = &v
	}
	return floorToEar, mouthToWebRTC
}

func captionStatus(ps captions.PipelineStats) CaptionStatus {
	cs := CaptionStatus{Available: ps.Backend, Running: ps.Running, LastCue: ps.LastCue, LagMS: math.Round(ps.LagMS),
		Cues: ps.Cues, Errors: ps.Errors, Dropped: ps.Dropped, LastError: ps.LastError}
	if !ps.LastCueAt.IsZero() {
		at := ps.LastCueAt.UTC()
		cs.LastCueAt = &at
	}
	return cs
}

// round keeps readings to 0.1 dB: finer is noise on a meter.
func round(x float64) float64 { return math.Round(x*10) / 10 }

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	st, ok := s.producerAccess(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.eventStatus(st))
}
