package web

import (
	"github.com/prometheus/client_golang/prometheus"
)

var (
	descTicks       = prometheus.NewDesc("tolk_ticks_total", "Program clock ticks (20 ms each).", []string{"event"}, nil)
	descSilentTicks = prometheus.NewDesc("tolk_silent_ticks_total", "Ticks made on the wall clock with silence because the floor was missing.", []string{"event"}, nil)
	descLateTicks   = prometheus.NewDesc("tolk_late_ticks_total", "Ticks that ran more than one frame late.", []string{"event"}, nil)
	descFloorFrames = prometheus.NewDesc("tolk_floor_frames_total", "Floor frames received.", []string{"event"}, nil)
	descFloorDrop   = prometheus.NewDesc("tolk_floor_dropped_frames_total", "Floor frames dropped because the clock was behind.", []string{"event"}, nil)
	descRestarts    = prometheus.NewDesc("tolk_ingest_restarts_total", "Restarts of the floor source.", []string{"event"}, nil)
	descDropped     = prometheus.NewDesc("tolk_output_dropped_frames_total", "Encoded frames an output lost because it fell behind.", []string{"event", "lang", "output"}, nil)
	descListeners   = prometheus.NewDesc("tolk_listeners", "Connected WebRTC (WHEP) listeners.", []string{"event", "lang"}, nil)
	descPublishers  = prometheus.NewDesc("tolk_whip_publishers", "Connected WHIP floor publishers.", []string{"event"}, nil)
	descCaptioned   = prometheus.NewDesc("tolk_captions_available", "1 when a language has a working recognizer backend, 0 when it has no captions.", []string{"event", "lang"}, nil)
	descCapFrames   = prometheus.NewDesc("tolk_caption_frames_total", "Audio frames handed to the recognizer.", []string{"event", "lang"}, nil)
	descCapDropped  = prometheus.NewDesc("tolk_caption_dropped_frames_total", "Audio frames the recognizer could not take (queue full or stream restarting).", []string{"event", "lang"}, nil)
	descCapRestarts = prometheus.NewDesc("tolk_caption_restarts_total", "Recognizer streams and service sessions restarted: after a failure or a hang, or before a service's stream duration cap.", []string{"event", "lang"}, nil)
	descCapErrors   = prometheus.NewDesc("tolk_caption_errors_total", "Recognizer, recognition service and cue store errors.", []string{"event", "lang"}, nil)
	descCapStalls   = prometheus.NewDesc("tolk_caption_stalls_total", "Recognition service sessions that stopped taking audio (also counted as errors).", []string{"event", "lang"}, nil)
	descCapCues     = prometheus.NewDesc("tolk_caption_cues_total", "Final cues published.", []string{"event", "lang"}, nil)
)

// collector reads the events' counters at scrape time, so the hot paths keep
// plain atomics and know nothing of Prometheus.
type collector struct{ s *Server }

func (collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descTicks, descSilentTicks, descLateTicks, descFloorFrames, descFloorDrop,
		descRestarts, descDropped, descListeners, descPublishers, descCaptioned, descCapFrames, descCapDropped,
		descCapRestarts, descCapErrors, descCapStalls, descCapCues} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	for id, st := range c.s.events {
		s := st.ev.Stats()
		counter(descTicks, s.Ticks, id)
		counter(descSilentTicks, s.SilentTicks, id)
		counter(descLateTicks, s.LateTicks, id)
		counter(descFloorFrames, s.FloorFrames, id)
		counter(descFloorDrop, s.FloorDropped, id)
		counter(descRestarts, s.IngestRestarts, id)
		for lang, n := range s.OutputDropped {
			counter(descDropped, n, id, lang, "hls")
		}
		for lang, l := range st.langs {
			counter(descDropped, l.out.Stats().Dropped, id, lang, "webrtc")
			ch <- prometheus.MustNewConstMetric(descListeners, prometheus.GaugeValue, float64(l.out.Listeners()), id, lang)
		}
		pubs := 0.0
		if st.whip != nil {
			pubs = 1
		}
		ch <- prometheus.MustNewConstMetric(descPublishers, prometheus.GaugeValue, pubs, id)
		for _, r := range st.ev.Renditions() {
			feed, ok := st.ev.CaptionFeed(r.Tag)
			if !ok {
				ch <- prometheus.MustNewConstMetric(descCaptioned, prometheus.GaugeValue, 0, id, r.Tag)
				continue
			}
			cs := feed.Stats()
			ch <- prometheus.MustNewConstMetric(descCaptioned, prometheus.GaugeValue, 1, id, r.Tag)
			counter(descCapFrames, cs.Frames, id, r.Tag)
			counter(descCapDropped, cs.Dropped, id, r.Tag)
			counter(descCapRestarts, cs.Restarts, id, r.Tag)
			counter(descCapErrors, cs.Errors, id, r.Tag)
			counter(descCapStalls, cs.Stalls, id, r.Tag)
			counter(descCapCues, cs.Cues, id, r.Tag)
		}
	}
}
