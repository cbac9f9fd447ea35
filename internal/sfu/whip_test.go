package sfu_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tolk/internal/media"
	"tolk/internal/restream"
	"tolk/internal/rtc"
	"tolk/internal/sfu"
)

// TestWHIPRefusals: a WHIP server that refuses the offer (401), answers
// 201 without a Location, or with something other than SDP: the
// publication fails, says why without the token or the endpoint's last
// segment, and the server saw the bearer token and a complete offer (every
// candidate in it: no trickle). A session that was created (a Location
// came) is deleted.
func TestWHIPRefusals(t *testing.T) {
	api, err := rtc.NewAPI(rtc.Options{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		handler func(w http.ResponseWriter)
		want    string
		deletes int32
	}{
		"401": {func(w http.ResponseWriter) {
			http.Error(w, "bad token", http.StatusUnauthorized)
		}, "401 Unauthorized: bad token", 0},
		"no location": {func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/sdp")
			w.WriteHeader(http.StatusCreated)
		}, "201 without a Location", 0},
		"not sdp": {func(w http.ResponseWriter) {
			w.Header().Set("Location", "/whip/x")
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusCreated)
		}, `answer of type "text/html"`, 1},
	} {
		t.Run(name, func(t *testing.T) {
			var auth, offer atomic.Value
			var deletes atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodDelete && r.URL.Path == "/whip/x" &&
					r.Header.Get("Authorization") == "Bearer the-bearer-token" {
					deletes.Add(1)
					return
				}
				b, _ := io.ReadAll(r.Body)
				auth.Store(r.Header.Get("Authorization"))
				offer.Store(string(b))
				c.handler(w)
			}))
			defer srv.Close()
			tr := media.NewTrack[media.Unit]("fr")
			defer tr.Close()
			o, err := sfu.NewWHIP(sfu.WHIPOptions{Common: sfu.Common{ID: "whip-fr-1", Lang: "fr", Packets: tr},
				URL: srv.URL + "/whip/secret-room", Token: "the-bearer-token", API: api})
			if err != nil {
				t.Fatal(err)
			}
			o.Start()
			defer o.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			st := o.Status()
			for ; st.State != restream.StateFailed; st = o.Status() {
				if ctx.Err() != nil {
					t.Fatalf("never failed: %+v", st)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if !strings.Contains(st.LastError, c.want) || strings.Contains(st.LastError, "the-bearer-token") ||
				strings.Contains(st.LastError+st.URL, "secret-room") {
				t.Errorf("status %+v, want an error with %q and no secrets", st, c.want)
			}
			if a, _ := auth.Load().(string); a != "Bearer the-bearer-token" {
				t.Errorf("authorization %q", a)
			}
			if o, _ := offer.Load().(string); !strings.Contains(o, "a=candidate:") || !strings.Contains(o, "a=end-of-candidates") ||
				!strings.Contains(o, "opus/48000") || !strings.Contains(o, "a=sendonly") {
				t.Errorf("offer:\n%s", o)
			}
			if n := deletes.Load(); n != c.deletes {
				t.Errorf("%d DELETEs of the session, want %d", n, c.deletes)
			}
		})
	}
}
