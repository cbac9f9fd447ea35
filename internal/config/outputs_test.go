package config

import (
	"strings"
	"testing"
)

const withOutputs = good + `outputs:
  - {lang: fr, url: "rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl", name: YouTube FR}
  - {lang: fr, url: "rtmps://live-api-s.facebook.com:443/rtmp/FB-123-0-Ab", enabled: false}
  - {lang: en, url: "srt://ingest.example.com:9000?streamid=%23!::r=live/en,m=publish&passphrase=s3cretpassphrase"}
`

func TestOutputs(t *testing.T) {
	ev, err := Parse([]byte(withOutputs), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Outputs) != 3 || !ev.Outputs[0].On() || ev.Outputs[1].On() || ev.Outputs[0].Name != "YouTube FR" {
		t.Fatalf("outputs %+v", ev.Outputs)
	}
	if ids := ev.OutputIDs(); strings.Join(ids, " ") != "fr-1 fr-2 en-1" {
		t.Fatalf("ids %v", ids)
	}
	for name, c := range map[string]struct{ yaml, want string }{
		"unknown lang":  {strings.Replace(withOutputs, "{lang: fr, url", "{lang: de, url", 1), "outputs[0].lang: de is not a language"},
		"bad lang":      {strings.Replace(withOutputs, "{lang: fr, url", "{lang: '!!', url", 1), "outputs[0].lang"},
		"http":          {strings.Replace(withOutputs, "rtmp://a.rtmp", "http://a.rtmp", 1), "outputs[0].url: http://a.rtmp.youtube.com/live2/**** : unknown kind"},
		"no key":        {strings.Replace(withOutputs, "/live2/abcd-efgh-ijkl", "/live2", 1), "needs an application and a stream key"},
		"no host":       {strings.Replace(withOutputs, "a.rtmp.youtube.com", "", 1), "needs a host"},
		"srt no port":   {strings.Replace(withOutputs, "ingest.example.com:9000", "ingest.example.com", 1), "needs a port"},
		"srt path":      {strings.Replace(withOutputs, "9000?streamid", "9000/x?streamid", 1), "no path"},
		"bad port":      {strings.Replace(withOutputs, ":443/", ":99999/", 1), "bad port"},
		"duplicate":     {withOutputs + `  - {lang: fr, url: "rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl"}` + "\n", "outputs[3].url: rtmp://a.rtmp.youtube.com/live2/**** is already outputs[0]"},
		"long name":     {strings.Replace(withOutputs, "YouTube FR", strings.Repeat("n", 65), 1), "outputs[0].name"},
		"missing url":   {withOutputs + "  - {lang: fr}\n", "outputs[3].url: missing"},
		"unknown field": {withOutputs + "  - {lang: fr, key: x}\n", "field key not found"},
		"space":         {strings.Replace(withOutputs, "live2/abcd", "live2/ab cd", 1), "spaces"},
	} {
		_, err := Parse([]byte(c.yaml), nil)
		if err == nil || !strings.Contains(strings.ReplaceAll(err.Error(), "\"", ""), strings.ReplaceAll(c.want, " : ", ": ")) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
			continue
		}
		// No message ever shows a stream key.
		for _, secret := range []string{"abcd-efgh-ijkl", "FB-123-0-Ab", "s3cretpassphrase", "r=live"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: the error shows a secret: %v", name, err)
			}
		}
	}
	if _, err := Parse([]byte(strings.Replace(goodReplayForOutputs, "\n", "\n", 1)), nil); err == nil || !strings.Contains(err.Error(), "rebroadcast pushes nothing") {
		t.Errorf("a rebroadcast with outputs: %v", err)
	}
}

const goodReplayForOutputs = `
id: again
floor:
  source: replay:20261103T080000Z
outputs:
  - {lang: en, url: "rtmp://host/app/key"}
`

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"rtmp://a.rtmp.youtube.com/live2/abcd-efgh":                "rtmp://a.rtmp.youtube.com/live2/****",
		"rtmps://live-api-s.facebook.com:443/rtmp/FB-1?s_bl=1&a=2": "rtmps://live-api-s.facebook.com:443/rtmp/****?a=****&s_bl=****",
		"rtmp://user:pw@host/app/key":                              "rtmp://****@host/app/****",
		"rtmp://host/key":                                          "rtmp://host/****",
		"srt://h:9000?streamid=secret&passphrase=p":                "srt://h:9000?passphrase=****&streamid=****",
		"srt://h:9000":             "srt://h:9000",
		"rtmp://host/app/key#frag": "rtmp://host/app/****#****",
		"rtmp://ho st/%zz/key":     "rtmp://****",
		"garbage with key":         "****",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzOutputURL checks that a push URL is either refused or accepted without
// a panic, and that neither the error nor the redacted form ever shows the
// stream key of an RTMP URL that was accepted.
func FuzzOutputURL(f *testing.F) {
	for _, s := range []string{"rtmp://a/b/c", "rtmps://h:443/app/KEY?x=1", "srt://h:1?streamid=#!::r=a", "srt://[::1]:9000",
		"rtmp://h/%41/%zz", "rtmp://u:p@h/a/k#f", "rtmp:///a/b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := CheckOutputURL(s)
		r := Redact(s)
		if err != nil || !strings.HasPrefix(s, "rtmp") {
			return
		}
		key := s[strings.LastIndex(s, "/")+1:]
		if len(key) >= 6 && strings.Contains(r, key) {
			t.Fatalf("Redact(%q) = %q shows the key %q", s, r, key)
		}
	})
}
