package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// SFU hands the event's languages to a selective forwarding unit that serves
// WebRTC listeners beyond what one tolk can: Janus's streaming plugin (plain
// RTP, one mountpoint per language) and any WHIP server (RFC 9725).
type SFU struct {
	// Janus forwards every language (or those listed) to a Janus streaming
	// mountpoint.
	Janus *Janus `yaml:"janus"`
	// WHIP publishes languages to WHIP servers, one entry per publication.
	WHIP []WHIPOutput `yaml:"whip"`
	// Watch is the Janus API URL as browsers reach it (its janus.transport.http
	// base path, e.g. https://sfu.example.org/janus). When set, the watch
	// page's low-latency mode plays from Janus instead of tolk's WHEP.
	Watch string `yaml:"watch"`
}

// Janus is where and how languages reach a Janus streaming plugin.
type Janus struct {
	// API is Janus's HTTP API (http://HOST:8088/janus). With it tolk
	// creates each language's mountpoint when it starts (and removes it
	// when it stops); without it the mountpoints must be in
	// janus.plugin.streaming.jcfg and PortBase is required.
	API string `yaml:"api"`
	// APISecret is janus.jcfg's general.api_secret, when Janus has one.
	APISecret string `yaml:"api_secret"`
	// AdminKey is the streaming plugin's admin_key, when it has one: Janus
	// then lets only holders of the key create mountpoints.
	AdminKey string `yaml:"admin_key"`
	// Secret protects the mountpoints tolk creates (Janus asks for it to
	// change or destroy them).
	Secret string `yaml:"secret"`
	// RTPHost is where Janus receives RTP (default: the API's host).
	RTPHost string `yaml:"rtp_host"`
	// MountpointBase numbers the mountpoints: the floor's is the base, the
	// event's n-th language's base+n, in the order of languages:.
	MountpointBase int `yaml:"mountpoint_base"`
	// PortBase, when not 0, is the floor's RTP port, the n-th language's
	// PortBase+2n. 0 lets Janus pick the ports of the mountpoints tolk
	// creates.
	PortBase int `yaml:"port_base"`
	// Langs lists the languages forwarded (default every one).
	Langs []string `yaml:"langs"`
	// Name is shown to the producer (default "Janus").
	Name string `yaml:"name"`
}

// WHIPOutput publishes one language to a WHIP server.
type WHIPOutput struct {
	Lang string `yaml:"lang"`
	// URL is the WHIP endpoint (http:// or https://).
	URL string `yaml:"url"`
	// Token is sent as "Authorization: Bearer"; never logged or shown.
	Token string `yaml:"token"`
	// Name is shown to the producer.
	Name string `yaml:"name"`
	// Enabled starts the publication with the event (default true).
	Enabled *bool `yaml:"enabled"`
}

// On reports whether the publication starts with the event.
func (o WHIPOutput) On() bool { return o.Enabled == nil || *o.Enabled }

// JanusMount is one language's Janus streaming mountpoint.
type JanusMount struct {
	Lang string // canonical tag
	ID   int    // mountpoint id
	// Port is the mountpoint's RTP port, 0 when Janus picks it.
	Port int
}

// JanusMounts lists the mountpoints of the languages forwarded to Janus, in
// the event's order (the floor first); nil without sfu.janus.
func (ev *Event) JanusMounts() []JanusMount {
	j := ev.SFU.Janus
	if j == nil {
		return nil
	}
	want := map[string]bool{}
	for _, l := range j.Langs {
		want[Tag(l)] = true
	}
	tags := []string{Tag(ev.Floor.Language)}
	for _, l := range ev.Languages {
		tags = append(tags, Tag(l.Tag))
	}
	var out []JanusMount
	for i, tag := range tags {
		if len(want) > 0 && !want[tag] {
			continue
		}
		m := JanusMount{Lang: tag, ID: j.MountpointBase + i}
		if j.PortBase != 0 {
			m.Port = j.PortBase + 2*i
		}
		out = append(out, m)
	}
	return out
}

// RTPAddr is the host tolk sends the mountpoints' RTP to.
func (j *Janus) RTPAddr() string {
	if j.RTPHost != "" {
		return j.RTPHost
	}
	if u, err := url.Parse(j.API); err == nil {
		return u.Hostname()
	}
	return ""
}

// WHIPOutputIDs names each WHIP publication in the API and the status:
// "whip-" and its language and place ("whip-fr-1").
func (ev *Event) WHIPOutputIDs() []string {
	n := map[string]int{}
	ids := make([]string, len(ev.SFU.WHIP))
	for i, o := range ev.SFU.WHIP {
		tag := Tag(o.Lang)
		n[tag]++
		ids[i] = "whip-" + tag + "-" + strconv.Itoa(n[tag])
	}
	return ids
}

// checkSFU adds the problems of sfu:; langs are the event's languages.
func (ev *Event) checkSFU(add func(string, ...any), langs map[string]int, replay bool) {
	s := ev.SFU
	if s.Janus == nil && len(s.WHIP) == 0 && s.Watch == "" {
		return
	}
	if replay {
		add("sfu: a rebroadcast forwards nothing (its listeners are served by tolk)")
		return
	}
	if j := s.Janus; j != nil {
		if j.API != "" {
			if err := checkHTTPURL(j.API); err != nil {
				add("sfu.janus.api: %v", err)
			}
		} else if j.PortBase == 0 {
			add("sfu.janus.port_base: needed without sfu.janus.api (the mountpoints are in janus.plugin.streaming.jcfg)")
		}
		if j.RTPHost != "" && (strings.ContainsAny(j.RTPHost, "/:@ ") && net.ParseIP(j.RTPHost) == nil) {
			add("sfu.janus.rtp_host: %q is not a host name or an IP address", j.RTPHost)
		}
		if j.RTPHost == "" && j.API == "" {
			add("sfu.janus.rtp_host: needed without sfu.janus.api")
		}
		if j.MountpointBase < 1 || j.MountpointBase > 1<<30 {
			add("sfu.janus.mountpoint_base: %d is outside 1..%d", j.MountpointBase, 1<<30)
		}
		n := len(ev.Languages) + 1
		if j.PortBase != 0 && (j.PortBase < 1024 || j.PortBase+2*n > 65535) {
			add("sfu.janus.port_base: %d leaves no room for %d ports below 65536 (from 1024)", j.PortBase, n)
		}
		for i, l := range j.Langs {
			tag, err := parseTag(l)
			if err != nil {
				add("sfu.janus.langs[%d]: %v", i, err)
			} else if _, ok := langs[tag]; !ok {
				add("sfu.janus.langs[%d]: %s is not a language of this event", i, tag)
			}
		}
		if len(j.Name) > 64 {
			add("sfu.janus.name: longer than 64 characters")
		}
	}
	if len(s.WHIP) > MaxOutputs {
		add("sfu.whip: at most %d publications, got %d", MaxOutputs, len(s.WHIP))
	}
	urls := map[string]int{}
	for i, o := range s.WHIP {
		field := fmt.Sprintf("sfu.whip[%d]", i)
		tag, err := parseTag(o.Lang)
		if err != nil {
			add("%s.lang: %v", field, err)
		} else if _, ok := langs[tag]; !ok {
			add("%s.lang: %s is not a language of this event", field, tag)
		}
		if err := checkHTTPURL(o.URL); err != nil {
			add("%s.url: %v", field, err)
		} else if j, dup := urls[o.URL]; dup {
			add("%s.url: %s is already sfu.whip[%d]", field, Redact(o.URL), j)
		} else {
			urls[o.URL] = i
		}
		if strings.ContainsFunc(o.Token, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
			add("%s.token: spaces or control characters", field)
		}
		if len(o.Name) > 64 {
			add("%s.name: longer than 64 characters", field)
		}
	}
	if s.Watch != "" {
		if err := checkHTTPURL(s.Watch); err != nil {
			add("sfu.watch: %v", err)
		}
		if s.Janus == nil {
			add("sfu.watch: the watch page plays from Janus's mountpoints: needs sfu.janus")
		}
	}
}

// checkHTTPURL says what is wrong with an http(s) URL, showing it redacted.
func checkHTTPURL(s string) error {
	if s == "" {
		return fmt.Errorf("missing (http://HOST[:PORT]/PATH or https://...)")
	}
	if len(s) > maxOutputURL {
		return fmt.Errorf("longer than %d bytes", maxOutputURL)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
		return fmt.Errorf("%s: spaces or control characters", Redact(s))
	}
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" {
		return fmt.Errorf("%s is not a URL", Redact(s))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%s: want http:// or https://", Redact(s))
	}
	if u.Hostname() == "" {
		return fmt.Errorf("%s needs a host", Redact(s))
	}
	if u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%s: no fragment or user in the URL", Redact(s))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%s: bad port", Redact(s))
		}
	}
	return nil
}
