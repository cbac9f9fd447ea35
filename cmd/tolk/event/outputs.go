package event

import (
	"fmt"
	"sync"

	"tolk/captions"
	"tolk/internal/audio"
	"tolk/internal/media"
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
)

// outputs are every reader the event attaches to the program's tracks: this
// is the one place that says what consumes the program. An output added
// later (recording, video, a push) is one more reader here. Each reader is
// bounded and drops and counts what its consumer cannot take, so no output
// can hold up a mix.
type outputs struct {
	// hls carries each language's packets to the LL-HLS packager.
	hls map[string]*media.Reader[media.Unit]
	// listeners are each language's WebRTC output (WHEP sessions take it).
	listeners map[string]*web.ListenerTrack
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

	wg sync.WaitGroup // the goroutines Start runs: one per reader above
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
		m := e.mixes[r.Tag]
		o.hls[r.Tag] = m.Packets().Read("hls", outputQueue)
		l, err := web.NewListenerTrack(r.Tag, m.Packets().Read("whep", outputQueue), e.log)
		if err != nil {
			return err
		}
		o.listeners[r.Tag] = l
		if v, ok := e.voices[r.Tag]; ok {
			voices[r.Tag] = v
		}
		if c, ok := e.captions[r.Tag]; ok {
			if v, ok := e.voices[r.Tag]; ok {
				o.recognize[r.Tag] = v.PCM().Read("captions", captionQueue)
			} else {
				o.recognize[r.Tag] = m.PCM().Read("captions", captionQueue)
			}
			o.webvtt[r.Tag] = c.pipeline.Cues().Read("webvtt", cueQueue)
		}
	}
	floor := e.mixes[e.renditions[0].Tag]
	feeds, err := web.NewBoothFeeds(floor.Packets().Read("booth floor", outputQueue), voices)
	if err != nil {
		return fmt.Errorf("booth feeds: %w", err)
	}
	o.feeds = feeds
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
		go func() {
			defer o.wg.Done()
			for p := range sub.C {
				if err := e.hls.WriteOpus(tag, p.PTS, p.Payload); err != nil {
					e.log.Warn("hls write", "lang", tag, "err", err)
				}
			}
		}()
	}
	for tag, source := range o.recognize {
		c := e.captions[tag]
		o.wg.Add(2)
		go func() {
			defer o.wg.Done()
			// Each frame is a fresh copy, handed over to the pipeline.
			for f := range source.C {
				c.pipeline.Write(audio.Frame{PTS: f.PTS, Samples: f.PCM})
			}
		}()
		cues := o.webvtt[tag]
		go func() {
			defer o.wg.Done()
			for cue := range cues.C {
				if cue.Final {
					c.subs.Add(cue.Start, cue.End, cue.Text)
				}
			}
		}()
	}
}

// closeOutputs waits for the writers, once their tracks have closed, and
// stops the network outputs. Safe on outputs attachOutputs left half built.
func (e *Event) closeOutputs() {
	o := &e.out
	o.wg.Wait()
	for _, l := range o.listeners {
		l.Close()
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
}

// Listeners returns a language's WebRTC output.
func (e *Event) Listeners(tag string) (*web.ListenerTrack, bool) {
	l, ok := e.out.listeners[tag]
	return l, ok
}

// FloorPreview returns floor input id alone, as WebRTC listeners take it.
func (e *Event) FloorPreview(id string) (*web.ListenerTrack, bool) {
	l, ok := e.out.previews[id]
	return l, ok
}

// BoothFeeds returns what the booths hear: the floor and the relays.
func (e *Event) BoothFeeds() *web.BoothFeeds { return e.out.feeds }
