package web_test

import (
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/rtc"
	"tolk/internal/store"
	"tolk/locales"
)

// TestBrowserBoothHandover drives two real booth pages in Chromium, each with
// its own fake microphone, through a handover made by clicking, and proves
// through a WHEP listener of the French rendition that the right interpreter
// is on air before and after it. Anne speaks (a flite voice, recognised by the
// envelope of what is heard), Ben's microphone is a tone (recognised exactly):
// before the handover the listener hears Anne's speech and none of Ben's
// tone, after it Ben's tone and none of Anne's speech.
func TestBrowserBoothHandover(t *testing.T) {
	audiotest.NeedTool(t, "ffmpeg")
	voiceA, err := audiotest.Decode(context.Background(), "../testdata/voice-a.wav")
	if err != nil {
		t.Fatal(err)
	}
	wavA, _ := filepath.Abs("../testdata/voice-a.wav")
	const benHz = 880
	before, after := boothHandover(t, "--fake-mic-a", wavA, "--mic-hz-b", strconv.Itoa(benHz))
	// The tone's share of what is heard in the speech band (the floor is a
	// 12 kHz tone, filtered out): about 1 when Ben is on air, about 0 when
	// Anne is. It is the median over 100 ms steps: on a loaded machine the
	// tone reaches the server with gaps and jumps of phase, which cancel out
	// in one measure over seconds but not in each short one.
	tone := func(x []float32) float64 {
		lp := lowpass(x)
		const step = audio.SampleRate / 10
		var shares []float64
		for i := 0; i+step <= len(lp); i += step {
			w := lp[i : i+step]
			shares = append(shares, audiotest.Goertzel(w, benHz, audio.SampleRate)/(math.Sqrt2*audio.RMS(w)+1e-9))
		}
		return audiotest.Median(shares)
	}
	likeA0, likeA1 := envCorr(before, voiceA), envCorr(after, voiceA)
	tone0, tone1 := tone(before), tone(after)
	t.Logf("before: like Anne %.2f, Ben's tone %.2f of the sound; after: like Anne %.2f, Ben's tone %.2f", likeA0, tone0, likeA1, tone1)
	if likeA0 < 0.45 || tone0 > 0.1 {
		t.Errorf("before the handover Anne's voice is not the one on air (like Anne %.2f, Ben's tone %.2f)", likeA0, tone0)
	}
	if tone1 < 0.5 || likeA1 > likeA0-0.2 {
		t.Errorf("after the handover Ben is not the one on air (Ben's tone %.2f, like Anne %.2f)", tone1, likeA1)
	}
}

// envelope is the RMS of x in 10 ms steps.
func envelope(x []float32) []float64 {
	const step = audio.SampleRate / 100
	var e []float64
	for i := 0; i+step <= len(x); i += step {
		e = append(e, audio.RMS(x[i:i+step]))
	}
	return e
}

// envCorr is the best correlation between the envelope of heard (speech
// band) and the envelope of clip at any point of the looped clip: how much
// heard sounds like clip.
func envCorr(heard, clip []float32) float64 {
	h, c := envelope(lowpass(heard)), envelope(clip)
	best := -1.0
	for lag := range c {
		var sx, sy, sxx, syy, sxy float64
		for i, x := range h {
			y := c[(lag+i)%len(c)]
			sx, sy, sxx, syy, sxy = sx+x, sy+y, sxx+x*x, syy+y*y, sxy+x*y
		}
		n := float64(len(h))
		den := math.Sqrt((sxx - sx*sx/n) * (syy - sy*sy/n))
		if den > 0 {
			best = math.Max(best, (sxy-sx*sy/n)/den)
		}
	}
	return best
}

// boothHandover runs the handover timeline with the given microphones and
// returns what the French listener heard in the 3 s before and after it.
func boothHandover(t *testing.T, mics ...string) (before, after []float32) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b := startBooths(t, "{tag: fr}")
	tokA, tokB := b.token(t, "fr", "Anne"), b.token(t, "fr", "Ben")

	// Record the French program as a listener hears it, placed on the
	// program timeline by RTP timestamp (the program time of each frame).
	api, _ := rtc.NewAPI(rtc.Options{Loopback: true})
	lis, err := rtc.DialWHEP(ctx, api, b.http.URL+"/whep/test/fr", 4000)
	if err != nil {
		t.Fatal(err)
	}
	heard, stopRx0 := tapListener(lis)
	defer stopRx0()
	var (
		mu      sync.Mutex
		changes []int64 // program time of each change of the on-air member
		stopRx  = make(chan struct{})
		wg      sync.WaitGroup
	)
	wg.Add(1)
	booth, _ := b.ev.Booth("fr")
	go func() { // who is on air, as the server sees it, and from which program time
		defer wg.Done()
		last := "?"
		for {
			s, err := booth.Snapshot()
			if err == nil {
				id := ""
				if s.OnAir != nil {
					id = *s.OnAir
				}
				if id != last {
					mu.Lock()
					if last != "" && last != "?" && id != "" {
						changes = append(changes, s.PTS)
					}
					mu.Unlock()
					last = id
				}
			}
			select {
			case <-stopRx:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()

	timeline := []map[string]any{
		{"who": "a", "click": "mic"},
		{"who": "a", "waitFor": map[string]any{"onAir": "on"}},
		{"who": "b", "waitFor": map[string]any{"onAir": "partner"}},
		{"who": "a", "wait": 4000},
		{"who": "a", "click": "handover"},
		{"who": "b", "waitFor": map[string]any{"handover": "incoming"}},
		{"who": "b", "click": "accept"},
		{"who": "b", "waitFor": map[string]any{"onAir": "on", "mic": true}},
		{"who": "a", "waitFor": map[string]any{"onAir": "partner", "mic": false}},
		{"who": "b", "wait": 4000},
	}
	tl, _ := json.Marshal(timeline)
	var rep struct {
		A, B struct {
			Floor struct {
				PeakHz  float64 `json:"peak_hz"`
				Playing bool
			}
			Final map[string]any
		}
		Steps []struct{ Action string }
	}
	runBrowser(t, "booth2.mjs", &rep, append([]string{b.http.URL, "--event", "test", "--lang", "fr", "--token-a", tokA,
		"--token-b", tokB, "--timeline", string(tl)}, mics...)...)
	close(stopRx)
	wg.Wait()
	_ = lis.Close(ctx)

	// Every step of the timeline ran. (A failed step ends the script with an
	// error, which runBrowser reports; the steps it records all passed.)
	if len(rep.Steps) != len(timeline) {
		t.Errorf("%d of %d timeline steps ran: %+v", len(rep.Steps), len(timeline), rep.Steps)
	}
	// The pages hear the floor (a 12 kHz tone).
	if !near(rep.A.Floor.PeakHz, floorHz, 50) || !near(rep.B.Floor.PeakHz, floorHz, 50) {
		t.Errorf("the booth pages hear the floor at %.0f / %.0f Hz, want %d", rep.A.Floor.PeakHz, rep.B.Floor.PeakHz, floorHz)
	}
	// The handover on the program timeline: the on-air member changes from
	// one interpreter to the other.
	if len(changes) != 1 {
		t.Fatalf("%d handovers seen on the server, want 1 (at %v)", len(changes), changes)
	}
	ho := changes[0]
	const sec = audio.SampleRate
	before = span(ctx, t, heard, ho-7*sec/2, ho-sec/2)
	after = span(ctx, t, heard, ho+sec/2, ho+7*sec/2)
	if missing := heard.Missing(); missing > sec/10 {
		t.Errorf("the listener missed %d samples of the program", missing)
	}
	return before, after
}

// TestBrowserBoothProducer: a booth page in Chromium under the producer's
// hand. The page measures how far the floor it plays trails the program and
// reports it: the producer's status shows that delay for the interpreter,
// within what a loopback link allows. The producer's notices, to this booth
// and to all, appear on the page newest first, each announced and chimed;
// the producer's mute turns the on-air light from ON AIR to the muted state,
// announced once, and back when released; revoking the token ends the
// session: the page says so and does not try again.
func TestBrowserBoothProducer(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	b := startBooths(t, "{tag: fr}, {tag: es}")
	prod, _, err := b.store.CreateToken(ctx, "test", store.RoleProducer, "", "Pat")
	if err != nil {
		t.Fatal(err)
	}
	secret, tok, err := b.store.CreateToken(ctx, "test", store.RoleInterpreter, "fr", "Anne")
	if err != nil {
		t.Fatal(err)
	}
	en := locales.Catalog("en")
	const notice, noticeAll = "Speaker changes in two minutes", "Coffee break at 10:30"
	var rep struct {
		Delay struct {
			PageMS         *float64 `json:"page_ms"`
			Sent           int
			Clock          string
			StatusMS       *float64 `json:"status_ms"`
			LangMS         *float64 `json:"lang_floor_to_ear_ms"`
			Shown          string
			ShownVisible   bool     `json:"shown_visible"`
			JitterBufferMS *float64 `json:"jitter_buffer_ms"`
		}
		Notices struct {
			Answers []int
			Shown   []struct {
				Text, Time string
				All        bool
				Tag        *string
				Fresh      bool
			}
			NewestFirst bool `json:"newest_first"`
			BoxVisible  bool `json:"box_visible"`
			Heading     string
			Announced   []string
			Chimes      int
		}
		Mute struct {
			Status        int
			OnAirBefore   string `json:"on_air_before"`
			HookMuted     bool   `json:"hook_muted"`
			OnAirState    string `json:"onair_state"`
			OnAirText     string `json:"onair_text"`
			OnAirWho      string `json:"onair_who"`
			BannerVisible bool   `json:"banner_visible"`
			Banner        string
			Announcements int
			Released      struct {
				OnAirState    string `json:"onair_state"`
				BannerVisible bool   `json:"banner_visible"`
			}
		}
		Revoke struct {
			Status            int
			MS                int
			State             string
			ConnText          string `json:"conn_text"`
			NoticeVisible     bool   `json:"notice_visible"`
			Notice            string
			ReconnectVisible  bool  `json:"reconnect_visible"`
			MicLiveBefore     bool  `json:"mic_live_before"`
			MicLiveAfter      bool  `json:"mic_live_after"`
			CloseCode         *int  `json:"close_code"`
			SocketsBefore     int   `json:"sockets_before"`
			SocketsAfter      int   `json:"sockets_after"`
			NewWebSockets     int   `json:"new_websockets"`
			SocketURLRequests int   `json:"socket_url_requests"`
			TokenRevoked      *bool `json:"token_revoked"`
			TokenLive         *int  `json:"token_live"`
		}
	}
	runBrowser(t, "booth_producer.mjs", &rep, b.http.URL, "--event", "test", "--lang", "fr", "--token", secret,
		"--producer", prod, "--token-id", tok.ID, "--notice", notice, "--notice-all", noticeAll, "--quiet", "6")

	// The floor's delay: measured by the page, reported, in the status.
	d := rep.Delay
	if d.StatusMS == nil || *d.StatusMS <= 0 || *d.StatusMS > 2000 || d.PageMS == nil || d.Sent < 2 {
		t.Errorf("floor → ear: status %v ms, page %v ms after %d reports; want 0 < ms ≤ 2000", ptr(d.StatusMS), ptr(d.PageMS), d.Sent)
	}
	if d.LangMS == nil || d.StatusMS == nil || *d.LangMS != *d.StatusMS {
		t.Errorf("the language's floor_to_ear_ms is %v, want the on-air interpreter's %v", ptr(d.LangMS), ptr(d.StatusMS))
	}
	if !d.ShownVisible || d.PageMS == nil || !strings.Contains(d.Shown, strings.Split(en["booth.delay.value"], " {")[0]) {
		t.Errorf("the page shows %q (visible %v) for the floor delay", d.Shown, d.ShownVisible)
	}
	t.Logf("floor → ear: page %v ms, status %v ms (receiver timestamps on the %s clock; Chrome's jitter buffer %v ms)",
		ptr(d.PageMS), ptr(d.StatusMS), d.Clock, ptr(d.JitterBufferMS))

	// Notices: both answered, both shown newest first with their time, the
	// one to all booths marked so, each announced and chimed.
	n := rep.Notices
	if len(n.Answers) != 2 || n.Answers[0] != 200 || n.Answers[1] != 200 {
		t.Errorf("notice answers %v", n.Answers)
	}
	if !n.BoxVisible || n.Heading != en["booth.notice.heading"] || !n.NewestFirst || len(n.Shown) != 2 {
		t.Fatalf("notices shown %+v (box visible %v, heading %q)", n.Shown, n.BoxVisible, n.Heading)
	}
	if s := n.Shown[0]; !s.All || s.Tag == nil || *s.Tag != en["booth.notice.all"] || !s.Fresh || s.Time == "" {
		t.Errorf("the notice to all booths is shown as %+v", s)
	}
	if s := n.Shown[1]; s.All || s.Tag != nil || s.Fresh || s.Time == "" {
		t.Errorf("the notice to this booth is shown as %+v", s)
	}
	wantSaid := []string{
		strings.ReplaceAll(en["booth.notice.announce"], "{text}", notice),
		strings.ReplaceAll(en["booth.notice.announce_all"], "{text}", noticeAll),
	}
	for _, w := range wantSaid {
		if !slices.ContainsFunc(n.Announced, func(s string) bool { return strings.Contains(s, w) }) {
			t.Errorf("the page did not announce %q (announced %q)", w, n.Announced)
		}
	}
	if n.Chimes != 2 {
		t.Errorf("%d chimes for 2 notices", n.Chimes)
	}

	// Mute: never ON AIR while muted; said once; back when released.
	m := rep.Mute
	if m.Status != 200 || !m.HookMuted || m.OnAirBefore != "on" || m.OnAirState != "muted" || m.OnAirText != en["booth.onair.muted"] ||
		m.OnAirWho != en["booth.onair.muted_floor"] || !m.BannerVisible || m.Banner != en["booth.muted.banner"] {
		t.Errorf("muted booth: %+v", m)
	}
	if m.Announcements != 1 {
		t.Errorf("the mute was announced %d times, want once", m.Announcements)
	}
	if m.Released.OnAirState != "on" || m.Released.BannerVisible {
		t.Errorf("released booth: %+v", m.Released)
	}

	// Revocation: said, final, and no new connection.
	r := rep.Revoke
	if r.Status != 204 || r.State != "revoked" || r.ConnText != en["booth.conn.revoked"] || !r.NoticeVisible ||
		r.Notice != en["booth.revoked.detail"] || r.ReconnectVisible {
		t.Errorf("revoked page: %+v", r)
	}
	if !r.MicLiveBefore || r.MicLiveAfter {
		t.Errorf("microphone live before the revocation %v, after %v: want it released", r.MicLiveBefore, r.MicLiveAfter)
	}
	if r.CloseCode == nil || *r.CloseCode != 4003 {
		t.Errorf("close code %v, want 4003", ptr(r.CloseCode))
	}
	if r.NewWebSockets != 0 || r.SocketsAfter != r.SocketsBefore || r.SocketURLRequests != 0 {
		t.Errorf("after the revocation the page opened %d WebSockets (hook: %d → %d) and sent %d requests to the socket's URL",
			r.NewWebSockets, r.SocketsBefore, r.SocketsAfter, r.SocketURLRequests)
	}
	if r.TokenRevoked == nil || !*r.TokenRevoked || r.TokenLive == nil || *r.TokenLive != 0 {
		t.Errorf("the token list says revoked %v, live %v", ptr(r.TokenRevoked), ptr(r.TokenLive))
	}
	t.Logf("revocation shown after %d ms", r.MS)
}

// ptr shows a pointer's value, or nil.
func ptr[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
