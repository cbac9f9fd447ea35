package translate_test

import (
	"context"
	"testing"

	"tolk/captions/translate"
	"tolk/captions/translate/translatefake"
)

// BenchmarkCloudRoundTrip is one TranslateText of one cue through the real
// client and the local fake over loopback gRPC: the client's and the
// fake's cost, with no network or service time.
func BenchmarkCloudRoundTrip(b *testing.B) {
	srv, err := translatefake.New()
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	cl, err := translate.NewCloud(context.Background(), translate.CloudConfig{Project: "p", ClientOptions: srv.ClientOptions()})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cl.Close() }()
	req := translate.Request{Source: "en", Target: "fr", Texts: []string{"Good morning and welcome to our next speaker, thank you"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cl.Translate(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFeedCue is one settled cue through a feed (queue, request,
// publication) with a translator that answers at once: the feed's own cost.
func BenchmarkFeedCue(b *testing.B) {
	g := &gate{open: make(chan struct{})}
	close(g.open)
	src := newSource()
	f, err := translate.New(translate.Config{From: "en", Target: "fr", Source: src, Translator: g, Queue: 4})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	out := f.Cues().Read("bench", 4)
	c := final(0, 48000, "Good morning and welcome to our next speaker, thank you")
	b.ReportAllocs()
	for b.Loop() {
		src.track.Write(c)
		<-out.C
	}
}
