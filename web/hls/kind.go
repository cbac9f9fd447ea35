package hls

import "strings"

// RequestKind names what a request below an event's HLS root (live, as
// Muxer and Subtitles serve it, or a recorded run's, as VOD does) asks for:
// "master", "playlist", "part", "segment", "init", or "other" for names
// this package never writes. It reads the last path element only, so
// counting costs no parse; the result is a metric label (a small fixed set).
func RequestKind(path string) string {
	name := path[strings.LastIndexByte(path, '/')+1:]
	switch {
	case name == "master.m3u8":
		return "master"
	case strings.HasSuffix(name, ".m3u8"):
		return "playlist"
	case strings.HasPrefix(name, "part") && strings.HasSuffix(name, ".m4s"):
		return "part"
	case strings.HasPrefix(name, "seg") && (strings.HasSuffix(name, ".m4s") || strings.HasSuffix(name, ".vtt")):
		return "segment"
	case strings.HasPrefix(name, "init") && strings.HasSuffix(name, ".mp4"):
		return "init"
	}
	return "other"
}

// RequestKinds are the values RequestKind returns.
var RequestKinds = []string{"master", "playlist", "part", "segment", "init", "other"}
