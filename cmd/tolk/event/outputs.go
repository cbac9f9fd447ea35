package event

import (
	"fmt"
	"sync"

	"tolk/captions"
	"tolk/internal/aac"
	"tolk/internal/audio"
	"tolk/internal/config"
	"tolk/internal/media"
	"tolk/internal/recording"
	"tolk/interpreter"
	"tolk/mixer"
	"tolk/web"
)

const (
	// outputQueue bounds each output's backlog of encoded packets (≈ 1 s).
	outputQueue = 50
	// captionQueue bounds the clean audio waiting for a recognizer (5 s): a
	// recognizer catching up after a pause must not lose words.
	captionQueue = 250
	// cueQueue bounds the cues waiting for the WebVTT rendition.
	cueQueue = 64
	// hlsVideoQueue bounds the video frames waiting for the LL-HLS
	// packager (≈ 2 s at 60 frames a second): frames may come ahead of
	// their audio.
	hlsVideoQueue = 128
	// videoQueue bounds each output's backlog of video frames (≈ 4 s at
	// 60 frames a second): frames may come ahead of their audio.
	videoQueue = 256
)

// outputs are every reader the event attaches to the program's tracks: this
// is the one place that says what consumes the program. An output added
// later (video, a push) is one more reader here. Each reader is
// bounded and drops and counts what its consumer cannot take, so no output
// can hold up a mix.
type outputs struct {
	// hls carries each language's packets to the LL-HLS packager.
	hls map[string]*media.Reader[media.Unit]
	// hlsVideo carries the program's video to the LL-HLS packager's video
	// rendition (nil without a program: a rebroadcast).
	hlsVideo *media.Reader[media.Unit]
	// listeners are each language's WebRTC output (WHEP sessions take it).
	listeners map[string]*web.ListenerTrack
	// video is the program's picture for WHEP sessions (nil without a
	// program: a rebroadcast).
	video *web.VideoOutput
	// feeds are what booths hear: the floor rendition, and each booth's
	// voice as relay while some booth takes it.
	feeds *web.BoothFeeds
	// previews are each floor input alone, for the producer to hear before
	// switching to it: a floor-mode mix the program feeds only while the
	// input's listener track has a listener.
	previews     map[string]*web.ListenerTrack
	previewMixes []*mixer.Mix
	// recognize carries each captioned language's clean audio (the floor, or
	// the booth's voice, never the mix) to its recognizer; webvtt carries
	// its final cues to the WebVTT rendition.
	recognize map[string]*media.Reader[media.Unit]
	webvtt    map[string]*media.Reader[captions.Cue]
	// recorder records the run: every language's packets as the other
	// outputs send them (recAudio, the floor's included) and every
	// captioned language's final cues (recCues). Nil when not recorded.
	recorder *recording.Recorder
	recAudio map[string]*media.Reader[media.Unit]
	recCues  map[string]*media.Reader[captions.Cue]
	// recVideo carries the program's video to the recorder (nil without
	// a program: a rebroadcast, or no recording).
	recVideo *media.Reader[media.Unit]
	// aacPCM carries each language's mix, as PCM, to the AAC encoder,
	// which encodes it once for the LL-HLS AAC group (hls.aac). Nil when
	// AAC is off, and in a rebroadcast, whose run holds Opus only.
	aacPCM map[string]*media.Reader[media.Unit]
	aac    *aac.Encoder
	// aacTracks hand the encoder's frames on per language, to the pushes;
	// push are the outputs to platforms (restream.go).
	aacTracks *aac.Tracks
	push      pushes

	// wg counts the goroutines Start runs, one per reader above; media
	// counts those of them that write the HLS tree (audio and WebVTT),
	// which a rebroadcast that ends waits for before ending its playlists.
	wg, media sync.WaitGroup
}

// packets is the track of a language's packets as every output takes
// them: its mix's, or in a rebroadcast the recorded run's.
func (e *Event) packets(tag string) *media.Track[media.Unit] {
	if e.player != nil {
		t, _ := e.player.Packets(tag)
		return t
	}
	return e.mixes[tag].Packets()
}

// attachOutputs attaches every output to its track. Outputs that write to a
// network session start at once and write nothing while nobody listens; the
// others start with Start.
func (e *Event) attachOutputs() error {
	o := &e.out
	o.hls = map[string]*media.Reader[media.Unit]{}
	o.listeners = map[string]*web.ListenerTrack{}
	o.recognize = map[string]*media.Reader[media.Unit]{}
	o.webvtt = map[string]*media.Reader[captions.Cue]{}
	voices := map[string]*interpreter.Voice{}
	for _, r := range e.renditions {
		packets := e.packets(r.Tag)
		o.hls[r.Tag] = packets.Read("hls", outputQueue)
		if o.hlsVideo == nil && e.program != nil {
			o.hlsVideo = e.program.Video().Read("hls", hlsVideoQueue)
		}
		l, err := web.NewListenerTrack(r.Tag, packets.Read("whep", outputQueue), e.log)
		if err != nil {
			return err
		}
		o.listeners[r.Tag] = l
		if v, ok := e.voices[r.Tag]; ok {
			voices[r.Tag] = v
		}
		c, ok := e.captions[r.Tag]
		if !ok {
			continue
		}
		switch v, voiced := e.voices[r.Tag]; {
		case c.pipeline == nil: // a rebroadcast (the cues are recorded) or a translation
		case voiced:
			o.recognize[r.Tag] = v.PCM().Read("captions", captionQueue)
		default:
			o.recognize[r.Tag] = e.mixes[r.Tag].PCM().Read("captions", captionQueue)
		}
	}
	for tag, c := range e.captions { // languages with audio and those without
		o.webvtt[tag] = c.feed.Cues().Read("webvtt", cueQueue)
	}
	if e.program != nil {
		o.video = web.NewVideoOutput(e.program.Video().Read("whep", videoQueue), e.ProgramAt, e.log)
	}
	if e.player == nil { // a rebroadcast has no booths
		floor := e.packets(e.renditions[0].Tag)
		feeds, err := web.NewBoothFeeds(floor.Read("booth floor", outputQueue), voices)
		if err != nil {
			return fmt.Errorf("booth feeds: %w", err)
		}
		o.feeds = feeds
	}
	if err := e.attachRecorder(); err != nil {
		return err
	}
	if err := e.attachAAC(); err != nil {
		return err
	}
	if err := e.attachPushes(); err != nil {
		return err
	}
	if err := e.attachSFU(); err != nil {
		return err
	}
	o.previews = map[string]*web.ListenerTrack{}
	for _, fi := range e.floor {
		m, err := mixer.New(mixer.Config{Timeline: e.timeline, Lang: "input-" + fi.cfg.ID, Floor: true,
			Bitrate: e.cfg.Audio.Bitrate, Complexity: e.cfg.Audio.Complexity})
		if err != nil {
			return fmt.Errorf("preview of input %s: %w", fi.cfg.ID, err)
		}
		o.previewMixes = append(o.previewMixes, m)
		l, err := web.NewListenerTrack("input-"+fi.cfg.ID, m.Packets().Read("preview", outputQueue), e.log)
		if err != nil {
			return err
		}
		o.previews[fi.cfg.ID] = l
		fi.in.SetPreview(m, l.Listening)
	}
	return nil
}

// runOutputs starts the writers of the outputs that are not network
// sessions. Each ends when its track closes (Close closes them).
func (e *Event) runOutputs() {
	o := &e.out
	for tag, sub := range o.hls {
		o.wg.Add(1)
		o.media.Add(1)
		go func() {
			defer o.wg.Done()
			defer o.media.Done()
			for p := range sub.C {
				if err := e.hls.WriteOpus(tag, p.PTS, p.Payload); err != nil {
					e.log.Warn("hls write", "lang", tag, "err", err)
				}
			}
		}()
	}
	if sub := o.hlsVideo; sub != nil {
		o.wg.Add(1)
		go func() {
			defer o.wg.Done()
			for u := range sub.C {
				if err := e.hls.WriteVideo(u); err != nil {
					e.log.Warn("hls video write", "err", err)
				}
			}
		}()
	}
	for tag, source := range o.recognize {
		c := e.captions[tag]
		o.wg.Add(1)
		go func() {
			defer o.wg.Done()
			// Each frame is a fresh copy, handed over to the pipeline.
			for f := range source.C {
				c.pipeline.Write(audio.Frame{PTS: f.PTS, Samples: f.PCM})
			}
		}()
	}
	for tag, cues := range o.webvtt {
		c := e.captions[tag]
		o.wg.Add(1)
		o.media.Add(1)
		go func() {
			defer o.wg.Done()
			defer o.media.Done()
			for cue := range cues.C {
				if cue.Final {
					c.subs.Add(cue.Start, cue.End, cue.Text)
				}
			}
		}()
	}
	for tag, sub := range o.aacPCM {
		o.wg.Add(1)
		o.media.Add(1)
		go func() {
			defer o.wg.Done()
			defer o.media.Done()
			for u := range sub.C {
				if err := o.aac.Write(tag, u.PTS, u.PCM); err != nil {
					e.log.Warn("aac write", "lang", tag, "err", err)
				}
			}
		}()
	}
	for tag, sub := range o.recAudio {
		o.wg.Add(1)
		go func() {
			defer o.wg.Done()
			for u := range sub.C {
				o.recorder.WritePacket(tag, u)
			}
		}()
	}
	for tag, sub := range o.recCues {
		o.wg.Add(1)
		go func() {
			defer o.wg.Done()
			for c := range sub.C {
				o.recorder.WriteCue(tag, c)
			}
		}()
	}
	if sub := o.recVideo; sub != nil {
		o.wg.Add(1)
		go func() {
			defer o.wg.Done()
			for u := range sub.C {
				o.recorder.WriteVideo(u)
			}
		}()
	}
}

// attachAAC adds the AAC group to the LL-HLS tree and starts its encoder
// with a reader on every mix's PCM, unless hls.aac is off and nothing is
// pushed, or the event is a rebroadcast.
func (e *Event) attachAAC() error {
	if (!e.cfg.HLS.AACOn() && !e.wantsAAC()) || e.player != nil {
		return nil
	}
	bitrate := e.cfg.HLS.AACBitrate
	if bitrate == 0 {
		bitrate = config.DefaultAACBitrate
	}
	var tags []string
	for _, r := range e.renditions {
		tags = append(tags, r.Tag)
	}
	o := &e.out
	o.aacTracks = aac.NewTracks(tags, nil)
	if e.cfg.HLS.AACOn() {
		if err := e.hls.EnableAAC(bitrate); err != nil {
			return err
		}
		o.aacTracks = aac.NewTracks(tags, e.hls)
	}
	enc, err := aac.New(aac.Options{IDs: tags, Bitrate: bitrate, Sink: o.aacTracks, Clock: e.clock, Log: e.log})
	if err != nil {
		return fmt.Errorf("aac: %w", err)
	}
	o.aac = enc
	o.aacPCM = map[string]*media.Reader[media.Unit]{}
	for _, tag := range tags {
		o.aacPCM[tag] = e.mixes[tag].PCM().Read("aac", outputQueue)
	}
	return nil
}

// attachRecorder recovers the runs a killed process left behind and, unless
// the event is not recorded, starts this run's recorder with a reader on
// every language's packets and every captioned language's cues.
func (e *Event) attachRecorder() error {
	if e.recordings == nil || e.player != nil {
		return nil // nowhere to record, or a rebroadcast: its run is recorded
	}
	recovered, err := e.recordings.Recover(e.cfg.ID)
	for _, r := range recovered {
		e.log.Info("recording recovered after an interruption", "run", r.ID, "duration", r.Duration, "bytes", r.Bytes)
	}
	if err != nil {
		e.log.Warn("recordings", "err", err)
	}
	if !e.cfg.Recording() {
		return nil
	}
	o := &e.out
	opts := recording.Options{Library: e.recordings, Event: e.cfg.ID, Title: e.cfg.Title, Epoch: e.timeline.Epoch,
		Clock: e.recClock, Log: e.log}
	if end, ok := e.cfg.EndTime(); ok {
		opts.End = end
	}
	opts.Video = e.program != nil
	for _, r := range e.renditions {
		opts.Audio = append(opts.Audio, recording.Lang{Tag: r.Tag, Name: r.Name})
	}
	for _, r := range e.CaptionRenditions() {
		opts.Captions = append(opts.Captions, recording.Lang{Tag: r.Tag, Name: r.Name, MachineTranslated: r.MachineTranslated})
	}
	rec, err := recording.New(opts)
	if err != nil {
		return fmt.Errorf("recording: %w", err)
	}
	o.recorder = rec
	o.recAudio = map[string]*media.Reader[media.Unit]{}
	o.recCues = map[string]*media.Reader[captions.Cue]{}
	for _, r := range e.renditions {
		o.recAudio[r.Tag] = e.mixes[r.Tag].Packets().Read("recording", outputQueue)
	}
	for tag, c := range e.captions {
		o.recCues[tag] = c.feed.Cues().Read("recording", cueQueue)
	}
	if opts.Video {
		o.recVideo = e.program.Video().Read("recording", videoQueue)
	}
	return nil
}

// closeOutputs waits for the writers, once their tracks have closed, and
// stops the network outputs. Safe on outputs attachOutputs left half built.
func (e *Event) closeOutputs() {
	o := &e.out
	// The pushes first: they read the AAC tracks and the program's video.
	e.closePushes()
	// The program's video track outlives the clock: the packager's reader
	// ends here, once the frames it holds are written.
	if o.hlsVideo != nil {
		o.hlsVideo.Close()
	}
	// The program's video track outlives the clock: its readers end here,
	// after what they hold is taken.
	if o.recVideo != nil {
		o.recVideo.Close()
	}
	o.wg.Wait()
	for _, l := range o.listeners {
		l.Close()
	}
	if o.video != nil {
		o.video.Close()
	}
	if o.feeds != nil {
		o.feeds.Close()
	}
	for _, m := range o.previewMixes {
		m.Close() // ends the preview tracks' readers
	}
	for _, l := range o.previews {
		l.Close()
	}
	// Readers whose writer never ran (Start not called) detach here.
	for _, r := range o.hls {
		r.Close()
	}
	for _, r := range o.recognize {
		r.Close()
	}
	for _, r := range o.webvtt {
		r.Close()
	}
	for _, r := range o.recAudio {
		r.Close()
	}
	for _, r := range o.recCues {
		r.Close()
	}
	for _, r := range o.aacPCM {
		r.Close()
	}
	if o.aac != nil {
		// Its readers have ended: the encoder hands over its last frames
		// before the playlists end.
		o.aac.Close()
	}
	if o.aacTracks != nil {
		o.aacTracks.Close()
	}
	if o.recorder != nil {
		// Every reader has ended: write what is left and finalise the run.
		if err := o.recorder.Close(); err != nil {
			e.log.Error("recording", "err", err)
		}
	}
}

// Recording is the state of this run's recording; Dropped counts what its
// readers could not queue as well as what the recorder lost.
func (e *Event) Recording() recording.Status {
	o := &e.out
	if o.recorder == nil {
		return recording.Status{State: "off"}
	}
	s := o.recorder.Status()
	// What the readers could not queue is lost to the recording too.
	for _, r := range o.recAudio {
		s.Dropped += r.Dropped()
	}
	for _, r := range o.recCues {
		s.Dropped += r.Dropped()
	}
	if o.recVideo != nil {
		s.Dropped += o.recVideo.Dropped()
	}
	return s
}

// Recordings is the library of the event's recorded runs (nil when the
// event has none).
func (e *Event) Recordings() *recording.Library { return e.recordings }

// Listeners returns a language's WebRTC output.
func (e *Event) Listeners(tag string) (*web.ListenerTrack, bool) {
	l, ok := e.out.listeners[tag]
	return l, ok
}

// VideoOutput returns the program's picture as WHEP sessions take it.
func (e *Event) VideoOutput() (*web.VideoOutput, bool) {
	return e.out.video, e.out.video != nil
}

// FloorPreview returns floor input id alone, as WebRTC listeners take it.
func (e *Event) FloorPreview(id string) (*web.ListenerTrack, bool) {
	l, ok := e.out.previews[id]
	return l, ok
}

// BoothFeeds returns what the booths hear: the floor and the relays.
func (e *Event) BoothFeeds() *web.BoothFeeds { return e.out.feeds }
