package interpreter

import (
	"context"
	"log/slog"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hraban/opus"
	"github.com/pion/rtp"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/rtc"
	"tolk/mixer"
)

// The interpreter's link under loss and cuts, end to end on the program
// timeline: real Opus packets (FEC on, as browsers send them) through the
// microphone's jitter buffer, the booth's voice and the language's mix, one
// tick at a time on a manual clock, so every measure is program time.

const (
	lossFloorFreq = 200.0 // the floor bed: a steady tone (4 cycles a tick) listeners should never lose
	lossFloorAmp  = 0.25
)

var speechOnce struct {
	sync.Once
	x   []float32
	err error
}

// lossSpeech is the first secs seconds of testdata/voice-a.wav (decoded
// once for all the tests).
func lossSpeech(t *testing.T, secs int) []float32 {
	t.Helper()
	audiotest.NeedTool(t, "ffmpeg")
	speechOnce.Do(func() {
		speechOnce.x, speechOnce.err = audiotest.Decode(context.Background(), filepath.Join("..", "testdata", "voice-a.wav"))
	})
	if speechOnce.err != nil {
		t.Fatal(speechOnce.err)
	}
	x := speechOnce.x
	return x[:min(len(x), secs*audio.SampleRate)]
}

// lossPackets encodes x as a browser sends its microphone: 20 ms VoIP Opus
// at 32 kb/s with in-band FEC.
func lossPackets(t *testing.T, x []float32) [][]byte {
	t.Helper()
	enc, err := opus.NewEncoder(audio.SampleRate, 1, opus.AppVoIP)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{enc.SetBitrate(32000), enc.SetInBandFEC(true), enc.SetPacketLossPerc(10)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	var out [][]byte
	buf := make([]byte, 1500)
	for i := 0; i+audio.FrameSamples <= len(x); i += audio.FrameSamples {
		n, err := enc.EncodeFloat32(x[i:i+audio.FrameSamples], buf)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, append([]byte(nil), buf[:n]...))
	}
	return out
}

// arrival is a packet and when it reaches the server, from the start.
type arrival struct {
	at time.Duration
	p  *rtp.Packet
}

// lossStream numbers the packets of one RTP stream sent every 20 ms from
// start on.
func lossStream(payloads [][]byte, ssrc uint32, seq0 uint16, start time.Duration) []arrival {
	a := make([]arrival, len(payloads))
	for i, pl := range payloads {
		a[i] = arrival{at: start + time.Duration(i)*audio.FrameDuration, p: &rtp.Packet{
			Header:  rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq0 + uint16(i), Timestamp: uint32(i * audio.FrameSamples), SSRC: ssrc},
			Payload: pl,
		}}
	}
	return a
}

// tickRec is what one tick of the program held.
type tickRec struct {
	live     bool    // the microphone played audio that arrived (not concealment, not nothing)
	voice    float64 // RMS of the voice the mix took, 0 when it had none
	voiced   bool    // the voice gave the mix a frame
	bedDB    float64 // the floor bed's level relative to the floor at full level, dB
	duckDB   float64 // the ducking gain at the end of the tick
	floorOut float64 // the floor tone's amplitude in the program (Hann-windowed Goertzel)
}

// watchedMic is the microphone as the voice reads it, noting per tick whether
// it played audio that arrived.
type watchedMic struct {
	*rtc.Mic
	live bool
}

func (w *watchedMic) ReadFrame(pts int64) (audio.Frame, bool) {
	f, ok := w.Mic.ReadFrame(pts)
	w.live = ok && !w.Mic.Starved()
	return f, ok
}

// tapVoice is the voice as the mix takes it.
type tapVoice struct {
	v     *Voice
	rms   float64
	given bool
}

func (s *tapVoice) ReadFrame(pts int64) (audio.Frame, bool) {
	f, ok := s.v.ReadFrame(pts)
	s.rms, s.given = 0, ok
	if ok {
		s.rms = audio.RMS(f.Samples)
	}
	return f, ok
}

// lossRig is one booth on air with its language's mix.
type lossRig struct {
	t     *testing.T
	clk   *audiotest.Clock
	mic   *watchedMic
	voice *Voice
	tap   *tapVoice
	mix   *mixer.Mix
	booth *Booth
	conn  *recConn
	now   time.Duration
}

func newLossRig(t *testing.T) *lossRig {
	t.Helper()
	clk := audiotest.NewClock()
	m, err := rtc.NewMic(clk)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVoice(48000)
	if err != nil {
		t.Fatal(err)
	}
	mix, err := mixer.New(mixer.Config{Lang: "fr", Ducking: mixer.DefaultDucking()})
	if err != nil {
		t.Fatal(err)
	}
	r := &lossRig{t: t, clk: clk, mic: &watchedMic{Mic: m}, voice: v, tap: &tapVoice{v: v}, mix: mix, conn: &recConn{}}
	mix.SetVoice(r.tap)
	r.booth = NewBooth("fr", v, mix, clk, slog.New(slog.DiscardHandler))
	t.Cleanup(func() { r.booth.Close(); v.Close(); mix.Close() })
	if err := r.booth.Join("A", "Anne", r.mic, nil, r.conn); err != nil {
		t.Fatal(err)
	}
	if err := r.booth.Do("A", r.conn, Action{Type: "mic", On: true}); err != nil {
		t.Fatal(err)
	}
	return r
}

// run plays ticks ticks of program from tick first on, delivering the
// arrivals due by each tick (half a tick after the packet of the same number
// is sent), and records each tick.
func (r *lossRig) run(arr []arrival, first, ticks int) []tickRec {
	sort.SliceStable(arr, func(i, j int) bool { return arr[i].at < arr[j].at })
	sub := r.mix.PCM().Read("test", 4)
	defer sub.Close()
	full := lossFloorAmp / math.Sqrt2
	recs := make([]tickRec, 0, ticks)
	next := 0
	for k := first; k < first+ticks; k++ {
		tick := time.Duration(k)*audio.FrameDuration + audio.FrameDuration/2
		for ; next < len(arr) && arr[next].at <= tick; next++ {
			r.to(arr[next].at)
			r.mic.Push(arr[next].p)
		}
		r.to(tick)
		pts := int64(k * audio.FrameSamples)
		r.mix.Process(pts, audiotest.Tone(lossFloorFreq, lossFloorAmp, int(pts), audio.FrameSamples))
		u := <-sub.C
		me := r.mix.Meters()
		recs = append(recs, tickRec{live: r.mic.live && r.tap.given, voice: r.tap.rms, voiced: r.tap.given,
			bedDB: me.FloorBedDB - audio.GainToDB(full), duckDB: me.DuckDB,
			floorOut: audiotest.Goertzel(u.PCM, lossFloorFreq, audio.SampleRate)})
	}
	return recs
}

func (r *lossRig) to(d time.Duration) {
	if d > r.now {
		r.clk.Advance(d - r.now)
		r.now = d
	}
}

// dropRandom drops each packet (but the first few, so playout starts) with
// probability p, and returns the longest run of packets dropped in a row.
func dropRandom(arr []arrival, p float64, seed uint64) ([]arrival, int) {
	rng := rand.New(rand.NewPCG(seed, 14))
	kept := arr[:0:0]
	run, longest := 0, 0
	for i, a := range arr {
		if i > 3 && rng.Float64() < p {
			run++
			longest = max(longest, run)
			continue
		}
		run = 0
		kept = append(kept, a)
	}
	return kept, longest
}

// speaking marks the ticks whose clean voice is clearly speech (above −35
// dBFS), the only ones where a hole can be heard.
func speaking(clean []tickRec) []bool {
	s := make([]bool, len(clean))
	for k, c := range clean {
		s[k] = c.voice > audio.DBToGain(-35)
	}
	return s
}

// holes returns the longest run of ticks where the clean run's voice speaks
// and the lossy one's is silent (below −60 dBFS or absent): what a listener
// would hear as the interpreter dropping out.
func holes(clean, lossy []tickRec) int {
	sp := speaking(clean)
	run, longest := 0, 0
	for k := range lossy {
		if sp[k] && lossy[k].voice < audio.DBToGain(-60) {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}

// envelopeCorr correlates the per-tick voice level (dB) of two runs over the
// ticks where the clean one speaks.
func envelopeCorr(clean, lossy []tickRec) float64 {
	sp := speaking(clean)
	var a, b []float64
	for k := range clean {
		if sp[k] {
			a = append(a, audio.GainToDB(clean[k].voice))
			b = append(b, audio.GainToDB(max(lossy[k].voice, 1e-6)))
		}
	}
	var ma, mb float64
	for i := range a {
		ma += a[i]
		mb += b[i]
	}
	ma /= float64(len(a))
	mb /= float64(len(b))
	var ab, aa, bb float64
	for i := range a {
		ab += (a[i] - ma) * (b[i] - mb)
		aa += (a[i] - ma) * (a[i] - ma)
		bb += (b[i] - mb) * (b[i] - mb)
	}
	return ab / math.Sqrt(aa*bb)
}

// TestVoiceConcealsRandomLoss: at 10 % and 30 % random loss the voice stays
// on air (FEC and concealment fill every hole, nothing goes silent where the
// interpreter speaks), no loss is taken for a cut, and the floor stays ducked
// exactly as in a clean run.
func TestVoiceConcealsRandomLoss(t *testing.T) {
	x := lossSpeech(t, 8)
	pk := lossPackets(t, x)
	ticks := len(pk) - 3 // the stream's end would be a cut
	clean := newLossRig(t).run(lossStream(pk, 1, 100, 0), 0, ticks)
	for _, p := range []float64{0.10, 0.30} {
		arr, longest := dropRandom(lossStream(pk, 1, 100, 0), p, 7)
		r := newLossRig(t)
		lossy := r.run(arr, 0, ticks)
		st := r.mic.Stats()
		h := holes(clean, lossy)
		corr := envelopeCorr(clean, lossy)
		// The floor under the voice: where the clean run holds it ducked
		// (at the depth), the lossy run does too.
		var ducked, off int
		var worst float64
		for k := range clean {
			if clean[k].duckDB < mixer.DefaultDepthDB+0.5 {
				ducked++
				if d := math.Abs(lossy[k].duckDB - clean[k].duckDB); d > 1 {
					off++
					worst = max(worst, d)
				}
			}
		}
		t.Logf("%.0f%% loss: %d of %d packets lost (longest run %d), %d rebuilt from FEC, %d concealment steps, %d underruns; "+
			"voice envelope correlation %.3f, longest silent hole %d ticks; floor off its clean-run ducking by more than 1 dB in %d of %d ducked ticks (worst %.1f dB); cuts %d",
			p*100, len(pk)-len(arr), len(pk), longest, st.FECRecovered, st.Concealed, st.Underruns, corr, h, off, ducked, worst, r.voice.Cuts())
		if r.voice.Cuts() != 0 {
			t.Errorf("%.0f%% loss: taken for a cut %d times: the floor would pump", p*100, r.voice.Cuts())
		}
		if h > 1 {
			t.Errorf("%.0f%% loss: the interpreter goes silent for %d ticks in a row while speaking", p*100, h)
		}
		if corr < 0.8 {
			t.Errorf("%.0f%% loss: voice envelope correlation %.3f with the clean run, want ≥ 0.8", p*100, corr)
		}
		if ducked < 100 || off > ducked/50 {
			t.Errorf("%.0f%% loss: floor off its ducking in %d of %d ticks", p*100, off, ducked)
		}
	}
}

// floorOutDB is the floor tone's level in the program at tick k relative to
// the floor at full level.
func floorOutDB(r tickRec) float64 { return audio.GainToDB(r.floorOut / lossFloorAmp) }

// cutReport measures a cut in recs (ticks numbered from 0): the last tick
// that played audio that arrived before the cut, the first tick the voice
// was absent, and the first tick after which the floor is within 1 dB of
// full level. It checks that the floor is heard in every tick in between.
type cutReport struct {
	lastLive, absent, back int
	// backMS is from the end of the last tick of real voice to the end of
	// the tick the floor was back (≥ −1 dB) by, program time.
	backMS float64
}

func measureCut(t *testing.T, recs []tickRec, from int) cutReport {
	t.Helper()
	c := cutReport{lastLive: -1, absent: -1, back: -1}
	for k := from; k < len(recs); k++ {
		if recs[k].live {
			c.lastLive = k
			continue
		}
		if c.lastLive < 0 {
			continue
		}
		if c.absent < 0 && !recs[k].voiced {
			c.absent = k
		}
		if recs[k].duckDB >= -1 {
			c.back = k
			break
		}
	}
	if c.lastLive < 0 || c.back < 0 {
		t.Fatalf("no cut and return found from tick %d: %+v", from, c)
	}
	c.backMS = float64(c.back-c.lastLive) * float64(audio.FrameDuration) / float64(time.Millisecond)
	// No window of silence: the floor is in every tick from the cut to its
	// return, at the ducked depth at least, in the mix and in the program.
	for k := c.lastLive; k <= c.back; k++ {
		if recs[k].bedDB < mixer.DefaultDepthDB-1.5 {
			t.Errorf("tick %d: floor bed at %.1f dB between the cut and its return", k, recs[k].bedDB)
		}
		if k > c.absent && c.absent > 0 && floorOutDB(recs[k]) < mixer.DefaultDepthDB-1.5 {
			t.Errorf("tick %d: floor at %.1f dB in the program between the cut and its return", k, floorOutDB(recs[k]))
		}
	}
	return c
}

// TestVoiceCutMidSentenceReleasesFloor: the booth's packets stop in the
// middle of a sentence (no bye). The microphone conceals CutAfter, then the
// voice is absent and the floor returns to full level within 200 ms of
// program time of the last audio that arrived, heard in every tick in
// between. Then the same interpreter's packets resume (the link is back):
// the voice is on air again and the floor ducks under it.
func TestVoiceCutMidSentenceReleasesFloor(t *testing.T) {
	x := lossSpeech(t, 9)
	pk := lossPackets(t, x)
	clean := newLossRig(t).run(lossStream(pk, 1, 100, 0), 0, len(pk)-3)
	// Cut where the interpreter is in mid-word, after a second of speech.
	cut := -1
	for k := 150; k < len(clean)-20 && cut < 0; k++ {
		if speaking(clean)[k] && speaking(clean)[k+1] && clean[k].duckDB < mixer.DefaultDepthDB+0.5 {
			cut = k
		}
	}
	if cut < 0 {
		t.Fatal("no speech to cut")
	}
	// The packet playing at tick cut is about two ticks old (the buffer's
	// depth): send nothing from the packet after it on, then the rest of
	// the speech from 1.5 s later, as a link that comes back does.
	all := lossStream(pk, 1, 100, 0)
	gone := cut + 1
	const away = 75 // ticks
	resume := lossStream(pk[gone:], 1, 100+uint16(gone)+away, time.Duration(gone+away)*audio.FrameDuration)
	for i := range resume {
		resume[i].p.Timestamp += uint32((gone + away) * audio.FrameSamples)
	}
	resume = resume[:min(len(resume), 150)]
	arr := append(all[:gone:gone], resume...)
	r := newLossRig(t)
	pcm := r.voice.PCM().Read("test", 1000)
	defer pcm.Close()
	recs := r.run(arr, 0, gone+away+len(resume)-3)
	// The voice's subscribers (captions, relays) get every tick, silence
	// during the cut: the interpreter is still on air.
	absentFrom := c0(recs)
	for k := range recs {
		select {
		case u := <-pcm.C:
			if u.PTS != int64(k*audio.FrameSamples) {
				t.Fatalf("voice PCM at %d, want tick %d", u.PTS, k)
			}
			if k >= absentFrom && !recs[k].voiced && audio.Peak(u.PCM) != 0 {
				t.Fatalf("tick %d: the voice's PCM is not silent during the cut", k)
			}
		default:
			t.Fatalf("voice PCM stops at tick %d", k)
		}
	}

	c := measureCut(t, recs, cut-10)
	lastArrival := float64(gone-1) * 20
	t.Logf("cut mid-sentence: last packet sent at %.0f ms, last real audio played in tick %d (ends at %d ms); "+
		"voice absent from tick %d (%d ms after it); floor within 1 dB of full by the end of tick %d: %.0f ms after the last audio played, "+
		"%.0f ms after the last packet arrived; cuts %d",
		lastArrival, c.lastLive, (c.lastLive+1)*20, c.absent, (c.absent-c.lastLive-1)*20, c.back, c.backMS,
		float64(c.back+1)*20-lastArrival, r.voice.Cuts())
	if c.backMS > 200 {
		t.Errorf("floor back %.0f ms after the last audio, want ≤ 200", c.backMS)
	}
	if r.voice.Cuts() != 1 {
		t.Errorf("%d cuts, want 1", r.voice.Cuts())
	}
	// It stays at full level while the link is down (from the tick after
	// the one it came back in, which still starts below).
	resumeTick := gone + away
	for k := c.back + 1; k < resumeTick; k++ {
		if recs[k].duckDB < -1 || math.Abs(floorOutDB(recs[k])) > 1 {
			t.Fatalf("tick %d: floor at %.1f dB (duck %.1f) while the link is down", k, floorOutDB(recs[k]), recs[k].duckDB)
		}
	}
	// The link is back: the voice is live again within the buffer's depth
	// and the floor is ducked under it again.
	back := -1
	for k := resumeTick; k < len(recs); k++ {
		if recs[k].live {
			back = k
			break
		}
	}
	if back < 0 || back-resumeTick > 5 {
		t.Fatalf("voice not back on air after the link resumed at tick %d (first live tick %d)", resumeTick, back)
	}
	ducked := false
	for k := back; k < len(recs); k++ {
		ducked = ducked || recs[k].duckDB < mixer.DefaultDepthDB+1
	}
	if !ducked || r.voice.Cut() {
		t.Fatalf("after the link resumed: ducked %v, cut %v", ducked, r.voice.Cut())
	}
	t.Logf("link back: packets from tick %d, voice live from tick %d (%d ms)", resumeTick, back, (back-resumeTick)*20)
}

// c0 is the first tick the voice was absent from the mix.
func c0(recs []tickRec) int {
	for k, r := range recs {
		if !r.voiced {
			return k
		}
	}
	return len(recs)
}

// TestBoothReconnectAfterCut: the booth page reconnects after its link was
// cut (a new connection and stream, before the old one has left): the
// interpreter is still on air, opens the microphone again and is heard,
// with the floor ducked under them.
func TestBoothReconnectAfterCut(t *testing.T) {
	x := lossSpeech(t, 4)
	pk := lossPackets(t, x)
	r := newLossRig(t)
	recs := r.run(lossStream(pk[:100], 1, 100, 0), 0, 120) // 2 s of speech, then nothing
	c := measureCut(t, recs, 50)
	if r.voice.Cuts() != 1 {
		t.Fatalf("%d cuts, want 1", r.voice.Cuts())
	}
	// The new connection: another microphone and stream.
	m, err := rtc.NewMic(r.clk)
	if err != nil {
		t.Fatal(err)
	}
	old := r.conn
	r.mic, r.conn = &watchedMic{Mic: m}, &recConn{}
	if err := r.booth.Join("A", "Anne", r.mic, nil, r.conn); err != nil {
		t.Fatal(err)
	}
	r.booth.Leave("A", old) // the old connection's late leave changes nothing
	if snap, _ := r.booth.Snapshot(); snap.OnAir == nil || *snap.OnAir != "A" {
		t.Fatalf("after the reconnect: %+v, want Anne still on air", snap)
	}
	if err := r.booth.Do("A", r.conn, Action{Type: "mic", On: true}); err != nil {
		t.Fatal(err)
	}
	const rejoin = 130
	again := r.run(lossStream(pk[100:], 2, 5000, rejoin*audio.FrameDuration), 120, len(pk)-100)
	first := -1
	for k, rec := range again {
		if rec.live {
			first = k
			break
		}
	}
	ducked := false
	for _, rec := range again {
		ducked = ducked || rec.duckDB < mixer.DefaultDepthDB+1
	}
	t.Logf("cut: floor back %.0f ms after the last audio; reconnected: packets from tick %d, voice live from tick %d, floor ducked again %v",
		c.backMS, rejoin, 120+first, ducked)
	if first < 0 || 120+first > rejoin+5 || !ducked {
		t.Fatalf("voice not back on air after the reconnect: first live tick %d, ducked %v", 120+first, ducked)
	}
}

// TestVoiceLossBursts: a burst of loss no longer than CutAfter is concealed
// with the floor kept down; a 200 ms burst is concealed for CutAfter, then
// taken for a cut (the floor comes up) until the packets resume, when the
// voice is back on air and the floor ducks again.
func TestVoiceLossBursts(t *testing.T) {
	x := lossSpeech(t, 6)
	pk := lossPackets(t, x)
	clean := newLossRig(t).run(lossStream(pk, 1, 100, 0), 0, len(pk)-3)
	sp := speaking(clean)
	at := -1
	for k := 100; k < len(clean)-40 && at < 0; k++ {
		if sp[k] && clean[k].duckDB < mixer.DefaultDepthDB+0.5 {
			at = k
		}
	}
	if at < 0 {
		t.Fatal("no speech")
	}
	for _, burst := range []int{5, 10} { // 100 ms, 200 ms
		arr := lossStream(pk, 1, 100, 0)
		arr = append(arr[:at:at], arr[at+burst:]...)
		r := newLossRig(t)
		recs := r.run(arr, 0, len(pk)-3)
		st := r.mic.Stats()
		var duckMax float64 = -100
		silent := 0
		for k := at; k < at+burst+5; k++ {
			duckMax = max(duckMax, recs[k].duckDB)
			if !recs[k].voiced {
				silent++
			}
		}
		t.Logf("burst of %d ms: %d lost, %d concealment steps, %d underruns, cuts %d; %d ticks without voice; floor at most %.1f dB around it",
			burst*20, st.Lost, st.Concealed, st.Underruns, r.voice.Cuts(), silent, duckMax)
		switch burst {
		case 5:
			if r.voice.Cuts() != 0 || silent != 0 || duckMax > mixer.DefaultDepthDB+1 {
				t.Errorf("100 ms burst: cuts %d, %d silent ticks, floor up to %.1f dB: want it concealed under a ducked floor",
					r.voice.Cuts(), silent, duckMax)
			}
		case 10:
			c := measureCut(t, recs, at-10)
			t.Logf("200 ms burst: floor within 1 dB of full %.0f ms after the last audio played", c.backMS)
			if r.voice.Cuts() != 1 || c.backMS > 200 {
				t.Errorf("200 ms burst: cuts %d, floor back after %.0f ms", r.voice.Cuts(), c.backMS)
			}
			live := false
			for k := c.back; k < c.back+10; k++ {
				live = live || recs[k].live
			}
			if !live || r.voice.Cut() {
				t.Errorf("200 ms burst: voice not back after it")
			}
		}
	}
}
