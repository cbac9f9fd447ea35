//go:build browser

package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/rtc"
	"tolk/internal/store"
)

// consoleBooth is an interpreter in a Go booth client for the console tests:
// it speaks a clip in a loop and records the producer's messages and when and
// how its connection ended.
type consoleBooth struct {
	*boothClient
	mu       sync.Mutex
	notices  []map[string]any // "producer" messages
	closedAt time.Time
	done     chan struct{}
}

func joinConsoleBooth(t *testing.T, ctx context.Context, b *boothHarness, lang, name string, onAir bool) *consoleBooth {
	t.Helper()
	c := &consoleBooth{boothClient: dialBooth(t, ctx, b.http.URL, lang, b.token(t, lang, name)), done: make(chan struct{})}
	c.expect(ctx, "welcome")
	if onAir {
		c.send(map[string]any{"type": "mic", "on": true})
	}
	go func() { // ends when the connection does
		defer close(c.done)
		for m := range c.msgs {
			if m["type"] == "producer" {
				c.mu.Lock()
				c.notices = append(c.notices, m)
				c.mu.Unlock()
			}
		}
		c.mu.Lock()
		c.closedAt = time.Now()
		c.mu.Unlock()
	}()
	return c
}

// opusLoop is pcm as 20 ms Opus packets, encoded once so that many
// speakers can loop them without an encoder each.
func opusLoop(t testing.TB, pcm []float32) [][]byte {
	t.Helper()
	pkts, err := audiotest.OpusPackets(pcm, 32000)
	if err != nil {
		t.Fatal(err)
	}
	return pkts
}

// speakLoop sends pkts, looped, in real time until ctx is done; a closed
// connection only makes the packets go nowhere.
func (c *consoleBooth) speakLoop(ctx context.Context, pkts [][]byte) {
	audiotest.Paced(ctx, -1, func(i int) bool {
		_ = c.Speak(pkts[i%len(pkts)], audio.FrameDuration)
		return true
	})
}

func (c *consoleBooth) producerTexts() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.notices {
		s, _ := m["text"].(string)
		if all, _ := m["all"].(bool); all {
			s = "[all] " + s
		}
		out = append(out, s)
	}
	return out
}

// consoleControl is what the browser script asks of the Go side while it
// drives the console: WebRTC listeners that come and go, and booth signals.
type consoleControl struct {
	t      *testing.T
	base   string
	api    *webrtc.API
	booths map[string]*consoleBooth
	proxy  *tcpProxy // the page's way to the server, cut on request
	mu     sync.Mutex
	lis    map[string][]*rtc.Listener
}

func (cc *consoleControl) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lang := q.Get("lang")
	reply := func(v any, err error) {
		if err != nil {
			cc.t.Logf("control %s: %v", r.URL, err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	switch r.URL.Path {
	case "/listeners":
		n, _ := strconv.Atoi(q.Get("n"))
		reply(map[string]int{"n": n}, cc.listeners(r.Context(), lang, n))
	case "/drop":
		reply(map[string]int{"dropped": cc.proxy.drop()}, nil)
	case "/signal":
		c, ok := cc.booths[lang]
		if !ok {
			reply(nil, fmt.Errorf("no booth client for %q", lang))
			return
		}
		msg := map[string]any{"type": "slow_down"}
		if q.Get("kind") == "message" {
			msg = map[string]any{"type": "to_producer", "text": q.Get("text")}
		}
		sent := time.Now().UnixMilli()
		reply(map[string]int64{"sent_ms": sent}, c.Send(msg))
	default:
		http.NotFound(w, r)
	}
}

// listeners dials or hangs up WHEP listeners of lang until there are n.
func (cc *consoleControl) listeners(ctx context.Context, lang string, n int) error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	for len(cc.lis[lang]) < n {
		l, err := rtc.DialWHEP(ctx, cc.api, cc.base+"/whep/test/"+lang, 64)
		if err != nil {
			return err
		}
		cc.lis[lang] = append(cc.lis[lang], l)
	}
	for len(cc.lis[lang]) > n {
		last := len(cc.lis[lang]) - 1
		if err := cc.lis[lang][last].Close(ctx); err != nil {
			return err
		}
		cc.lis[lang] = cc.lis[lang][:last]
	}
	return nil
}

func (cc *consoleControl) close() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	for _, ls := range cc.lis {
		for _, l := range ls {
			_ = l.Close(context.Background())
		}
	}
	cc.lis = nil
}

// tcpProxy forwards connections to a server; drop cuts every open one, as a
// network that fails does.
type tcpProxy struct {
	ln    net.Listener
	to    string
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func startProxy(t *testing.T, to string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, to: to, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go func() { // ends when the listener closes
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", to)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = struct{}{}, struct{}{}
			p.mu.Unlock()
			p.wg.Add(2)
			pipe := func(dst, src net.Conn) {
				defer p.wg.Done()
				_, _ = io.Copy(dst, src)
				dst.Close()
				src.Close()
			}
			go pipe(up, c)
			go pipe(c, up)
		}
	}()
	return p
}

// URL is the proxy's base URL.
func (p *tcpProxy) URL() string { return "http://" + p.ln.Addr().String() }

// drop closes every connection through the proxy and returns how many
// there were.
func (p *tcpProxy) drop() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.conns) / 2
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
	return n
}

func (p *tcpProxy) close() {
	p.ln.Close()
	p.drop()
	p.wg.Wait()
}

func loadVoice(t *testing.T, file string) []float32 {
	t.Helper()
	pcm, err := audiotest.Decode(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	return pcm
}

// TestBrowserConsole drives the producer console in Chromium against a real
// server with two interpreted languages, an interpreter speaking in each
// (Go booth clients) and WebRTC listeners that come and go: the cards name
// the interpreters and their program meters move; the listener count follows
// a connect and a hang-up; a booth's "slow down" and message reach the alert
// list within a second (timed from the booth's send to the page showing it,
// one clock), sound, and are answered from the alert; the monitor plays the
// language listened to; mute shows in the status; a duck depth is applied and
// a refused one's error shown; and revoking an interpreter's token from the
// tokens dialog ends that booth's connection within a second, with 4003.
func TestBrowserConsole(t *testing.T) {
	leakCheck(t)
	audiotest.NeedTool(t, "ffmpeg")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	voiceA := opusLoop(t, loadVoice(t, "../testdata/voice-a.wav"))
	voiceB := opusLoop(t, loadVoice(t, "../testdata/voice-b.wav"))
	b := startBooths(t, "{tag: fr}, {tag: de}")
	prod, _, err := b.store.CreateToken(ctx, "test", store.RoleProducer, "", "Pat")
	if err != nil {
		t.Fatal(err)
	}
	anne := joinConsoleBooth(t, ctx, b, "fr", "Anne", true)
	bea := joinConsoleBooth(t, ctx, b, "fr", "Bea", false)
	dieter := joinConsoleBooth(t, ctx, b, "de", "Dieter", true)
	talk, stopTalk := context.WithCancel(ctx)
	var speakers sync.WaitGroup
	speakers.Add(2)
	go func() { defer speakers.Done(); anne.speakLoop(talk, voiceA) }()
	go func() { defer speakers.Done(); dieter.speakLoop(talk, voiceB) }()
	defer func() {
		stopTalk()
		speakers.Wait()
		for _, c := range []*consoleBooth{anne, bea, dieter} {
			c.close()
		}
	}()

	api, err := rtc.NewAPI(rtc.Options{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	// The page reaches the server through a proxy the script can cut.
	proxy := startProxy(t, strings.TrimPrefix(b.http.URL, "http://"))
	defer proxy.close()
	cc := &consoleControl{t: t, base: b.http.URL, api: api, booths: map[string]*consoleBooth{"fr": anne, "de": dieter}, proxy: proxy, lis: map[string][]*rtc.Listener{}}
	ctl := httptest.NewServer(cc)
	defer ctl.Close()
	defer cc.close()

	var rep consoleReport
	runBrowser(t, "console.mjs", &rep, proxy.URL(), "--event", "test", "--token", prod, "--control", ctl.URL,
		"--langs", "fr,de", "--revoke-name", "Anne")

	// The refused duck depth is a 400 that Chromium logs; nothing else may be.
	consoleErrors := slices.DeleteFunc(rep.ConsoleErrors, func(s string) bool { return strings.Contains(s, "status of 400") })
	if len(rep.PageErrors) > 0 || len(consoleErrors) > 0 || !rep.MonitorStopped {
		t.Errorf("page errors %q, console errors %q, monitor stopped %v", rep.PageErrors, rep.ConsoleErrors, rep.MonitorStopped)
	}
	// The interpreters, by name, on their cards.
	if !slices.Contains(rep.Names["fr"], "Anne") || !slices.Contains(rep.Names["fr"], "Bea") || !slices.Contains(rep.Names["de"], "Dieter") {
		t.Errorf("interpreters on the cards: %v", rep.Names)
	}
	// Program meters move with the speech.
	for _, lang := range []string{"fr", "de"} {
		if m := rep.Meters[lang]; !m.Moved {
			t.Errorf("the %s program meter did not move: %+v", lang, m)
		}
	}
	// The listener count follows a connect and a hang-up.
	if len(rep.Listeners) != 2 || rep.Listeners[0].N != 2 || rep.Listeners[1].N != 0 {
		t.Errorf("listener counts: %+v", rep.Listeners)
	}
	for _, l := range rep.Listeners {
		t.Logf("%d WebRTC listeners of %s on the card %d ms after asking: %q", l.N, l.Lang, l.MS, l.Text)
	}
	// The monitor plays what is listened to.
	for _, lang := range []string{"fr", "de"} {
		m := rep.Monitor[lang]
		t.Logf("monitor %s: %.1f dBFS RMS, listening %d ms after the click", lang, m.RMSDB, m.ListeningMS)
		if m.RMSDB <= -55 || m.Pressed != "true" {
			t.Errorf("monitor of %s: %+v", lang, m)
		}
	}
	// Booth signals reach the alert list within a second, with a sound and
	// a flag on the booth's card.
	if len(rep.Alerts) != 2 {
		t.Fatalf("%d alerts, want 2: %+v", len(rep.Alerts), rep.Alerts)
	}
	for i, want := range []string{"slow_down", "message"} {
		a := rep.Alerts[i]
		t.Logf("%s from %s (%s): shown %d ms after the booth sent it; sound %v; card %q", a.Kind, a.From, a.Lang, a.DelayMS, a.Beeped, a.CardFlag)
		if a.Kind != want || a.Lang != "fr" || a.From != "Anne" || !a.Beeped || a.CardFlag == "" {
			t.Errorf("alert %d: %+v", i, a)
		}
		if a.DelayMS < 0 || a.DelayMS >= 1000 {
			t.Errorf("%s alert shown %d ms after it was sent, want < 1000 ms", a.Kind, a.DelayMS)
		}
	}
	// The reply from the alert reaches Anne; the notice, both booths.
	waitFor(ctx, t, "Anne gets the reply and the notice", func() bool {
		got := anne.producerTexts()
		return slices.Contains(got, rep.Reply.Text) && slices.Contains(got, "[all] "+rep.NoticeAll.Text)
	})
	waitFor(ctx, t, "Dieter gets the notice", func() bool { return slices.Contains(dieter.producerTexts(), "[all] "+rep.NoticeAll.Text) })
	if !rep.Reply.Dismissed {
		t.Error("dismissing the alert did not remove it")
	}
	// Mute and release show in the status.
	t.Logf("mute: status shows it %d ms after the click (released %d ms); the card reads %q", rep.Mute.MutedMS, rep.Mute.ReleasedMS, rep.Mute.Pill)
	if fr, _ := b.ev.Booth("fr"); fr != nil {
		if s, err := fr.Snapshot(); err != nil || s.Muted {
			t.Errorf("fr booth after release: muted %v, %v", s.Muted, err)
		}
	}
	// The duck depth from the drawer, and the server's refusal beside it.
	if m, _ := b.ev.Mix("fr"); m.Settings().DuckDB != -20 {
		t.Errorf("fr duck depth %v, want -20", m.Settings().DuckDB)
	}
	if !strings.Contains(rep.Duck.Error, "duck_db") {
		t.Errorf("a refused duck depth shows %q, want the server's error", rep.Duck.Error)
	}
	// The glossary, edited from the console by keyboard, is the event's.
	g, v := b.ev.Glossary().Get()
	t.Logf("glossary: %q, then %q", rep.Glossary.Saved, rep.Glossary.Refused)
	if v != 1 || !slices.Equal(g.Terms, []string{"Zyphrex", "clean energy"}) || !slices.Equal(g.Speakers, []string{"Ada Oyelaran", "Kenji Brennholt"}) ||
		g.Text != "Keynote: Ada Oyelaran." {
		t.Errorf("the event's glossary after the console saved it: %+v (version %d)", g, v)
	}
	if !strings.Contains(rep.Glossary.Saved, "1") || !strings.Contains(rep.Glossary.Refused, "at most 100") || rep.Glossary.FocusBack != "glossary-open" {
		t.Errorf("glossary dialog: %+v", rep.Glossary)
	}
	if !rep.TokenCreated.LinkOK {
		t.Error("no booth link after creating a token")
	}
	// Revoking Anne's token from the dialog ends her booth's connection
	// within a second, with close code 4003.
	select {
	case <-anne.done:
	case <-time.After(5 * time.Second):
		t.Fatal("Anne's booth connection did not end after her token was revoked")
	}
	anne.mu.Lock()
	closed := anne.closedAt
	anne.mu.Unlock()
	delay := closed.Sub(time.UnixMilli(rep.Revoke.ClickedAt))
	t.Logf("revocation: %d live session(s) before; Anne's connection ended %d ms after the click (DELETE answered after %d ms)",
		rep.RevokeLiveBefore, delay.Milliseconds(), rep.Revoke.AnsweredAt-rep.Revoke.ClickedAt)
	if !rep.Revoke.OK || !rep.Revoke.RowRevoked || rep.RevokeLiveBefore < 1 {
		t.Errorf("revoke: %+v, live before %d", rep.Revoke, rep.RevokeLiveBefore)
	}
	if delay < 0 || delay >= time.Second {
		t.Errorf("Anne's connection ended %v after the revoke click, want < 1 s", delay)
	}
	var ce *websocket.CloseError
	if err := anne.Ended(); !errors.As(err, &ce) || ce.Code != 4003 {
		t.Errorf("Anne's connection ended with %v, want close code 4003", err)
	}
	if rep.LiveAfterRevoke.State != "live" {
		t.Errorf("the console is %q after revoking Anne, want live", rep.LiveAfterRevoke.State)
	}
	// A dropped network: the console reconnects and hears again.
	r := rep.Reconnect
	t.Logf("network cut (%d connections): reconnecting after %d ms, live again after %d ms, monitor at %.1f dBFS; states %v",
		r.ConnectionsCut, r.ReconnectingMS, r.LiveMS, r.RMSDB, r.States)
	if r.ConnectionsCut < 1 || r.RMSDB <= -55 || !slices.Contains(r.States, "reconnecting") {
		t.Errorf("reconnection: %+v", r)
	}
	if !rep.DirectTake {
		t.Error("direct takes were not allowed from the drawer")
	}
	if fr, ok := b.ev.Booth("fr"); ok {
		if s, err := fr.Snapshot(); err != nil || !s.DirectTake {
			t.Errorf("fr booth direct take %v, %v", s.DirectTake, err)
		}
	}
	// Its own token revoked, the console says so and does not come back.
	sr := rep.SelfRevoke
	t.Logf("own token revoked: the page says %q %d ms after the click", sr.Banner, sr.MS)
	if sr.State != "revoked" || sr.CloseCode != 4003 || sr.Attempts != 0 || sr.Banner == "" {
		t.Errorf("after revoking its own token the console is %+v, want revoked (4003), no reconnection, a banner", sr)
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Errorf("%s: not within 10 s", what)
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

type consoleReport struct {
	PageErrors    []string `json:"page_errors"`
	ConsoleErrors []string `json:"console_errors"`
	ReadyMS       int      `json:"ready_ms"`
	Names         map[string][]string
	Meters        map[string]struct {
		Moved bool
	}
	Listeners []struct {
		Lang string
		N    int
		MS   int
		Text string
	}
	MonitorStopped bool `json:"monitor_stopped"`
	Monitor        map[string]struct {
		RMSDB       float64 `json:"rms_db"`
		ListeningMS int     `json:"listening_ms"`
		Pressed     string
	}
	Alerts []struct {
		Kind     string
		Lang     string
		From     string
		DelayMS  int64 `json:"delay_ms"`
		Beeped   bool
		CardFlag string `json:"card_flag"`
	}
	Reply struct {
		Text      string
		Dismissed bool
	}
	NoticeAll struct{ Text string } `json:"notice_all"`
	Glossary  struct {
		Saved     string `json:"saved"`
		Refused   string `json:"refused"`
		FocusBack string `json:"focus_back"`
	} `json:"glossary"`
	Mute struct {
		MutedMS    int `json:"muted_ms"`
		ReleasedMS int `json:"released_ms"`
		Pill       string
	}
	Duck         struct{ Error string }
	TokenCreated struct {
		LinkOK bool `json:"link_ok"`
	} `json:"token_created"`
	RevokeLiveBefore int `json:"revoke_live_before"`
	Revoke           struct {
		ClickedAt  int64 `json:"clicked_at"`
		AnsweredAt int64 `json:"answered_at"`
		OK         bool
		RowRevoked bool `json:"row_revoked"`
	}
	LiveAfterRevoke struct{ State string } `json:"live_after_revoke"`
	Reconnect       struct {
		ConnectionsCut int     `json:"connections_cut"`
		ReconnectingMS int     `json:"reconnecting_ms"`
		LiveMS         int     `json:"live_ms"`
		RMSDB          float64 `json:"rms_db"`
		States         []string
	}
	DirectTake bool `json:"direct_take"`
	SelfRevoke struct {
		State     string
		CloseCode int `json:"close_code"`
		Attempts  int
		Banner    string
		MS        int
	} `json:"self_revoke"`
}

// screenshotDir is where the layout test writes its screenshots:
// $TOLK_SCREENSHOTS, or the test's temporary directory.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("TOLK_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		abs, _ := filepath.Abs(d)
		return abs
	}
	return t.TempDir()
}

// TestBrowserConsoleLayout opens the console of a busy event (twelve
// interpreted languages and the floor, an interpreter speaking in every
// booth, a second one in some, a muted booth, two open microphones, WebRTC
// listeners, a "slow down" and a message) at 1440×900 and 1366×768 and
// checks that every card and the booth traffic fit the window without
// scrolling, also in dark and in Arabic (right to left). The screenshots go to
// $TOLK_SCREENSHOTS when it is set.
func TestBrowserConsoleLayout(t *testing.T) {
	leakCheck(t)
	audiotest.NeedTool(t, "ffmpeg")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	voices := [][][]byte{opusLoop(t, loadVoice(t, "../testdata/voice-a.wav")), opusLoop(t, loadVoice(t, "../testdata/voice-b.wav"))}
	langs := []string{"fr", "de", "es", "it", "pt", "ru", "ar", "zh", "ja", "ko", "tr", "nl"}
	var cfg []string
	for _, l := range langs {
		cfg = append(cfg, "{tag: "+l+"}")
	}
	b := startBooths(t, strings.Join(cfg, ", "))
	prod, _, err := b.store.CreateToken(ctx, "test", store.RoleProducer, "", "Pat")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string][]string{
		"fr": {"Anne Lefèvre", "Bea Laurent"}, "de": {"Dieter Krause", "Hanna Vogel"}, "es": {"Lucía Gómez", "Pablo Ruiz"},
		"it": {"Giulia Conti"}, "pt": {"João Sousa"}, "ru": {"Olga Ivanova", "Pavel Orlov"}, "ar": {"Layla Haddad"},
		"zh": {"Wang Fang"}, "ja": {"Sato Yuki"}, "ko": {"Kim Minji"}, "tr": {"Elif Yılmaz"}, "nl": {"Sanne de Vries"},
	}
	var booths []*consoleBooth
	byLang := map[string]*consoleBooth{}
	talk, stopTalk := context.WithCancel(ctx)
	var speakers sync.WaitGroup
	defer func() {
		stopTalk()
		speakers.Wait()
		for _, c := range booths {
			c.close()
		}
	}()
	for i, l := range langs {
		for j, name := range names[l] {
			// Spanish has both microphones open: the booth warns.
			c := joinConsoleBooth(t, ctx, b, l, name, j == 0 || l == "es")
			booths = append(booths, c)
			if j == 0 {
				byLang[l] = c
				speakers.Add(1)
				go func() { defer speakers.Done(); c.speakLoop(talk, voices[i%2]) }()
			}
		}
	}
	if bo, ok := b.ev.Booth("pt"); ok {
		bo.SetMuted(true)
	}
	api, err := rtc.NewAPI(rtc.Options{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	cc := &consoleControl{t: t, base: b.http.URL, api: api, booths: byLang, lis: map[string][]*rtc.Listener{}}
	ctl := httptest.NewServer(cc)
	defer ctl.Close()
	defer cc.close()
	for l, n := range map[string]int{"fr": 2, "de": 1, "en": 1} {
		if err := cc.listeners(ctx, l, n); err != nil {
			t.Fatal(err)
		}
	}

	dir := screenshotDir(t)
	var rep struct {
		PageErrors    []string `json:"page_errors"`
		ConsoleErrors []string `json:"console_errors"`
		Shots         []struct {
			Name, File, Scheme, Locale string
			Width, Height, Cards, Cols int
			GridBottom                 int  `json:"grid_bottom"`
			Fits                       bool `json:"fits"`
		}
		Locales map[string]struct {
			Cards         int
			GridBottom    int  `json:"grid_bottom"`
			NaturalBottom int  `json:"natural_bottom"`
			Fits          bool `json:"fits"`
		}
	}
	runBrowser(t, "console_layout.mjs", &rep, b.http.URL, "--event", "test", "--token", prod, "--control", ctl.URL,
		"--shots", dir, "--sizes", "1440x900,1366x768", "--slow-down", "it", "--message", "de", "--every-locale="+strconv.FormatBool(os.Getenv("TOLK_SCREENSHOTS") != ""))
	if len(rep.PageErrors) > 0 || len(rep.ConsoleErrors) > 0 {
		t.Errorf("page errors %q, console errors %q", rep.PageErrors, rep.ConsoleErrors)
	}
	if len(rep.Shots) != 6 {
		t.Fatalf("%d screenshots, want 6", len(rep.Shots))
	}
	for _, s := range rep.Shots {
		t.Logf("%s: %dx%d %s %s, %d cards in %d columns, grid down to %d px: %s", s.Name, s.Width, s.Height, s.Scheme, s.Locale, s.Cards, s.Cols, s.GridBottom, s.File)
		if s.Cards != 13 {
			t.Errorf("%s: %d cards, want 13", s.Name, s.Cards)
		}
		if !s.Fits {
			t.Errorf("%s: the grid reaches %d px in a %d px high window (or overflows sideways): it does not fit", s.Name, s.GridBottom, s.Height)
		}
	}
	if len(rep.Locales) != 12 {
		t.Errorf("%d interface languages measured, want 12", len(rep.Locales))
	}
	for loc, m := range rep.Locales {
		t.Logf("%s at 1366x768: the cards need %d px of 768", loc, m.NaturalBottom)
		if m.Cards != 13 || !m.Fits {
			t.Errorf("in %s at 1366x768 the grid reaches %d px with %d cards: it does not fit", loc, m.GridBottom, m.Cards)
		}
	}
}
