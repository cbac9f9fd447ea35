package event

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"tolk/internal/config"
)

func hlsGet(ev *Event, path string) (int, string) {
	rec := httptest.NewRecorder()
	ev.HLS().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

// TestAACGroupFollowsTheConfig: by default every mix's PCM is encoded once
// to AAC for the LL-HLS AAC group, whose playlists fill as the program
// runs; with hls.aac false the master lists Opus alone.
func TestAACGroupFollowsTheConfig(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	defer goleak.VerifyNone(t)
	for _, on := range []bool{true, false} {
		extra := ""
		if !on {
			extra = "hls: {aac: false}\n"
		}
		cfg, err := config.Parse([]byte(`
id: t
floor: {language: en, source: whip, stream_key: 0123456789abcdef}
languages: [{tag: fr}]
`+extra), nil)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := New(cfg, Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		if err := ev.Start(); err != nil {
			t.Fatal(err)
		}
		_, master := hlsGet(ev, "/master.m3u8")
		if got := strings.Contains(master, `CODECS="mp4a.40.2",AUDIO="aac"`) && strings.Contains(master, `URI="fr.aac/index.m3u8"`); got != on {
			t.Errorf("aac %v: master\n%s", on, master)
		}
		if on {
			// The floor is missing: the mixes tick silence on the wall
			// clock, and the AAC playlists fill with it.
			waitFor(t, "an AAC segment", func() bool {
				code, body := hlsGet(ev, "/fr.aac/index.m3u8")
				return code == http.StatusOK && strings.Contains(body, "#EXTINF:")
			})
			if s := ev.out.aac.Stats(); s.Frames == 0 || s.Restarts != 0 {
				t.Errorf("encoder %+v", s)
			}
		} else if code, _ := hlsGet(ev, "/fr.aac/index.m3u8"); code != http.StatusNotFound {
			t.Errorf("AAC off: the AAC playlist answers %d", code)
		}
		ev.Close()
	}
}
