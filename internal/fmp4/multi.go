package fmp4

import (
	"errors"
	"fmt"

	"github.com/Eyevinn/mp4ff/bits"
	"github.com/Eyevinn/mp4ff/mp4"

	"tolk/internal/audio"
)

// Kind is what a track carries.
type Kind uint8

// Track kinds.
const (
	// Audio tracks carry 20 ms mono Opus packets.
	Audio Kind = iota + 1
	// Text tracks carry 3GPP timed text (tx3g): captions.
	Text
	// Video tracks carry H.264 access units in AVCC form (avc1).
	Video
)

// String names the kind as the recordings API does.
func (k Kind) String() string {
	switch k {
	case Audio:
		return "audio"
	case Text:
		return "captions"
	case Video:
		return "video"
	}
	return "unknown"
}

// Role schemes and values written in a track's kind box (ISO/IEC 14496-12
// 8.10.4) with the DASH role scheme, so players and packagers can tell the
// original from the interpretations and captions from audio.
const (
	RoleScheme  = "urn:mpeg:dash:role:2011"
	RoleMain    = "main"    // the floor: the original language
	RoleDub     = "dub"     // an interpretation of the floor
	RoleCaption = "caption" // captions of a language's speech
)

// TrackSpec describes one track of a multi-track file.
type TrackSpec struct {
	// ID is the track_ID, 1 for the first track and counting up.
	ID   uint32
	Kind Kind
	// Lang is a BCP 47 tag: the mdhd box gets its ISO 639-2/T code, the
	// elng box the tag itself.
	Lang string
	// Name is the handler name, which players show as the track's name
	// (ffprobe's handler_name).
	Name string
	// Role is the track's DASH role (RoleMain, RoleDub, RoleCaption).
	Role string
	// Enabled marks the track players take by default (tkhd enabled flag).
	Enabled bool
	// SPS and PPS are a Video track's parameter sets (one NAL unit each,
	// without a length or start code): its avc1 sample entry is built from
	// them, and they give the picture's size.
	SPS, PPS []byte
}

// alternate groups (tkhd): the tracks of a group are alternatives of each
// other, one played at a time.
const (
	audioGroup = 1
	textGroup  = 2
)

// Init encodes the movie box of a multi-track fragmented file: a moov with
// one trak (and trex) per spec, in order. The caller writes an ftyp first.
func Init(specs []TrackSpec) ([]byte, error) {
	if len(specs) == 0 {
		return nil, errors.New("no tracks")
	}
	init := mp4.CreateEmptyInit()
	init.Moov.Mvhd.Timescale = Timescale
	for i, s := range specs {
		if s.ID != uint32(i+1) {
			return nil, fmt.Errorf("track %d has id %d: ids count up from 1", i, s.ID)
		}
		var trak *mp4.TrakBox
		switch s.Kind {
		case Audio:
			trak = init.AddEmptyTrack(Timescale, "audio", ISO639(s.Lang))
			trak.Mdia.Minf.Stbl.Stsd.AddChild(OpusSampleEntry())
			trak.Tkhd.AlternateGroup = audioGroup
		case Text:
			trak = init.AddEmptyTrack(Timescale, "sbtl", ISO639(s.Lang))
			trak.Mdia.Minf.Stbl.Stsd.AddChild(tx3gSampleEntry())
			trak.Tkhd.AlternateGroup = textGroup
		case Video:
			if len(s.SPS) == 0 || len(s.PPS) == 0 {
				return nil, fmt.Errorf("track %d: video without SPS and PPS", s.ID)
			}
			// The program's time scale, like every other track: a frame's
			// decode time is its program time, as in the live outputs.
			trak = init.AddEmptyTrack(Timescale, "video", ISO639(s.Lang))
			if err := trak.SetAVCDescriptor("avc1", [][]byte{s.SPS}, [][]byte{s.PPS}, true); err != nil {
				return nil, fmt.Errorf("track %d: %w", s.ID, err)
			}
		default:
			return nil, fmt.Errorf("track %d: unknown kind %d", s.ID, s.Kind)
		}
		trak.Tkhd.Flags = 0x6 // in movie, in preview
		if s.Enabled {
			trak.Tkhd.Flags |= 0x1
		}
		trak.Mdia.Hdlr.Name = s.Name
		if trak.Mdia.Elng == nil {
			// mp4ff adds one itself only for tags that are not three
			// letters; put it where mp4ff would, after the hdlr.
			addElng(trak.Mdia, s.Lang)
		}
		if s.Role != "" {
			udta := &mp4.UdtaBox{}
			udta.AddChild(&mp4.KindBox{SchemeURI: RoleScheme, Value: s.Role})
			trak.AddChild(udta)
		}
	}
	sw := bits.NewFixedSliceWriter(int(init.Moov.Size()))
	if err := init.Moov.EncodeSW(sw); err != nil {
		return nil, fmt.Errorf("encode moov: %w", err)
	}
	return sw.Bytes(), nil
}

// Ftyp encodes the file type box of a multi-track recording.
func Ftyp() []byte {
	f := mp4.NewFtyp("iso6", 0, []string{"iso6", "mp41"})
	sw := bits.NewFixedSliceWriter(int(f.Size()))
	_ = f.EncodeSW(sw) // a fixed box into a slice of its size cannot fail
	return sw.Bytes()
}

// Traf is one track's samples in a multi-track fragment: back to back in
// Data, sizes in Sizes, durations in Durs (or all Dur when Durs is nil).
type Traf struct {
	TrackID uint32
	// Start is the decode time of the first sample (Timescale units).
	Start int64
	Dur   uint32
	Durs  []uint32
	Sizes []uint32
	Data  []byte
	// CTOs are video samples' composition offsets (presentation minus
	// decode time), nil for none; Sync marks the sync samples (key
	// frames), nil when every sample is one (audio, text).
	CTOs []int32
	Sync []bool
}

// Duration is the traf's total duration.
func (t *Traf) Duration() int64 {
	if t.Durs == nil {
		return int64(t.Dur) * int64(len(t.Sizes))
	}
	var d int64
	for _, x := range t.Durs {
		d += int64(x)
	}
	return d
}

// MultiFragment encodes one fragment of several tracks: a moof with a traf
// per Traf (each with one trun, its data offset relative to the moof) and
// one mdat holding the trafs' data in order. Trafs without samples are left
// out.
func MultiFragment(seq uint32, trafs []Traf) ([]byte, error) {
	var ids []uint32
	for i := range trafs {
		if len(trafs[i].Sizes) > 0 {
			ids = append(ids, trafs[i].TrackID)
		}
	}
	if len(ids) == 0 {
		return nil, errors.New("fragment without samples")
	}
	frag, err := mp4.CreateMultiTrackFragment(seq, ids)
	if err != nil {
		return nil, fmt.Errorf("create fragment: %w", err)
	}
	for i := range trafs {
		t := &trafs[i]
		if len(t.Sizes) == 0 {
			continue
		}
		if t.Durs != nil && len(t.Durs) != len(t.Sizes) {
			return nil, fmt.Errorf("track %d: %d durations for %d samples", t.TrackID, len(t.Durs), len(t.Sizes))
		}
		if (t.CTOs != nil && len(t.CTOs) != len(t.Sizes)) || (t.Sync != nil && len(t.Sync) != len(t.Sizes)) {
			return nil, fmt.Errorf("track %d: offsets or sync marks do not match its %d samples", t.TrackID, len(t.Sizes))
		}
		var total int
		for j, n := range t.Sizes {
			d := t.Dur
			if t.Durs != nil {
				d = t.Durs[j]
			}
			s := mp4.Sample{Flags: mp4.SyncSampleFlags, Dur: d, Size: n}
			if t.Sync != nil && !t.Sync[j] {
				s.Flags = mp4.NonSyncSampleFlags
			}
			if t.CTOs != nil {
				s.CompositionTimeOffset = t.CTOs[j]
			}
			if err := frag.AddSampleToTrack(s, t.TrackID, uint64(t.Start)); err != nil {
				return nil, fmt.Errorf("track %d: %w", t.TrackID, err)
			}
			total += int(n)
		}
		if total != len(t.Data) {
			return nil, fmt.Errorf("track %d: samples of %d bytes, data of %d", t.TrackID, total, len(t.Data))
		}
		frag.Mdat.AddSampleDataPart(t.Data)
	}
	for _, traf := range frag.Moof.Trafs {
		if err := traf.OptimizeTfhdTrun(); err != nil {
			return nil, fmt.Errorf("optimize fragment: %w", err)
		}
	}
	sw := bits.NewFixedSliceWriter(int(frag.Size()))
	if err := frag.EncodeSW(sw); err != nil {
		return nil, fmt.Errorf("encode fragment: %w", err)
	}
	return sw.Bytes(), nil
}

// FrameDur is the duration of one 20 ms Opus packet in Timescale units.
const FrameDur = uint32(audio.FrameSamples)

// addElng puts an elng box with tag into mdia just before its minf.
func addElng(mdia *mp4.MdiaBox, tag string) {
	elng := mp4.CreateElng(tag)
	mdia.Elng = elng
	for i, c := range mdia.Children {
		if c.Type() == "minf" {
			mdia.Children = append(mdia.Children[:i], append([]mp4.Box{elng}, mdia.Children[i:]...)...)
			return
		}
	}
	mdia.Children = append(mdia.Children, elng)
}
