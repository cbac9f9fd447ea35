package aac

import (
	"tolk/internal/media"
)

// Tracks is a Sink that hands every language's frames on as media units
// (media.AAC, PTS on the program timeline) on a track per language, for the
// outputs that push a language elsewhere, and passes them to the next Sink
// (the LL-HLS muxer) when there is one. A frame is copied only while its
// track has a reader.
type Tracks struct {
	next   Sink
	tracks map[string]*media.Track[media.Unit]
}

// NewTracks returns the tracks of ids; next may be nil.
func NewTracks(ids []string, next Sink) *Tracks {
	t := &Tracks{next: next, tracks: make(map[string]*media.Track[media.Unit], len(ids))}
	for _, id := range ids {
		t.tracks[id] = media.NewTrack[media.Unit](id + "/aac")
	}
	return t
}

// Track returns a language's AAC track.
func (t *Tracks) Track(id string) (*media.Track[media.Unit], bool) {
	tr, ok := t.tracks[id]
	return tr, ok
}

// WriteAAC implements Sink.
func (t *Tracks) WriteAAC(id string, pts int64, frame []byte) error {
	if tr := t.tracks[id]; tr != nil && tr.Readers() > 0 {
		tr.Write(media.Unit{PTS: pts, Codec: media.AAC, Payload: append([]byte(nil), frame...)})
	}
	if t.next != nil {
		return t.next.WriteAAC(id, pts, frame)
	}
	return nil
}

// Close closes every track: their readers' channels end.
func (t *Tracks) Close() {
	for _, tr := range t.tracks {
		tr.Close()
	}
}
