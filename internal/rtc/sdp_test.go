package rtc

import (
	"strings"
	"testing"
)

func TestSetOpusFmtp(t *testing.T) {
	sdp := "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n" +
		"a=rtpmap:0 PCMU/8000\r\nm=audio 9 UDP/TLS/RTP/SAVPF 109\r\na=rtpmap:109 OPUS/48000/2\r\n"
	got := SetOpusFmtp(sdp, BoothOpusFmtp)
	for _, want := range []string{"a=fmtp:111 " + BoothOpusFmtp + "\r\n", "a=rtpmap:109 OPUS/48000/2\r\na=fmtp:109 " + BoothOpusFmtp + "\r\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "fmtp:0 ") || strings.Count(got, "a=fmtp:") != 2 {
		t.Errorf("fmtp lines beyond the Opus formats:\n%s", got)
	}
	if SetOpusFmtp(got, BoothOpusFmtp) != got {
		t.Error("a second rewrite changed the SDP")
	}
}

// FuzzSetOpusFmtp: any text in, no panic, and every Opus format it finds
// ends up with exactly the asked parameters.
func FuzzSetOpusFmtp(f *testing.F) {
	f.Add("a=rtpmap:111 opus/48000/2\na=fmtp:111 x=1\n")
	f.Add("a=rtpmap:\r\na=fmtp:")
	f.Fuzz(func(t *testing.T, sdp string) {
		out := SetOpusFmtp(sdp, BoothOpusFmtp)
		if strings.Contains(sdp, "a=rtpmap:111 opus/48000") && !strings.Contains(out, "a=fmtp:111 "+BoothOpusFmtp) {
			t.Fatalf("opus 111 without its fmtp:\n%q", out)
		}
	})
}
