package config

import (
	"strings"
	"testing"
)

const withSFU = good + `sfu:
  janus: {api: "http://janus.internal:8088/janus", admin_key: k3y, secret: s3cret, mountpoint_base: 100, langs: [fr, es]}
  whip:
    - {lang: fr, url: "https://whip.example.com/publish/fr-room", token: t0ken-secret, name: CDN FR}
    - {lang: en, url: "http://10.0.0.5:8080/whip/demo", enabled: false}
  watch: "https://sfu.example.org/janus"
`

// TestSFU: sfu: is read, the mountpoints numbered from the base in the
// event's order (the floor first) and the WHIP publications named; each
// mistake is named by its field, without the WHIP token.
func TestSFU(t *testing.T) {
	ev, err := Parse([]byte(withSFU), nil)
	if err != nil {
		t.Fatal(err)
	}
	m := ev.JanusMounts()
	if len(m) != 2 || m[0] != (JanusMount{Lang: "fr", ID: 101}) || m[1] != (JanusMount{Lang: "es", ID: 102}) {
		t.Fatalf("mounts %+v", m)
	}
	if h := ev.SFU.Janus.RTPAddr(); h != "janus.internal" {
		t.Errorf("rtp host %q", h)
	}
	if ids := ev.WHIPOutputIDs(); strings.Join(ids, " ") != "whip-fr-1 whip-en-1" {
		t.Errorf("ids %v", ids)
	}
	if !ev.SFU.WHIP[0].On() || ev.SFU.WHIP[1].On() {
		t.Errorf("enabled %+v", ev.SFU.WHIP)
	}
	pre, err := Parse([]byte(good+"sfu: {janus: {rtp_host: 10.1.2.3, mountpoint_base: 10, port_base: 5000}}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := pre.JanusMounts(); len(m) != 3 || m[0] != (JanusMount{Lang: "en", ID: 10, Port: 5000}) || m[2].Port != 5004 {
		t.Errorf("pre-configured mounts %+v", m)
	}
	for name, c := range map[string]struct{ yaml, want string }{
		"janus lang":     {strings.Replace(withSFU, "langs: [fr, es]", "langs: [fr, de]", 1), "sfu.janus.langs[1]: de is not a language"},
		"janus api":      {strings.Replace(withSFU, "http://janus.internal", "ftp://janus.internal", 1), "sfu.janus.api: ftp://janus.internal:8088/****: want http"},
		"janus base":     {strings.Replace(withSFU, "mountpoint_base: 100", "mountpoint_base: 0", 1), "sfu.janus.mountpoint_base: 0 is outside"},
		"no api no port": {good + "sfu: {janus: {rtp_host: h, mountpoint_base: 1}}\n", "sfu.janus.port_base: needed without sfu.janus.api"},
		"no host":        {good + "sfu: {janus: {port_base: 5000, mountpoint_base: 1}}\n", "sfu.janus.rtp_host: needed without sfu.janus.api"},
		"bad host":       {good + "sfu: {janus: {rtp_host: 'a/b', port_base: 5000, mountpoint_base: 1}}\n", "sfu.janus.rtp_host"},
		"port range":     {good + "sfu: {janus: {rtp_host: h, port_base: 65534, mountpoint_base: 1}}\n", "sfu.janus.port_base: 65534 leaves no room"},
		"whip lang":      {strings.Replace(withSFU, "{lang: fr, url", "{lang: de, url", 1), "sfu.whip[0].lang: de is not a language"},
		"whip url":       {strings.Replace(withSFU, "https://whip.example.com", "rtmp://whip.example.com", 1), "sfu.whip[0].url: rtmp://whip.example.com/publish/****: want http"},
		"whip missing":   {strings.Replace(withSFU, "  watch:", "    - {lang: fr}\n  watch:", 1), "sfu.whip[2].url: missing"},
		"whip dup":       {strings.Replace(withSFU, "http://10.0.0.5:8080/whip/demo", "https://whip.example.com/publish/fr-room", 1), "sfu.whip[1].url: https://whip.example.com/publish/**** is already sfu.whip[0]"},
		"whip token":     {strings.Replace(withSFU, "token: t0ken-secret", "token: 't0ken secret'", 1), "sfu.whip[0].token: spaces"},
		"watch url":      {strings.Replace(withSFU, `watch: "https://sfu.example.org/janus"`, `watch: "sfu.example.org"`, 1), "sfu.watch: ****: want http"},
		"watch no janus": {good + "sfu: {watch: \"https://sfu.example.org/janus\"}\n", "sfu.watch: the watch page plays from Janus's mountpoints: needs sfu.janus"},
		"unknown field":  {good + "sfu: {janus: {api: \"http://h/janus\", mountpoint_base: 1, port: 3}}\n", "field port not found"},
	} {
		_, err := Parse([]byte(c.yaml), nil)
		if err == nil || !strings.Contains(strings.ReplaceAll(err.Error(), "\"", ""), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), "t0ken") || strings.Contains(err.Error(), "fr-room") {
			t.Errorf("%s: the error shows a secret: %v", name, err)
		}
	}
	replay := goodReplayForOutputs[:strings.Index(goodReplayForOutputs, "outputs:")] + "sfu: {whip: [{lang: en, url: \"http://h/whip\"}]}\n"
	if _, err := Parse([]byte(replay), nil); err == nil || !strings.Contains(err.Error(), "a rebroadcast forwards nothing") {
		t.Errorf("a rebroadcast with sfu: %v", err)
	}
}
