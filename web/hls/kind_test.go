package hls

import "testing"

func TestRequestKind(t *testing.T) {
	for path, want := range map[string]string{
		"master.m3u8":              "master",
		"/master.m3u8":             "master",
		"en/index.m3u8":            "playlist",
		"en.aac/index.m3u8":        "playlist",
		"subs/en/index.m3u8":       "playlist",
		"video/iframes.m3u8":       "playlist",
		"en/k3x9ab/init.mp4":       "init",
		"video/k3x9ab/init2.mp4":   "init",
		"en/k3x9ab/seg12.m4s":      "segment",
		"subs/en/k3x9ab/seg3.vtt":  "segment",
		"run1/fr/seg4.m4s":         "segment",
		"en/k3x9ab/part12.3.m4s":   "part",
		"":                         "other",
		"en":                       "other",
		"en/k3x9ab/seg12.m4s/x":    "other",
		"en/k3x9ab/something.json": "other",
	} {
		if got := RequestKind(path); got != want {
			t.Errorf("RequestKind(%q) = %q, want %q", path, got, want)
		}
	}
}
