package sphinx

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"tolk/captions/captionstest"
	"tolk/internal/audio"
)

// roomConditions are the rooms set's conditions in report order.
var roomConditions = []string{"clean", "reverb", "snr20", "snr10", "phone"}

// roomGroup names the voice group of a rooms set recording.
func roomGroup(voice string) string {
	switch {
	case strings.HasPrefix(voice, "flite-"):
		return "flite"
	case strings.HasPrefix(voice, "festival-"):
		return "festival"
	case strings.HasPrefix(voice, "espeak-en"):
		return "espeak-ng English"
	case strings.HasPrefix(voice, "espeak-"):
		return "non-native"
	case strings.HasPrefix(voice, "human-"):
		return "human"
	}
	return "other"
}

// roomScore is the pooled word errors of some recordings.
type roomScore struct {
	errors, words int
	audio, cpu    time.Duration
}

func (s *roomScore) add(o roomScore) {
	s.errors += o.errors
	s.words += o.words
	s.audio += o.audio
	s.cpu += o.cpu
}

func (s roomScore) wer() float64 {
	if s.words == 0 {
		return 0
	}
	return float64(s.errors) / float64(s.words)
}

// TestRoomsWER measures the word error rate of the recognizer on the rooms
// set (scripts/make-rooms.sh): voices, a reverberant room, noise at 20 and
// 10 dB SNR and a telephone line. It is a benchmark, not a CI test: set
// TOLK_ROOMS=1 (or to the set's directory), TOLK_ROOMS_SPLIT=tune|report|fresh
// (default report) and TOLK_ROOMS_FRONTEND=baseline|default|frontend|STAGES
// (roomsConfig; default: the live configuration); TOLK_ROOMS_CONDITIONS (comma-separated) and
// TOLK_ROOMS_VOICES (a prefix: flite, espeak, festival, human) take a part of the set.
// Decoding is one stream at a time.
func TestRoomsWER(t *testing.T) {
	dir := os.Getenv("TOLK_ROOMS")
	if dir == "" {
		t.Skip("set TOLK_ROOMS=1 to measure the word error rate on the rooms set (scripts/make-rooms.sh)")
	}
	if dir == "1" {
		out, err := exec.Command("../../scripts/make-rooms.sh").Output()
		if err != nil {
			t.Fatalf("make-rooms: %v", err)
		}
		dir = strings.TrimSpace(string(out))
	}
	split := os.Getenv("TOLK_ROOMS_SPLIT")
	if split == "" {
		split = "report"
	}
	cfg := roomsConfig(t, os.Getenv("TOLK_ROOMS_FRONTEND"))
	// A loaded machine decodes a recording far slower than real time.
	recognizeTimeout = 30 * time.Minute
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	only := os.Getenv("TOLK_ROOMS_CONDITIONS")
	scores := map[string]map[string]roomScore{} // condition → group → score
	groups := map[string]bool{}
	for _, cond := range roomConditions {
		if only != "" && !strings.Contains(","+only+",", ","+cond+",") {
			continue
		}
		wavs, _ := filepath.Glob(filepath.Join(dir, split, cond, "*.wav"))
		if len(wavs) == 0 {
			t.Fatalf("no recordings in %s", filepath.Join(dir, split, cond))
		}
		scores[cond] = map[string]roomScore{}
		for _, wav := range wavs {
			voice := strings.TrimSuffix(filepath.Base(wav), ".wav")
			if v := os.Getenv("TOLK_ROOMS_VOICES"); v != "" && !strings.HasPrefix(voice, v) {
				continue
			}
			ref, err := os.ReadFile(strings.TrimSuffix(wav, ".wav") + ".txt")
			if err != nil {
				t.Fatal(err)
			}
			samples := readWAV48(t, wav)
			res, st, _, _, cpu := recognizeTimed(t, r, samples, 0)
			if st.DroppedFrames > 0 {
				t.Fatalf("%s: %d frames dropped", wav, st.DroppedFrames)
			}
			hyp := finalText(res)
			words := len(strings.Fields(captionstest.Normalize(string(ref))))
			w := captionstest.WER(string(ref), hyp)
			sc := roomScore{errors: int(w*float64(words) + 0.5), words: words,
				audio: time.Duration(len(samples)) * time.Second / audio.SampleRate, cpu: cpu}
			t.Logf("%s %s/%s: WER %.1f %% (%d words), RTF %.3f", split, cond, voice, 100*w, words, sc.cpu.Seconds()/sc.audio.Seconds())
			if testing.Verbose() && os.Getenv("TOLK_ROOMS_HYP") != "" {
				t.Logf("  hyp: %s", hyp)
			}
			g := roomGroup(voice)
			groups[g] = true
			s := scores[cond][g]
			s.add(sc)
			scores[cond][g] = s
		}
	}
	var gs []string
	for g := range groups {
		gs = append(gs, g)
	}
	sort.Strings(gs)
	var b strings.Builder
	fmt.Fprintf(&b, "\n| %s (%s) | %s | all | RTF |\n|---|", split, cfg.describe(), strings.Join(gs, " | "))
	for range gs {
		b.WriteString("---|")
	}
	b.WriteString("---|---|\n")
	var total roomScore
	for _, cond := range roomConditions {
		if scores[cond] == nil {
			continue
		}
		var all roomScore
		fmt.Fprintf(&b, "| %s |", cond)
		for _, g := range gs {
			s := scores[cond][g]
			all.add(s)
			fmt.Fprintf(&b, " %.1f |", 100*s.wer())
		}
		total.add(all)
		fmt.Fprintf(&b, " %.1f | %.3f |\n", 100*all.wer(), all.cpu.Seconds()/all.audio.Seconds())
	}
	fmt.Fprintf(&b, "| all | %s %.1f | %.3f |\n", strings.Repeat(" |", len(gs)), 100*total.wer(), total.cpu.Seconds()/total.audio.Seconds())
	t.Log(b.String())
}

// roomsConfig is the recognizer configuration named by TOLK_ROOMS_FRONTEND:
// baseline (the generic recognizer: nothing before the decoder), default
// (the live configuration: the denoiser), frontend (Config.FrontEnd, with
// the denoiser), or a tuning: a comma-separated list of
// stages (hp, gain, dn: the denoiser, TOLK_ROOMS_DENOISE=FLOOR_DB,SUB,BIAS its settings) with PocketSphinx options in TOLK_ROOMS_ARGS;
// TOLK_ROOMS_END_SILENCE sets the endpointing pause (Config.EndSilence).
func roomsConfig(t *testing.T, name string) Config {
	cfg := Config{Queue: 1 << 16, ResultBuffer: 1 << 12}
	if v := os.Getenv("TOLK_ROOMS_END_SILENCE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("TOLK_ROOMS_END_SILENCE: %v", err)
		}
		cfg.EndSilence = d
	}
	switch name {
	case "baseline":
		cfg.NoDenoise = true
	case "", "default":
	case "frontend":
		cfg.FrontEnd = true
	default:
		tn := &frontEndTuning{decoderArgs: strings.Fields(os.Getenv("TOLK_ROOMS_ARGS"))}
		for _, st := range strings.Split(name, ",") {
			switch st {
			case "hp":
				tn.highPass = true
			case "gain":
				tn.gain = true
			case "dn":
				tn.denoise = denoiseFloorDB
				// TOLK_ROOMS_DENOISE=FLOOR_DB[,SUB_FRAMES[,BIAS]]
				if v := os.Getenv("TOLK_ROOMS_DENOISE"); v != "" {
					var err error
					f := strings.Split(v, ",")
					if tn.denoise, err = strconv.ParseFloat(f[0], 64); err != nil || tn.denoise <= 0 {
						t.Fatalf("TOLK_ROOMS_DENOISE: %q", v)
					}
					if len(f) > 1 {
						if tn.denoiseSub, err = strconv.Atoi(f[1]); err != nil {
							t.Fatalf("TOLK_ROOMS_DENOISE: %q", v)
						}
					}
					if len(f) > 2 {
						if tn.denoiseBias, err = strconv.ParseFloat(f[2], 64); err != nil {
							t.Fatalf("TOLK_ROOMS_DENOISE: %q", v)
						}
					}
				}
			case "none":
			default:
				t.Fatalf("TOLK_ROOMS_FRONTEND: unknown stage %q", st)
			}
		}
		cfg.tuning = tn
	}
	return cfg
}

func (c Config) describe() string {
	fe := c.frontEnd()
	var parts []string
	if fe.highPass {
		parts = append(parts, "high-pass")
	}
	if fe.gain {
		parts = append(parts, "gain")
	}
	if fe.denoise > 0 {
		parts = append(parts, fmt.Sprintf("denoise %g dB/%d/%g", fe.denoise, fe.denoiseSub, fe.denoiseBias))
	}
	parts = append(parts, fe.decoderArgs...)
	if c.EndSilence > 0 {
		parts = append(parts, "end silence "+c.EndSilence.String())
	}
	if len(parts) == 0 {
		return "plain"
	}
	return strings.Join(parts, " ")
}
