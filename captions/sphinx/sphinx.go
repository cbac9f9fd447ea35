// Package sphinx is the embedded speech recognizer: PocketSphinx through cgo,
// one decoder per stream, en-US from the Debian model by default and other
// languages where a model directory is configured.
package sphinx

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"golang.org/x/text/language"

	"tolk/captions"
	"tolk/captions/glossary"
)

// ModelDir names the files of one language's model.
type ModelDir struct {
	// Acoustic is the acoustic model directory (PocketSphinx -hmm).
	Acoustic string
	// Dict is the pronunciation dictionary (-dict).
	Dict string
	// LM is the n-gram language model, ARPA text or binary (-lm).
	LM string
}

// DebianEnUS is the en-US model of Debian's pocketsphinx-en-us package.
var DebianEnUS = ModelDir{
	Acoustic: "/usr/share/pocketsphinx/model/en-us/en-us",
	Dict:     "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict",
	LM:       "/usr/share/pocketsphinx/model/en-us/en-us.lm.bin",
}

// Config configures the recognizer. The zero value recognizes en-US with the
// Debian model.
type Config struct {
	// Models maps a BCP 47 tag to its model. en-US uses DebianEnUS unless an
	// English model is given here.
	Models map[string]ModelDir
	// Queue is how many 20 ms frames a stream buffers for its decoder before
	// it drops audio (default 250, 5 s).
	Queue int
	// ResultBuffer is the capacity of a stream's Results channel (default 64).
	ResultBuffer int
	// EndSilence is the pause that ends an utterance and makes its result
	// final (default 500 ms).
	EndSilence time.Duration
	// Glossary, when set, is the event's vocabulary that English streams
	// adapt to: at the start and, when it changes, between two utterances.
	// Other languages ignore it (the letter-to-sound rules are English).
	Glossary *glossary.Live
	// FrontEnd puts the high-pass and the speech-level gain of frontend.go
	// before the decoder. Off by default: it helped the rooms set's tuning
	// half but not its held-out half (docs/benchmarks.md, "Rooms").
	FrontEnd bool
	// NoDenoise takes the noise suppressor (denoise.go) out from before the
	// decoder. It is on by default: on the rooms set's fresh held-out half
	// it took the word error rate in pink noise from 34.5 to 27.9 % at
	// 20 dB SNR and from 71.8 to 55.6 % at 10 dB, clean speech unchanged
	// (docs/benchmarks.md, "Rooms").
	NoDenoise bool

	// tuning, when set (by the rooms benchmark only), replaces the front
	// end's stages and decoder options with its own.
	tuning *frontEndTuning
}

// Recognizer opens PocketSphinx streams. It is safe for concurrent use.
type Recognizer struct {
	cfg    Config
	tags   []language.Tag
	models map[language.Tag]ModelDir
}

var _ captions.Recognizer = (*Recognizer)(nil)

// New checks that every model's files exist and returns the recognizer.
func New(cfg Config) (*Recognizer, error) {
	if cfg.Queue <= 0 {
		cfg.Queue = 250
	}
	if cfg.ResultBuffer <= 0 {
		cfg.ResultBuffer = 64
	}
	if cfg.EndSilence <= 0 {
		cfg.EndSilence = 500 * time.Millisecond
	}
	r := &Recognizer{cfg: cfg, models: map[language.Tag]ModelDir{}}
	hasEnglish := false
	for k, m := range cfg.Models {
		tag, err := language.Parse(k)
		if err != nil {
			return nil, fmt.Errorf("sphinx: model language %q: %w", k, err)
		}
		if err := m.check(); err != nil {
			return nil, fmt.Errorf("sphinx: model %s: %w", tag, err)
		}
		if base, _ := tag.Base(); base.String() == "en" {
			hasEnglish = true
		}
		r.models[tag] = m
	}
	if !hasEnglish {
		if err := DebianEnUS.check(); err == nil {
			r.models[language.AmericanEnglish] = DebianEnUS
		} else if len(r.models) == 0 {
			return nil, fmt.Errorf("sphinx: no model configured and the Debian en-US model is missing: %w", err)
		}
	}
	for t := range r.models {
		r.tags = append(r.tags, t)
	}
	sort.Slice(r.tags, func(i, j int) bool { return r.tags[i].String() < r.tags[j].String() })
	return r, nil
}

func (m ModelDir) check() error {
	for _, p := range []string{m.Acoustic, m.Dict, m.LM} {
		if p == "" {
			return errors.New("acoustic model, dictionary and language model must all be given")
		}
		if _, err := os.Stat(p); err != nil {
			return err
		}
	}
	return nil
}

// Languages lists the languages that have a model.
func (r *Recognizer) Languages() []language.Tag { return append([]language.Tag(nil), r.tags...) }

// model picks the model for lang: the same tag, or else the same base language.
func (r *Recognizer) model(lang language.Tag) (ModelDir, bool) {
	if m, ok := r.models[lang]; ok {
		return m, true
	}
	base, _ := lang.Base()
	for _, t := range r.tags {
		if b, _ := t.Base(); b == base {
			return r.models[t], true
		}
	}
	return ModelDir{}, false
}

// NewStream loads a decoder for lang (about a second and 90 MB for en-US) and
// starts its goroutine. Languages without a model give captions.ErrUnsupported.
// Cancelling ctx ends the stream like Close.
func (r *Recognizer) NewStream(ctx context.Context, lang language.Tag) (captions.Stream, error) {
	m, ok := r.model(lang)
	if !ok {
		return nil, fmt.Errorf("sphinx: %s: %w", lang, captions.ErrUnsupported)
	}
	post := int(r.cfg.EndSilence / (10 * time.Millisecond))
	var live *glossary.Live
	if base, _ := lang.Base(); base.String() == "en" {
		live = r.cfg.Glossary
	}
	g, version := live.Get()
	fe := r.cfg.frontEnd()
	dec, err := newDecoder(m, post, fe.decoderArgs, &g)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		dec.free()
		return nil, err
	}
	s := newStream(ctx, dec, r.cfg, fe, live, version)
	return s, nil
}
