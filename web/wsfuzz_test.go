package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

// Fuzzing the booth's and the console's WebSocket messages: each input goes
// to a live session of a real server as one text message; the session must
// answer it (or not) and then still answer a ping with its pong, so no
// message ends, stalls or crashes a session.

var boothSeeds = []string{
	`{"type": "ping", "t": 1}`, `{"type": "ping", "t": "x"}`, `{"type": "ping", "t": 1e400}`,
	`{"type": "mic", "on": true}`, `{"type": "mic", "on": false}`, `{"type": "mic"}`,
	`{"type": "cough", "down": true}`, `{"type": "cough", "down": false}`,
	`{"type": "input", "source": "floor"}`, `{"type": "input", "source": "relay:es"}`, `{"type": "input", "source": "relay:xx"}`,
	`{"type": "handover"}`, `{"type": "accept"}`, `{"type": "cancel"}`, `{"type": "take"}`, `{"type": "slow_down"}`,
	`{"type": "chat", "text": "hello"}`, `{"type": "to_producer", "text": "` + strings.Repeat("é", 3000) + `"}`,
	`{"type": "latency", "floor_ms": 250}`, `{"type": "latency", "floor_ms": -1}`, `{"type": "latency", "floor_ms": 1e308}`,
	`{"type": "answer", "sdp": "v=0\r\n"}`, `{"type": "answer"}`, `{"type": "restart"}`,
	`{"type": ""}`, `{}`, `null`, `[]`, `{`, "\xff\xfe", ``, `{"type": "mic", "on": "yes"}`,
}

var consoleSeeds = []string{
	`{"type": "ping", "t": 1}`, `{"type": "ping", "t": "1"}`, `{"type": "ping", "t": [1]}`,
	`{"type": "listen", "lang": "fr"}`, `{"type": "listen", "lang": ""}`, `{"type": "listen", "lang": "input:main"}`,
	`{"type": "listen", "lang": "zz"}`, `{"type": "listen"}`, `{"type": "listen", "lang": null}`,
	`{"type": "answer", "sdp": "v=0\r\n"}`, `{"type": "answer"}`,
	`{"type": "bogus"}`, `{}`, `null`, `{`, "\x00", ``,
}

func FuzzBoothMessages(f *testing.F) {
	for _, s := range boothSeeds {
		f.Add(s)
	}
	fuzzSocket(f, "/booth/test/fr/ws", roleInterpreter)
}

func FuzzConsoleMessages(f *testing.F) {
	for _, s := range consoleSeeds {
		f.Add(s)
	}
	fuzzSocket(f, "/console/test/ws", roleProducer)
}

// fuzzSocket opens path's WebSocket as r and sends it every input, each
// followed by a ping that must come back.
func fuzzSocket(f *testing.F, path string, r role) {
	ignore := goleak.IgnoreCurrent()
	f.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		goleak.VerifyNone(f, ignore)
	})
	m := newMatrixEvent(f, "")
	u := "ws" + strings.TrimPrefix(m.http.URL, "http") + path + "?token=" + m.secrets[r]
	var ws *websocket.Conn
	dial := func(t testing.TB) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, resp, err := websocket.DefaultDialer.DialContext(ctx, u, nil)
		if err != nil {
			t.Fatalf("dial %s: %v", path, err)
		}
		resp.Body.Close()
		ws = c
	}
	dial(f)
	f.Cleanup(func() { ws.Close() })
	var n float64
	f.Fuzz(func(t *testing.T, msg string) {
		if len(msg) > 60<<10 {
			return // past the sessions' message limit, which closes the socket by design
		}
		if err := ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatalf("write: %v", err)
		}
		n++
		ping, _ := json.Marshal(map[string]any{"type": "ping", "t": n})
		if err := ws.WriteMessage(websocket.TextMessage, ping); err != nil {
			t.Fatalf("write ping: %v", err)
		}
		_ = ws.SetReadDeadline(time.Now().Add(15 * time.Second))
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				t.Fatalf("after %q the session ended or stalled: %v", msg, err)
			}
			var in struct {
				Type string  `json:"type"`
				T    float64 `json:"t"`
			}
			if err := json.Unmarshal(data, &in); err != nil {
				t.Fatalf("after %q the session sent something not JSON: %q", msg, data)
			}
			if in.Type == "pong" && in.T == n {
				return
			}
		}
	})
}

// FuzzExportRequests asks for the edited captions as a file with arbitrary
// names and offset, from and to parameters: a file or a 4xx with a JSON
// error, never a 5xx.
func FuzzExportRequests(f *testing.F) {
	for _, s := range [][4]string{
		{"en.srt", "", "", ""}, {"en.vtt", "2s", "0s", "1m30s"}, {"en.ttml", "-5s", "", ""}, {"en.stl", "", "10s", "5s"},
		{"en.ebu-tt-d.xml", "", "", ""}, {"fr.srt", "", "", ""}, {"en.exe", "", "", ""}, {"..%2fen.srt", "", "", ""},
		{"en.srt", "9999999h", "-1s", "x"}, {"en.srt", "1e9s", "", ""}, {".srt", "", "", ""}, {"en", "", "", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	ignore := goleak.IgnoreCurrent()
	f.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		goleak.VerifyNone(f, ignore)
	})
	m := newMatrixEvent(f, "")
	f.Fuzz(func(t *testing.T, file, offset, from, to string) {
		q := "?offset=" + queryEscape(offset) + "&from=" + queryEscape(from) + "&to=" + queryEscape(to)
		req := httptest.NewRequest("GET", "/api/events/test/captions/x", nil)
		req.URL.Path = "/api/events/test/captions/" + file
		req.URL.RawPath = ""
		req.URL.RawQuery = strings.TrimPrefix(q, "?")
		req.Header.Set("Authorization", "Bearer "+m.secrets[roleEditor])
		rec := httptest.NewRecorder()
		m.srv.ServeHTTP(rec, req)
		switch {
		case rec.Code >= 200 && rec.Code < 400:
		case rec.Code >= 400 && rec.Code < 500:
			if !strings.Contains(rec.Body.String(), `"error"`) {
				t.Fatalf("%q %s: %d without a JSON error: %s", file, q, rec.Code, rec.Body.String())
			}
		default:
			t.Fatalf("%q %s: status %d: %s", file, q, rec.Code, rec.Body.String())
		}
	})
}

func queryEscape(s string) string {
	r := strings.NewReplacer("%", "%25", "&", "%26", "#", "%23", "+", "%2B", " ", "%20")
	return r.Replace(s)
}
