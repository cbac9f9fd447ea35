package web

import (
	"time"

	"tolk/internal/restream"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	descTicks       = prometheus.NewDesc("tolk_ticks_total", "Program clock ticks (20 ms each).", []string{"event"}, nil)
	descSilentTicks = prometheus.NewDesc("tolk_silent_ticks_total", "Ticks made on the wall clock with silence because the floor was missing.", []string{"event"}, nil)
	descLateTicks   = prometheus.NewDesc("tolk_late_ticks_total", "Ticks that ran more than one frame late.", []string{"event"}, nil)
	descFloorFrames = prometheus.NewDesc("tolk_floor_frames_total", "Floor frames received.", []string{"event"}, nil)
	descFloorDrop   = prometheus.NewDesc("tolk_floor_dropped_frames_total", "Floor frames dropped because the clock was behind.", []string{"event"}, nil)
	descRestarts    = prometheus.NewDesc("tolk_ingest_restarts_total", "Restarts of the floor source.", []string{"event"}, nil)
	descVideoFrames = prometheus.NewDesc("tolk_floor_video_frames_total", "Floor pictures written to the program's video track.", []string{"event"}, nil)
	descVideoDrop   = prometheus.NewDesc("tolk_floor_video_dropped_total", "Pictures of the floor on the program left out (a full queue, a source clock gone by, a gap waiting for a key frame).", []string{"event"}, nil)
	descDropped     = prometheus.NewDesc("tolk_output_dropped_frames_total", "Encoded frames an output lost because it fell behind.", []string{"event", "lang", "output"}, nil)
	descVideoPeers  = prometheus.NewDesc("tolk_whep_video_peers", "WHEP viewers that take the picture now.", []string{"event"}, nil)
	descVideoKeyReq = prometheus.NewDesc("tolk_whep_video_key_requests_total", "Picture loss indications and full intra requests from WHEP viewers (pass-through video cannot answer them: the picture heals at the next key frame).", []string{"event"}, nil)
	descVideoWait   = prometheus.NewDesc("tolk_whep_video_waiting_frames_total", "Pictures WHEP viewers skipped while they waited for a key frame (joining, or after a lost picture).", []string{"event"}, nil)
	descListeners   = prometheus.NewDesc("tolk_listeners", "Listeners now: WebRTC (WHEP peers) and HLS (players that reported in the last 15 s).", []string{"event", "lang", "protocol"}, nil)
	descPublishers  = prometheus.NewDesc("tolk_whip_publishers", "Connected WHIP floor publishers.", []string{"event"}, nil)
	descCaptioned   = prometheus.NewDesc("tolk_captions_available", "1 when a language has a working recognizer backend, 0 when it has no captions.", []string{"event", "lang"}, nil)
	descCapFrames   = prometheus.NewDesc("tolk_caption_frames_total", "Audio frames handed to the recognizer.", []string{"event", "lang"}, nil)
	descCapDropped  = prometheus.NewDesc("tolk_caption_dropped_frames_total", "Audio frames the recognizer could not take (queue full or stream restarting).", []string{"event", "lang"}, nil)
	descCapRestarts = prometheus.NewDesc("tolk_caption_restarts_total", "Recognizer streams and service sessions restarted: after a failure or a hang, or before a service's stream duration cap.", []string{"event", "lang"}, nil)
	descCapErrors   = prometheus.NewDesc("tolk_caption_errors_total", "Recognizer, recognition service and cue store errors.", []string{"event", "lang"}, nil)
	descCapStalls   = prometheus.NewDesc("tolk_caption_stalls_total", "Recognition service sessions that stopped taking audio (also counted as errors).", []string{"event", "lang"}, nil)
	descCapCues     = prometheus.NewDesc("tolk_caption_cues_total", "Final cues published.", []string{"event", "lang"}, nil)
	descCapLag      = prometheus.NewDesc("tolk_caption_lag_seconds", "How far the latest final cue trailed the audio.", []string{"event", "lang"}, nil)
	descCapRunning  = prometheus.NewDesc("tolk_caption_running", "1 while a recognizer stream is open.", []string{"event", "lang"}, nil)

	descPeak     = prometheus.NewDesc("tolk_program_peak_dbfs", "Peak of what listeners hear over the last 300 ms.", []string{"event", "lang"}, nil)
	descLoudness = prometheus.NewDesc("tolk_program_loudness_lufs", "Short-term loudness (BS.1770, 3 s) of what listeners hear.", []string{"event", "lang"}, nil)
	descVoice    = prometheus.NewDesc("tolk_voice_dbfs", "Level of the interpreter's clean voice.", []string{"event", "lang"}, nil)
	descVoiceCut = prometheus.NewDesc("tolk_voice_cut", "1 while the on-air interpreter's link is cut (no audio for over 100 ms with the mic open): the floor is back at full level.", []string{"event", "lang"}, nil)
	descCuts     = prometheus.NewDesc("tolk_voice_cuts_total", "Cuts of the on-air interpreter's link (no audio for over 100 ms with the mic open).", []string{"event", "lang"}, nil)
	descBed      = prometheus.NewDesc("tolk_floor_bed_dbfs", "Level of the floor under the voice, after its gain and the ducking.", []string{"event", "lang"}, nil)
	descDuck     = prometheus.NewDesc("tolk_duck_db", "Ducking applied to the floor bed now (0 = full level).", []string{"event", "lang"}, nil)
	descOnAir    = prometheus.NewDesc("tolk_booth_on_air", "1 while an interpreter is heard in the language, 0 while it carries the floor alone.", []string{"event", "lang"}, nil)
	descMuted    = prometheus.NewDesc("tolk_booth_muted", "1 while the producer has muted the booth.", []string{"event", "lang"}, nil)

	descIntConnected = prometheus.NewDesc("tolk_interpreter_connected", "1 while the interpreter's booth page is connected.", []string{"event", "lang", "interpreter", "name"}, nil)
	descIntRTT       = prometheus.NewDesc("tolk_interpreter_rtt_seconds", "Round trip to the interpreter's booth page, from its RTCP receiver reports.", []string{"event", "lang", "interpreter", "name"}, nil)
	descIntLoss      = prometheus.NewDesc("tolk_interpreter_loss_ratio", "Fraction of the interpreter's microphone packets lost over the last second.", []string{"event", "lang", "interpreter", "name"}, nil)
	descIntJitter    = prometheus.NewDesc("tolk_interpreter_jitter_seconds", "Interarrival jitter of the interpreter's microphone (RFC 3550).", []string{"event", "lang", "interpreter", "name"}, nil)
	descIntEar       = prometheus.NewDesc("tolk_interpreter_floor_delay_seconds", "How far the floor the interpreter hears trails the program, as their page measures it.", []string{"event", "lang", "interpreter", "name"}, nil)

	descPlayerLatency = prometheus.NewDesc("tolk_player_latency_seconds", "Delay behind the program that players report: the median and the worst.", []string{"event", "lang", "protocol", "stat"}, nil)

	descInputLive    = prometheus.NewDesc("tolk_floor_input_live", "1 while the floor input sends audio.", []string{"event", "input"}, nil)
	descInputProgram = prometheus.NewDesc("tolk_floor_input_on_program", "1 for the floor input on the program.", []string{"event", "input"}, nil)
	descInputLUFS    = prometheus.NewDesc("tolk_floor_input_loudness_lufs", "Short-term loudness of the floor input.", []string{"event", "input"}, nil)
	descInputSNR     = prometheus.NewDesc("tolk_floor_input_snr_db", "Speech-to-noise estimate of the floor input.", []string{"event", "input"}, nil)
	descInputBW      = prometheus.NewDesc("tolk_floor_input_bandwidth_hz", "Audio bandwidth of the floor input.", []string{"event", "input"}, nil)
	descInputClip    = prometheus.NewDesc("tolk_floor_input_clip_ratio", "Fraction of the floor input's samples clipped over the last 10 s.", []string{"event", "input"}, nil)
	descPlayoutDrop  = prometheus.NewDesc("tolk_floor_playout_dropped_frames_total", "Frames a live (SRT, RTMP) floor input's jitter buffer threw away because it was full: a backlog released at once after a network stall.", []string{"event", "input"}, nil)
	descPlayoutUnder = prometheus.NewDesc("tolk_floor_playout_underruns_total", "Times a live (SRT, RTMP) floor input's jitter buffer had no frame when one was due: the sender stalled and the floor waits the playout delay again.", []string{"event", "input"}, nil)

	descRecording   = prometheus.NewDesc("tolk_recording", "1 while the run is being recorded.", []string{"event"}, nil)
	descRecFailed   = prometheus.NewDesc("tolk_recording_failed", "1 when the run's recording stopped on an error (a full disk); the live outputs keep running.", []string{"event"}, nil)
	descRecBytes    = prometheus.NewDesc("tolk_recording_bytes", "Size of the run's recording file.", []string{"event"}, nil)
	descRecDropped  = prometheus.NewDesc("tolk_recording_dropped_total", "Packets, cues and fragments the recording lost (also counted per language in tolk_output_dropped_frames_total{output=\"recording\"}).", []string{"event"}, nil)
	descRecFree     = prometheus.NewDesc("tolk_recording_disk_free_bytes", "Free space on the recordings' disk.", []string{"event"}, nil)
	descRecFullTime = prometheus.NewDesc("tolk_recording_disk_full_seconds", "Seconds until the recordings' disk is full at the rate the run grows.", []string{"event"}, nil)

	descConsoleDrop = prometheus.NewDesc("tolk_console_dropped_statuses_total", "Status messages a slow console never got: replaced by a newer one before it took them.", []string{"event"}, nil)
	descHLSRequests = prometheus.NewDesc("tolk_hls_requests_total", "HLS requests (live and recorded) that reached this server, by what they asked for; behind a caching edge they grow with the objects, not the viewers.", []string{"event", "kind"}, nil)

	descPushConnected  = prometheus.NewDesc("tolk_push_connected", "1 while the push to a platform is connected and sending.", []string{"event", "push", "lang"}, nil)
	descPushState      = prometheus.NewDesc("tolk_push_state", "1 for the push's state now: stopped, connecting, connected or failed.", []string{"event", "push", "lang", "state"}, nil)
	descPushBitrate    = prometheus.NewDesc("tolk_push_bitrate_bps", "What the push sent over the last seconds, in bits/s.", []string{"event", "push", "lang"}, nil)
	descPushBytes      = prometheus.NewDesc("tolk_push_sent_bytes_total", "Bytes the push sent, every connection together.", []string{"event", "push", "lang"}, nil)
	descPushReconnects = prometheus.NewDesc("tolk_push_reconnects_total", "Connections the push made after its first.", []string{"event", "push", "lang"}, nil)
	descPushDropped    = prometheus.NewDesc("tolk_push_dropped_frames_total", "Frames the push lost because it fell behind.", []string{"event", "push", "lang"}, nil)
	descPushPackets    = prometheus.NewDesc("tolk_push_sent_packets_total", "RTP packets an output to an SFU (Janus, WHIP) sent.", []string{"event", "push", "lang"}, nil)
	descPushSendErrors = prometheus.NewDesc("tolk_push_send_errors_total", "Sends of an output to an SFU (Janus, WHIP) that failed.", []string{"event", "push", "lang"}, nil)
)

// collector reads the events' counters at scrape time, so the hot paths keep
// plain atomics and know nothing of Prometheus.
type collector struct{ s *Server }

func (collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descTicks, descSilentTicks, descLateTicks, descFloorFrames, descFloorDrop,
		descRestarts, descDropped, descListeners, descPublishers, descCaptioned, descCapFrames, descCapDropped,
		descCapRestarts, descCapErrors, descCapStalls, descCapCues, descCapLag, descCapRunning, descPeak, descLoudness,
		descVoice, descVoiceCut, descCuts, descBed, descDuck, descOnAir, descMuted, descIntConnected, descIntRTT, descIntLoss, descIntJitter,
		descIntEar, descPlayerLatency, descInputLive, descInputProgram, descInputLUFS, descInputSNR, descInputBW, descInputClip,
		descPlayoutDrop, descPlayoutUnder,
		descRecording, descRecFailed, descRecBytes, descRecDropped, descRecFree, descRecFullTime, descHLSRequests, descConsoleDrop,
		descPushConnected, descPushState, descPushBitrate, descPushBytes, descPushReconnects, descPushDropped,
		descPushPackets, descPushSendErrors,
		descVideoFrames, descVideoDrop, descVideoPeers, descVideoKeyReq, descVideoWait} {
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
		counter(descVideoFrames, s.VideoFrames, id)
		counter(descVideoDrop, s.VideoDropped, id)
		if vo, ok := videoOf(st.ev); ok {
			vs := vo.Stats()
			ch <- prometheus.MustNewConstMetric(descVideoPeers, prometheus.GaugeValue, float64(vs.Track.Peers), id)
			counter(descVideoKeyReq, vs.KeyRequests, id)
			counter(descVideoWait, vs.Track.Waiting, id)
		}
		for i, kind := range hlsKinds {
			counter(descHLSRequests, st.hlsReqs[i].Load(), id, kind)
		}
		counter(descConsoleDrop, st.consoleDropped.Load(), id)
		es := c.s.eventStatus(st)
		gauge := gauges(ch)
		for _, ls := range es.Languages {
			lang := ls.Tag
			// Every reader of the mix's tracks is an output: HLS, WebRTC,
			// the booths' floor, relays, recognizers.
			for _, tr := range ls.Outputs {
				for _, r := range tr.Readers {
					counter(descDropped, r.Dropped, id, lang, r.Name)
				}
			}
			gauge(descListeners, float64(ls.Listeners.WebRTC), id, lang, "webrtc")
			gauge(descListeners, float64(ls.Listeners.HLS), id, lang, "hls")
			gauge(descPeak, ls.Program.PeakDB, id, lang)
			gauge(descLoudness, ls.Program.ShortTermLUFS, id, lang)
			gauge(descBed, ls.FloorBedDB, id, lang)
			gauge(descDuck, ls.DuckDB, id, lang)
			for proto, l := range map[string]ViewerLatency{"webrtc": ls.Latency.WebRTC, "hls": ls.Latency.HLS} {
				if l.Players > 0 {
					gauge(descPlayerLatency, l.MedianMS/1000, id, lang, proto, "median")
					gauge(descPlayerLatency, l.WorstMS/1000, id, lang, proto, "worst")
				}
			}
			if ls.Captions.Available {
				gauge(descCapLag, ls.Captions.LagMS/1000, id, lang)
				gauge(descCapRunning, flag(ls.Captions.Running), id, lang)
			}
			if ls.Booth == nil {
				continue
			}
			if ls.VoiceDB != nil {
				gauge(descVoice, *ls.VoiceDB, id, lang)
			}
			if ls.VoiceCut != nil && ls.VoiceCuts != nil {
				gauge(descVoiceCut, flag(*ls.VoiceCut), id, lang)
				counter(descCuts, *ls.VoiceCuts, id, lang)
			}
			gauge(descOnAir, flag(ls.OnAir != nil), id, lang)
			gauge(descMuted, flag(ls.Booth.Muted), id, lang)
			for _, it := range ls.Interpreters {
				who := []string{id, lang, it.ID, it.Name} // names can repeat, token ids cannot
				gauge(descIntConnected, flag(it.Connected), who...)
				if !it.Connected {
					continue
				}
				gauge(descIntLoss, it.Loss, who...)
				gauge(descIntJitter, it.JitterMS/1000, who...)
				if it.RTTMS != nil {
					gauge(descIntRTT, *it.RTTMS/1000, who...)
				}
				if it.FloorToEarMS != nil {
					gauge(descIntEar, *it.FloorToEarMS/1000, who...)
				}
			}
		}
		floorInputMetrics(ch, id, es.Floor.Inputs)
		rec := es.Recording
		if rec.State != "off" {
			gauge(descRecording, flag(rec.State == "recording"), id)
			gauge(descRecFailed, flag(rec.State == "failed"), id)
			gauge(descRecBytes, float64(rec.Bytes), id)
			counter(descRecDropped, rec.Dropped, id)
			if rec.DiskFree != nil {
				gauge(descRecFree, float64(*rec.DiskFree), id)
			}
			if rec.FullAt != nil {
				gauge(descRecFullTime, max(time.Until(*rec.FullAt).Seconds(), 0), id)
			}
		}
		for _, p := range es.Pushes {
			who := []string{id, p.ID, p.Lang}
			gauge(descPushConnected, flag(p.State == restream.StateConnected), who...)
			for _, state := range []string{restream.StateStopped, restream.StateConnecting, restream.StateConnected, restream.StateFailed} {
				gauge(descPushState, flag(p.State == state), id, p.ID, p.Lang, state)
			}
			gauge(descPushBitrate, p.BitrateBPS, who...)
			counter(descPushBytes, p.Bytes, who...)
			counter(descPushReconnects, p.Reconnects, who...)
			counter(descPushDropped, p.Dropped, who...)
			if p.Protocol == "janus" || p.Protocol == "whip" {
				counter(descPushPackets, p.Packets, who...)
				counter(descPushSendErrors, p.Errors, who...)
			}
		}
		pubs := 0.0
		if st.whip != nil {
			pubs = 1
		}
		ch <- prometheus.MustNewConstMetric(descPublishers, prometheus.GaugeValue, pubs, id)
		for _, r := range append(st.ev.Renditions(), captionOnly(st.ev)...) {
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

// gauges returns a function that sends one gauge to ch.
func gauges(ch chan<- prometheus.Metric) func(d *prometheus.Desc, v float64, labels ...string) {
	return func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
}

// flag is a boolean as a gauge's value.
func flag(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// floorInputMetrics sends each floor input's gauges, and a live input's
// jitter buffer counters.
func floorInputMetrics(ch chan<- prometheus.Metric, id string, inputs []FloorInput) {
	gauge := gauges(ch)
	for _, in := range inputs {
		gauge(descInputLive, flag(in.State == "live"), id, in.ID)
		gauge(descInputProgram, flag(in.OnProgram), id, in.ID)
		gauge(descInputLUFS, in.Quality.LoudnessLUFS, id, in.ID)
		gauge(descInputSNR, in.Quality.SNRDB, id, in.ID)
		gauge(descInputBW, in.Quality.BandwidthHz, id, in.ID)
		gauge(descInputClip, in.Quality.ClipRatio, id, in.ID)
		if p := in.Playout; p != nil {
			ch <- prometheus.MustNewConstMetric(descPlayoutDrop, prometheus.CounterValue, float64(p.Dropped), id, in.ID)
			ch <- prometheus.MustNewConstMetric(descPlayoutUnder, prometheus.CounterValue, float64(p.Underruns), id, in.ID)
		}
	}
}
