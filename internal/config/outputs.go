package config

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Output is one push of a language to a platform (YouTube, Facebook,
// Twitch, an SRT receiver): the program's video with that language's mix
// as AAC.
type Output struct {
	// Lang is the language pushed: the floor's or an interpreted one.
	Lang string `yaml:"lang"`
	// URL is where to push: rtmp://HOST[:PORT]/APP/KEY,
	// rtmps://HOST[:PORT]/APP/KEY or srt://HOST:PORT[?streamid=...]. It
	// holds the platform's stream key: it is never logged or shown, only
	// Redact(URL).
	URL string `yaml:"url"`
	// Name is shown to the producer, e.g. "YouTube FR".
	Name string `yaml:"name"`
	// Enabled starts the push with the event (default true); false lists
	// it stopped, for the producer to start.
	Enabled *bool `yaml:"enabled"`
}

// On reports whether the push starts with the event.
func (o Output) On() bool { return o.Enabled == nil || *o.Enabled }

// Output bounds.
const (
	MaxOutputs   = 32
	maxOutputURL = 2048
)

// OutputIDs names each output in the API and the status: its language and
// its place among that language's outputs ("fr-1", "fr-2").
func (ev *Event) OutputIDs() []string {
	n := map[string]int{}
	ids := make([]string, len(ev.Outputs))
	for i, o := range ev.Outputs {
		tag := Tag(o.Lang)
		n[tag]++
		ids[i] = tag + "-" + strconv.Itoa(n[tag])
	}
	return ids
}

// checkOutputs adds the problems of the outputs; langs are the event's
// languages (canonical tags). Messages show URLs redacted.
func (ev *Event) checkOutputs(add func(string, ...any), langs map[string]int, replay bool) {
	if len(ev.Outputs) == 0 {
		return
	}
	if replay {
		add("outputs: a rebroadcast pushes nothing (its run holds Opus only)")
		return
	}
	if len(ev.Outputs) > MaxOutputs {
		add("outputs: at most %d outputs, got %d", MaxOutputs, len(ev.Outputs))
	}
	urls := map[string]int{}
	for i, o := range ev.Outputs {
		field := fmt.Sprintf("outputs[%d]", i)
		tag, err := parseTag(o.Lang)
		if err != nil {
			add("%s.lang: %v", field, err)
		} else if _, ok := langs[tag]; !ok {
			add("%s.lang: %s is not a language of this event", field, tag)
		}
		if err := CheckOutputURL(o.URL); err != nil {
			add("%s.url: %v", field, err)
		} else if j, dup := urls[o.URL]; dup {
			add("%s.url: %s is already outputs[%d]", field, Redact(o.URL), j)
		} else {
			urls[o.URL] = i
		}
		if len(o.Name) > 64 {
			add("%s.name: longer than 64 characters", field)
		}
	}
}

// CheckOutputURL says what is wrong with a push URL, showing it redacted.
func CheckOutputURL(s string) error {
	const kinds = "rtmp://HOST[:PORT]/APP/KEY, rtmps://HOST[:PORT]/APP/KEY or srt://HOST:PORT[?streamid=...]"
	if s == "" {
		return fmt.Errorf("missing (%s)", kinds)
	}
	if len(s) > maxOutputURL {
		return fmt.Errorf("longer than %d bytes", maxOutputURL)
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%s is not a URL (%s)", Redact(s), kinds)
	}
	if u.Fragment != "" || u.Opaque != "" {
		return fmt.Errorf("%s: a fragment or an opaque URL is not a push (%s)", Redact(s), kinds)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
		return fmt.Errorf("%s: spaces or control characters", Redact(s))
	}
	if u.Hostname() == "" {
		return fmt.Errorf("%s needs a host", Redact(s))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%s: bad port", Redact(s))
		}
	}
	switch u.Scheme {
	case "rtmp", "rtmps":
		app, key, ok := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
		if !ok || app == "" || key == "" || strings.HasSuffix(key, "/") {
			return fmt.Errorf("%s needs an application and a stream key: %s://HOST[:PORT]/APP/KEY", Redact(s), u.Scheme)
		}
	case "srt":
		if u.Port() == "" {
			return fmt.Errorf("%s needs a port: srt://HOST:PORT", Redact(s))
		}
		if u.Path != "" && u.Path != "/" {
			return fmt.Errorf("%s: an SRT push has no path; give the stream id as ?streamid=", Redact(s))
		}
		if _, err := url.ParseQuery(u.RawQuery); err != nil {
			return fmt.Errorf("%s: bad query", Redact(s))
		}
	default:
		return fmt.Errorf("%s: unknown kind (%s)", Redact(s), kinds)
	}
	return nil
}

// Redact returns a push URL fit for logs, the status and the console: the
// stream key (an RTMP URL's last path segment), any password and every
// query value (an SRT streamid or passphrase) replaced by "****". Anything
// that does not parse is shown as its scheme alone.
func Redact(s string) string {
	const mask = "****"
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" || u.Scheme == "" {
		scheme, _, ok := strings.Cut(s, "://")
		if !ok || len(scheme) > 10 || strings.ContainsAny(scheme, "/?#@ ") {
			return mask
		}
		return scheme + "://" + mask
	}
	if u.User != nil {
		u.User = url.User(mask)
	}
	if u.Path != "" {
		if i := strings.LastIndex(strings.TrimSuffix(u.Path, "/"), "/"); i > 0 {
			u.Path = u.Path[:i+1] + mask
		} else if u.Scheme != "srt" {
			u.Path = "/" + mask
		}
		u.RawPath = ""
	}
	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			u.RawQuery = mask
		} else {
			parts := make([]string, 0, len(q))
			for k := range q {
				parts = append(parts, url.QueryEscape(k)+"="+mask)
			}
			sort.Strings(parts)
			u.RawQuery = strings.Join(parts, "&")
		}
	}
	if u.Fragment != "" {
		u.Fragment = mask
		u.RawFragment = ""
	}
	return strings.ReplaceAll(u.String(), "%2A%2A%2A%2A", mask)
}
