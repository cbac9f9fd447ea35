package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hraban/opus"
	"github.com/pion/rtp"

	"tolk/internal/audio"
	"tolk/internal/rtc"
	"tolk/internal/store"
)

type boothReport struct {
	Booths          int     `json:"booths"`
	Interpreters    int     `json:"interpreters"`
	Connected       int     `json:"connected"`
	DurationS       float64 `json:"duration_s"`
	FloorPacketsPS  float64 `json:"floor_packets_per_interpreter_per_s"`
	ServerCPUIdle   float64 `json:"server_cpu_idle_cores"`
	ServerCPULoaded float64 `json:"server_cpu_loaded_cores"`
	PerInterpreter  float64 `json:"server_cpu_per_interpreter_cores"`
	InterpretersPC  float64 `json:"interpreters_per_core"`
}

// runBooths connects perBooth interpreters to every booth of the event; each
// sends a microphone (pre-encoded, so the load generator stays light) and the
// first of each booth is on air.
func runBooths(base, data, ev string, perBooth int, dur time.Duration) (*boothReport, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dur+5*time.Minute)
	defer cancel()
	var info struct {
		Renditions []struct {
			Tag   string
			Floor bool
		}
	}
	if err := getJSON(ctx, base+"/api/events/"+ev, &info); err != nil {
		return nil, err
	}
	var langs []string
	for _, r := range info.Renditions {
		if !r.Floor {
			langs = append(langs, r.Tag)
		}
	}
	if len(langs) == 0 {
		return nil, errors.New("the event has no booth")
	}
	st, err := store.Open(data)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	packets, err := voicePackets()
	if err != nil {
		return nil, err
	}
	idle, err := cpuRate(ctx, base, 3*time.Second)
	if err != nil {
		return nil, err
	}
	api, err := rtc.NewAPI(rtc.Options{Loopback: true})
	if err != nil {
		return nil, err
	}
	var (
		clients []*rtc.BoothClient
		floor   atomic.Int64
	)
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for _, lang := range langs {
		for i := 0; i < perBooth; i++ {
			secret, _, err := st.CreateToken(ctx, ev, store.RoleInterpreter, lang, fmt.Sprintf("Load %c", 'A'+i))
			if err != nil {
				return nil, err
			}
			c, err := rtc.DialBooth(ctx, api, base, ev, lang, secret, func(stream string, _ *rtp.Packet) {
				if stream == "floor" {
					floor.Add(1)
				}
			})
			if err != nil {
				return nil, fmt.Errorf("booth %s: %w", lang, err)
			}
			go func() { // drain the server's messages
				for range c.Messages {
				}
			}()
			if i == 0 {
				_ = c.Send(map[string]any{"type": "mic", "on": true})
			}
			clients = append(clients, c)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func(c *rtc.BoothClient, off int) {
			defer wg.Done()
			tick := time.NewTicker(audio.FrameDuration)
			defer tick.Stop()
			for k := off; ; k++ {
				_ = c.Speak(packets[k%len(packets)], audio.FrameDuration)
				select {
				case <-tick.C:
				case <-stop:
					return
				}
			}
		}(c, i)
	}
	time.Sleep(2 * time.Second)
	floor.Store(0)
	loaded, err := cpuRate(ctx, base, dur)
	got := floor.Load()
	close(stop)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	n := len(clients)
	rep := &boothReport{Booths: len(langs), Interpreters: len(langs) * perBooth, Connected: n, DurationS: dur.Seconds(),
		ServerCPUIdle: idle, ServerCPULoaded: loaded}
	if n > 0 {
		rep.FloorPacketsPS = float64(got) / float64(n) / dur.Seconds()
		rep.PerInterpreter = (loaded - idle) / float64(n)
		if rep.PerInterpreter > 0 {
			rep.InterpretersPC = 1 / rep.PerInterpreter
		}
	}
	return rep, nil
}

// voicePackets encodes 2 s of a speech-like signal (a gliding tone with noise
// and pauses) as 20 ms Opus packets at 48 kb/s, like a booth microphone.
func voicePackets() ([][]byte, error) {
	enc, err := opus.NewEncoder(audio.SampleRate, 1, opus.AppAudio)
	if err != nil {
		return nil, err
	}
	_ = enc.SetBitrate(48000)
	_ = enc.SetInBandFEC(true)
	rng := rand.New(rand.NewSource(1))
	buf := make([]byte, 1500)
	var out [][]byte
	pcm := make([]float32, audio.FrameSamples)
	phase := 0.0
	for f := 0; f < 100; f++ {
		speaking := f%25 < 18
		for i := range pcm {
			pcm[i] = 0
			if speaking {
				phase += 2 * math.Pi * (150 + float64(f%25)*8) / audio.SampleRate
				pcm[i] = float32(0.3*math.Sin(phase) + 0.03*(rng.Float64()*2-1))
			}
		}
		n, err := enc.EncodeFloat32(pcm, buf)
		if err != nil {
			return nil, err
		}
		out = append(out, append([]byte(nil), buf[:n]...))
	}
	return out, nil
}
