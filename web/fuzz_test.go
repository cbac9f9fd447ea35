package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"tolk/cmd/tolk/event"
	"tolk/internal/store"
	"tolk/web"
)

// FuzzOffer sends arbitrary offers to WHEP and WHIP: every answer is a 201 or a
// 4xx with a JSON error, never a crash or a 5xx.
func FuzzOffer(f *testing.F) {
	f.Add("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n", false)
	f.Add("v=0\r\n", true)
	f.Add("", false)
	f.Add("v=0\r\nm=video 0 RTP/AVP 0\r\na=fingerprint:sha-256 zz\r\n", true)
	srv := serve(f, whipConfig(f), event.Options{}, web.Options{}).srv
	f.Fuzz(func(t *testing.T, offer string, whip bool) {
		path := "/whep/test/fr"
		if whip {
			path = "/whip/test"
		}
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(offer))
		req.Header.Set("Content-Type", "application/sdp")
		req.Header.Set("Authorization", "Bearer "+streamKey)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusCreated:
			del := httptest.NewRequest(http.MethodDelete, rec.Header().Get("Location"), nil)
			del.Header.Set("Authorization", "Bearer "+streamKey)
			srv.ServeHTTP(httptest.NewRecorder(), del)
		case rec.Code >= 400 && rec.Code < 500:
			if !strings.Contains(rec.Body.String(), `"error"`) {
				t.Fatalf("%d without a JSON error: %s", rec.Code, rec.Body.String())
			}
		default:
			t.Fatalf("status %d for offer %q: %s", rec.Code, offer, rec.Body.String())
		}
	})
}

// FuzzProducerRequests sends arbitrary bodies to the players' report and the
// producer's controls: every answer is a 2xx or a 4xx with a JSON error.
func FuzzProducerRequests(f *testing.F) {
	for _, s := range []string{
		`{"id": "abcdefgh12", "lang": "fr", "protocol": "hls", "state": "playing", "latency_ms": 800}`,
		`{"id": "abcdefgh12", "state": "stopped"}`, `{"input": "main"}`, `{"lang": "fr", "text": "hello"}`,
		`{"duck_db": -20}`, `{"muted": true}`, `{"role": "editor", "name": "Ed"}`, `{`, `null`, `[]`,
		`{"terms": ["Zyphrex"], "speakers": ["Ada Oyelaran"], "text": "Keynote."}`,
	} {
		for k := range 7 {
			f.Add(s, uint8(k))
		}
	}
	dir := f.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	h := serve(f, whipConfig(f), event.Options{}, web.Options{Tokens: st})
	prod, _, err := st.CreateToken(context.Background(), "test", store.RoleProducer, "", "Pat")
	if err != nil {
		f.Fatal(err)
	}
	routes := []struct{ method, path string }{
		{"POST", "/api/events/test/viewers"}, {"POST", "/api/events/test/floor"}, {"POST", "/api/events/test/notices"},
		{"PATCH", "/api/events/test/languages/fr"}, {"POST", "/api/events/test/booths/fr"}, {"POST", "/api/events/test/tokens"},
		{"PUT", "/api/events/test/glossary"},
	}
	f.Fuzz(func(t *testing.T, body string, route uint8) {
		r := routes[int(route)%len(routes)]
		req := httptest.NewRequest(r.method, r.path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+prod)
		rec := httptest.NewRecorder()
		h.srv.ServeHTTP(rec, req)
		switch {
		case rec.Code >= 200 && rec.Code < 300:
		case rec.Code >= 400 && rec.Code < 500:
			if !strings.Contains(rec.Body.String(), `"error"`) {
				t.Fatalf("%s %s: %d without a JSON error: %s", r.method, r.path, rec.Code, rec.Body.String())
			}
		default:
			t.Fatalf("%s %s %q: status %d: %s", r.method, r.path, body, rec.Code, rec.Body.String())
		}
	})
}
