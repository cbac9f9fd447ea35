package hls

import (
	"strings"
	"testing"

	"tolk/internal/recording"
)

func FuzzParseVODPath(f *testing.F) {
	for _, s := range []string{
		"gala/20261103T090000Z/master.m3u8", "/gala/20261103T090000Z-2/en/index.m3u8", "gala/20261103T090000Z/de-CH/init.mp4",
		"gala/20261103T090000Z/fr/seg12.m4s", "gala/20261103T090000Z/subs/en/index.m3u8", "gala/20261103T090000Z/subs/en/seg0.vtt",
		"gala/20261103T090000Z/subs/subs/index.m3u8", "gala/20261103T090000Z/subs/en/seg1.m4s", "gala/20261103T090000Z/en/seg1.vtt",
		"gala/20261103T090000Z/en/seg01.m4s", "gala/20261103T090000Z/en/seg-1.m4s", "gala/../x/master.m3u8", "//", "",
		"gala/20261103T090000Z/en/seg999999999999999999.m4s", "Gala/20261103T090000Z/master.m3u8", "gala/x/master.m3u8",
		"gala/20261103T090000Z/en//index.m3u8", "gala/20261103T090000Z/é/index.m3u8", "gala/20261103T090000Z-99999/master.m3u8",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		v, err := parseVODPath(p)
		if err != nil {
			return
		}
		// Every accepted path is canonical: it prints back to itself, and
		// every element is one the VOD writes.
		if got := v.String(); got != strings.TrimPrefix(p, "/") {
			t.Fatalf("%q parsed to %+v, prints as %q", p, v, got)
		}
		if !validEvent(v.event) || !recording.ValidRunID(v.run) || v.seg < 0 {
			t.Fatalf("%q parsed to %+v", p, v)
		}
		if v.kind != vodMaster && (!validID(v.lang) || v.lang == vodSubsDir) {
			t.Fatalf("%q parsed to %+v: language %q", p, v, v.lang)
		}
		if strings.Contains(v.String(), "..") {
			t.Fatalf("%q parsed to %+v", p, v)
		}
	})
}
