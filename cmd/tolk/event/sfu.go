package event

import (
	"fmt"

	"tolk/internal/config"
	"tolk/internal/rtc"
	"tolk/internal/sfu"
)

// attachSFU makes the outputs to SFUs (config sfu:), stopped, each on its
// language's Opus packets as every other output takes them; runPushes
// starts them with the pushes. A rebroadcast forwards nothing (config
// check refuses it).
func (e *Event) attachSFU() error {
	if e.player != nil {
		return nil
	}
	o := &e.out
	s := e.cfg.SFU
	if j := s.Janus; j != nil {
		for _, m := range e.cfg.JanusMounts() {
			if _, ok := e.mixes[m.Lang]; !ok {
				return fmt.Errorf("sfu: no language %q", m.Lang)
			}
			out, err := sfu.NewJanus(sfu.JanusOptions{
				Common: sfu.Common{ID: "janus-" + m.Lang, Lang: m.Lang, Packets: e.packets(m.Lang), Clock: e.clock, Log: e.log},
				Janus:  *j, Mount: m})
			if err != nil {
				return err
			}
			o.push.add(out, true)
		}
	}
	if len(s.WHIP) == 0 {
		return nil
	}
	api, err := rtc.NewAPI(e.webrtc)
	if err != nil {
		return fmt.Errorf("sfu whip: %w", err)
	}
	ids := e.cfg.WHIPOutputIDs()
	for i, w := range s.WHIP {
		lang := config.Tag(w.Lang)
		if _, ok := e.mixes[lang]; !ok {
			return fmt.Errorf("sfu %s: no language %q", ids[i], lang)
		}
		out, err := sfu.NewWHIP(sfu.WHIPOptions{
			Common: sfu.Common{ID: ids[i], Lang: lang, Name: w.Name, Packets: e.packets(lang), Clock: e.clock, Log: e.log},
			URL:    w.URL, Token: w.Token, API: api})
		if err != nil {
			return err
		}
		o.push.add(out, w.On())
	}
	return nil
}
