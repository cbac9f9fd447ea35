// Package google is the Google Cloud Speech recognizer: one gRPC
// StreamingRecognize stream per caption stream, restarted before the
// service's stream duration cap, with the audio since the last final result
// sent again so that no word is lost or doubled across a restart.
package google

import (
	"context"
	"fmt"
	"time"

	speech "cloud.google.com/go/speech/apiv1"
	"golang.org/x/text/language"
	"google.golang.org/api/option"

	"tolk/captions"
	"tolk/captions/glossary"
	"tolk/internal/audio"
)

// Config sets up the recognizer. Zero values take the defaults given.
type Config struct {
	// Endpoint is the service's host:port; empty means Google's.
	Endpoint string
	// ClientOptions are added after Endpoint (credentials, dial options).
	// Without any, Application Default Credentials are used.
	ClientOptions []option.ClientOption
	// Model is the recognition model ("latest_long", ...); empty is the
	// service's default.
	Model string
	// Punctuation asks for automatic punctuation.
	Punctuation bool
	// Glossary, when set, gives its terms and speaker names to the service
	// as phrase hints (a SpeechContext). A change is sent at the next
	// utterance boundary: the stream is restarted there, the way it is
	// before the duration cap, so no audio is lost.
	Glossary *glossary.Live
	// Boost is the phrase hints' boost (0..20, default 10): higher makes the
	// service prefer them more, and mistake other words for them more often.
	Boost float32

	// Clock paces restarts, backoff and draining (audio.SystemClock).
	Clock audio.Clock
	// RestartAfter is when a stream starts looking for an utterance boundary
	// to restart at (290 s; the service ends a stream after ≈ 305 s).
	RestartAfter time.Duration
	// RestartGrace is how long after RestartAfter the stream restarts even in
	// the middle of speech (10 s).
	RestartGrace time.Duration
	// Drain bounds the end of a stream, from the decision to half-close it
	// (a restart or Close) to the service ending it after its last results
	// (5 s); a service that has not ended it by then counts as failed.
	Drain time.Duration
	// StallTimeout is how long the opening of a stream or one send may take
	// before the service counts as having stopped reading and the stream is
	// given up and replaced (5 s). gRPC flow control lets 130..240 KB (1.4 to
	// 2.5 s of audio) out before a send blocks; while StallTimeout plus that
	// plus the unsettled audio stays under MaxReplay, a stall loses no word.
	StallTimeout time.Duration
	// AnswerTimeout is how much sound (frames above about -50 dBFS) a
	// stream may be sent, with as much time passing, without any answer from
	// the service before it counts as hung and is replaced, its unsettled
	// audio sent again (850 ms). The service answers speech with interim
	// results within a few hundred milliseconds; it says nothing to
	// silence, which does not count, or to sound that is not speech (music,
	// applause): after each replacement that the new stream does not answer
	// either, the bound doubles, up to 60 s, so such a stretch costs a few
	// streams rather than one a second. An answer resets it.
	AnswerTimeout time.Duration
	// MaxReplay bounds the audio kept since the last final result (8 s).
	MaxReplay time.Duration
	// Queue is how many frames Write can queue ahead of the sender (250, 5 s).
	Queue int
	// Chunk is the audio sent per request in steady state (100 ms).
	Chunk time.Duration
	// BackoffMin and BackoffMax bound the wait between failed streams
	// (500 ms doubling up to 30 s). A stream that worked (the service
	// answered and it lived a second) is replaced at once when it fails;
	// only failures in a row wait.
	BackoffMin, BackoffMax time.Duration
}

// MaxRequestBytes is the most audio one request carries (the service allows 25 KB).
const MaxRequestBytes = 25000

func (c *Config) defaults() {
	if c.Clock == nil {
		c.Clock = audio.SystemClock{}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.RestartAfter, 290*time.Second)
	def(&c.RestartGrace, 10*time.Second)
	def(&c.Drain, 5*time.Second)
	def(&c.StallTimeout, 5*time.Second)
	def(&c.AnswerTimeout, 850*time.Millisecond)
	def(&c.MaxReplay, 8*time.Second)
	def(&c.Chunk, 100*time.Millisecond)
	def(&c.BackoffMin, 500*time.Millisecond)
	def(&c.BackoffMax, 30*time.Second)
	if c.Queue <= 0 {
		c.Queue = 250
	}
	if c.Boost <= 0 {
		c.Boost = 10
	}
	c.Boost = min(c.Boost, 20)
}

// Recognizer opens Google Cloud Speech streams. It implements captions.Recognizer.
type Recognizer struct {
	cfg    Config
	client *speech.Client
}

var _ captions.Recognizer = (*Recognizer)(nil)

// New connects a client; Close releases it.
func New(ctx context.Context, cfg Config) (*Recognizer, error) {
	cfg.defaults()
	var opts []option.ClientOption
	if cfg.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(cfg.Endpoint))
	}
	opts = append(opts, cfg.ClientOptions...)
	c, err := speech.NewClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("google speech client: %w", err)
	}
	return &Recognizer{cfg: cfg, client: c}, nil
}

// Close closes the client; streams still open fail.
func (r *Recognizer) Close() error { return r.client.Close() }

// NewStream opens a stream for lang; see Open.
func (r *Recognizer) NewStream(ctx context.Context, lang language.Tag) (captions.Stream, error) {
	return r.Open(ctx, lang)
}

// Open starts recognizing lang. The stream runs until Close or until ctx ends.
func (r *Recognizer) Open(ctx context.Context, lang language.Tag) (*Stream, error) {
	if lang == language.Und {
		return nil, fmt.Errorf("google: %w: undetermined language", captions.ErrUnsupported)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return newStream(ctx, r.cfg, r.client, languageCode(lang)), nil
}

// languageCode is the service's language_code for lang: its BCP 47 form,
// with the likely region added to a bare language ("fr" is asked for as
// "fr-FR"), since the service knows most languages only by region.
func languageCode(lang language.Tag) string {
	base, conf := lang.Base()
	if conf == language.Exact && lang.String() == base.String() {
		if region, _ := lang.Region(); region.String() != "ZZ" {
			return base.String() + "-" + region.String()
		}
	}
	return lang.String()
}
