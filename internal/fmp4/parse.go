package fmp4

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// ErrShort means a box runs past the end of the bytes given: at the end of
// a file being written, or torn by a crash.
var ErrShort = errors.New("box runs past the end of the data")

// MaxSamples bounds the samples of one trun the parser accepts: a trun
// whose samples carry no fields of their own could otherwise claim billions
// in a few bytes.
const MaxSamples = 1 << 16

// Header is a box header.
type Header struct {
	Type string
	// Size is the whole box, header included.
	Size uint64
	// Len is the header's length: 8, or 16 with a 64-bit size.
	Len int
}

// ParseHeader reads the box header at the start of b. A size of zero
// ("to the end of the file") is refused: tolk never writes one, and a torn
// write can leave zeros behind.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < 8 {
		return Header{}, ErrShort
	}
	h := Header{Size: uint64(binary.BigEndian.Uint32(b)), Type: string(b[4:8]), Len: 8}
	switch h.Size {
	case 0:
		return Header{}, fmt.Errorf("box %q without a size", printable(h.Type))
	case 1:
		if len(b) < 16 {
			return Header{}, ErrShort
		}
		h.Size, h.Len = binary.BigEndian.Uint64(b[8:]), 16
	}
	if h.Size < uint64(h.Len) {
		return Header{}, fmt.Errorf("box %q of %d bytes is shorter than its header", printable(h.Type), h.Size)
	}
	return h, nil
}

// Box is a box found in a buffer.
type Box struct {
	Header
	// Body is the box's content after its header.
	Body []byte
}

// Children splits b, the body of a container, into its boxes.
func Children(b []byte) ([]Box, error) {
	var out []Box
	for len(b) > 0 {
		h, err := ParseHeader(b)
		if err != nil {
			return nil, err
		}
		if h.Size > uint64(len(b)) {
			return nil, fmt.Errorf("box %q: %w", printable(h.Type), ErrShort)
		}
		out = append(out, Box{Header: h, Body: b[h.Len:h.Size]})
		b = b[h.Size:]
	}
	return out, nil
}

// TrackInfo is one track of a movie box as the parser reads it.
type TrackInfo struct {
	ID        uint32
	Kind      Kind // 0 for other kinds of track
	Timescale uint32
	// Lang is the mdhd box's ISO 639-2/T code; ExtLang the elng box's
	// BCP 47 tag, if there is one.
	Lang    string
	ExtLang string
	Handler string // the hdlr box's handler type
	Name    string // the hdlr box's name
	Entry   string // the first sample entry's type: "Opus", "tx3g", ...
	Role    string // the kind box's value in the DASH role scheme
	Enabled bool
	// DefaultDur and DefaultSize are the trex defaults for fragments.
	DefaultDur, DefaultSize uint32
}

// Tag is the track's language as a BCP 47 tag: the elng box's, else the
// mdhd code.
func (t TrackInfo) Tag() string {
	if t.ExtLang != "" {
		return t.ExtLang
	}
	return t.Lang
}

// ParseMoov reads the tracks of a movie box's body.
func ParseMoov(body []byte) ([]TrackInfo, error) {
	boxes, err := Children(body)
	if err != nil {
		return nil, fmt.Errorf("moov: %w", err)
	}
	var tracks []TrackInfo
	defaults := map[uint32][2]uint32{}
	for _, b := range boxes {
		switch b.Type {
		case "trak":
			t, err := parseTrak(b.Body)
			if err != nil {
				return nil, err
			}
			tracks = append(tracks, t)
		case "mvex":
			kids, err := Children(b.Body)
			if err != nil {
				return nil, fmt.Errorf("mvex: %w", err)
			}
			for _, k := range kids {
				if k.Type != "trex" {
					continue
				}
				if len(k.Body) < 24 {
					return nil, errors.New("trex: too short")
				}
				id := be32(k.Body[4:])
				defaults[id] = [2]uint32{be32(k.Body[12:]), be32(k.Body[16:])}
			}
		}
	}
	for i := range tracks {
		d := defaults[tracks[i].ID]
		tracks[i].DefaultDur, tracks[i].DefaultSize = d[0], d[1]
	}
	return tracks, nil
}

func parseTrak(body []byte) (TrackInfo, error) {
	var t TrackInfo
	boxes, err := Children(body)
	if err != nil {
		return t, fmt.Errorf("trak: %w", err)
	}
	for _, b := range boxes {
		switch b.Type {
		case "tkhd":
			if len(b.Body) < 4 {
				return t, errors.New("tkhd: too short")
			}
			at := 12 // version 0: flags, creation and modification times
			if b.Body[0] == 1 {
				at = 20
			}
			if len(b.Body) < at+4 {
				return t, errors.New("tkhd: too short")
			}
			t.Enabled = b.Body[3]&1 != 0
			t.ID = be32(b.Body[at:])
		case "mdia":
			if err := parseMdia(b.Body, &t); err != nil {
				return t, err
			}
		case "udta":
			kids, err := Children(b.Body)
			if err != nil {
				return t, fmt.Errorf("udta: %w", err)
			}
			for _, k := range kids {
				if k.Type != "kind" || len(k.Body) < 4 {
					continue
				}
				scheme, rest := cstring(k.Body[4:])
				value, _ := cstring(rest)
				if scheme == RoleScheme {
					t.Role = value
				}
			}
		}
	}
	if t.ID == 0 {
		return t, errors.New("trak without a tkhd track id")
	}
	return t, nil
}

func parseMdia(body []byte, t *TrackInfo) error {
	boxes, err := Children(body)
	if err != nil {
		return fmt.Errorf("mdia: %w", err)
	}
	for _, b := range boxes {
		switch b.Type {
		case "mdhd":
			at := 12 // version 0: flags, creation and modification times
			dur := 4
			if len(b.Body) > 0 && b.Body[0] == 1 {
				at, dur = 20, 8
			}
			if len(b.Body) < at+4+dur+2 {
				return errors.New("mdhd: too short")
			}
			t.Timescale = be32(b.Body[at:])
			t.Lang = unpackLang(binary.BigEndian.Uint16(b.Body[at+4+dur:]))
		case "hdlr":
			if len(b.Body) < 24 {
				return errors.New("hdlr: too short")
			}
			t.Handler = string(b.Body[8:12])
			t.Name, _ = cstring(b.Body[24:])
		case "elng":
			if len(b.Body) < 4 {
				return errors.New("elng: too short")
			}
			t.ExtLang, _ = cstring(b.Body[4:])
		case "minf":
			if err := parseMinf(b.Body, t); err != nil {
				return err
			}
		}
	}
	switch t.Entry {
	case "Opus":
		t.Kind = Audio
	case "tx3g":
		t.Kind = Text
	case "avc1":
		t.Kind = Video
	}
	return nil
}

func parseMinf(body []byte, t *TrackInfo) error {
	boxes, err := Children(body)
	if err != nil {
		return fmt.Errorf("minf: %w", err)
	}
	for _, b := range boxes {
		if b.Type != "stbl" {
			continue
		}
		kids, err := Children(b.Body)
		if err != nil {
			return fmt.Errorf("stbl: %w", err)
		}
		for _, k := range kids {
			if k.Type != "stsd" {
				continue
			}
			if len(k.Body) < 8 {
				return errors.New("stsd: too short")
			}
			if be32(k.Body[4:]) == 0 {
				continue
			}
			h, err := ParseHeader(k.Body[8:])
			if err != nil {
				return fmt.Errorf("stsd: %w", err)
			}
			t.Entry = h.Type
		}
	}
	return nil
}

// Sample is one sample of a fragment.
type Sample struct {
	// Time is its decode time.
	Time int64
	Dur  uint32
	Size uint32
	// Offset is where its data starts, counted from the moof's first byte.
	Offset int64
}

// TrafInfo is one track's samples in a moof.
type TrafInfo struct {
	TrackID uint32
	Samples []Sample
}

// Start is the decode time of the traf's first sample.
func (t TrafInfo) Start() int64 {
	if len(t.Samples) == 0 {
		return 0
	}
	return t.Samples[0].Time
}

// End is the decode time just after its last sample.
func (t TrafInfo) End() int64 {
	if len(t.Samples) == 0 {
		return 0
	}
	s := t.Samples[len(t.Samples)-1]
	return s.Time + int64(s.Dur)
}

// DataEnd is the offset, from the moof's first byte, just after the
// traf's last sample's data.
func (t TrafInfo) DataEnd() int64 {
	var end int64
	for _, s := range t.Samples {
		end = max(end, s.Offset+int64(s.Size))
	}
	return end
}

// Moof is a movie fragment box as the parser reads it.
type Moof struct {
	Seq   uint32
	Trafs []TrafInfo
}

// Defaults gives a track's trex defaults (duration, size), for samples that
// carry neither in their trun nor in their tfhd.
type Defaults func(trackID uint32) (dur, size uint32)

// tfhd and trun flags (ISO/IEC 14496-12 8.8.7, 8.8.8).
const (
	tfhdBaseDataOffset  = 0x000001
	tfhdSampleDescIndex = 0x000002
	tfhdDefaultDur      = 0x000008
	tfhdDefaultSize     = 0x000010
	tfhdDefaultFlags    = 0x000020
	tfhdBaseIsMoof      = 0x020000

	trunDataOffset = 0x000001
	trunFirstFlags = 0x000004
	trunDur        = 0x000100
	trunSize       = 0x000200
	trunFlags      = 0x000400
	trunCTO        = 0x000800
)

// ParseMoof reads the body of a moof box. Sample offsets are relative to
// the moof's first byte, so every traf must have default-base-is-moof (as
// CMAF and tolk's writer set) and no explicit base data offset. A traf
// without a tfdt is refused: its samples would have no time.
func ParseMoof(body []byte, defaults Defaults) (Moof, error) {
	var m Moof
	boxes, err := Children(body)
	if err != nil {
		return m, fmt.Errorf("moof: %w", err)
	}
	for _, b := range boxes {
		switch b.Type {
		case "mfhd":
			if len(b.Body) < 8 {
				return m, errors.New("mfhd: too short")
			}
			m.Seq = be32(b.Body[4:])
		case "traf":
			t, err := parseTraf(b.Body, defaults)
			if err != nil {
				return m, err
			}
			m.Trafs = append(m.Trafs, t)
		}
	}
	return m, nil
}

func parseTraf(body []byte, defaults Defaults) (TrafInfo, error) {
	var t TrafInfo
	boxes, err := Children(body)
	if err != nil {
		return t, fmt.Errorf("traf: %w", err)
	}
	var (
		haveTfhd, haveTfdt bool
		defDur, defSize    uint32
		base               int64
	)
	for _, b := range boxes {
		switch b.Type {
		case "tfhd":
			if len(b.Body) < 8 {
				return t, errors.New("tfhd: too short")
			}
			flags := be24(b.Body[1:])
			if flags&tfhdBaseDataOffset != 0 || flags&tfhdBaseIsMoof == 0 {
				return t, errors.New("tfhd: sample data must be placed from the moof (default-base-is-moof, no base data offset)")
			}
			t.TrackID = be32(b.Body[4:])
			if defaults != nil {
				defDur, defSize = defaults(t.TrackID)
			}
			at := 8
			for _, f := range []struct {
				flag uint32
				dst  *uint32
			}{{tfhdSampleDescIndex, nil}, {tfhdDefaultDur, &defDur}, {tfhdDefaultSize, &defSize}, {tfhdDefaultFlags, nil}} {
				if flags&f.flag == 0 {
					continue
				}
				if len(b.Body) < at+4 {
					return t, errors.New("tfhd: too short for its flags")
				}
				if f.dst != nil {
					*f.dst = be32(b.Body[at:])
				}
				at += 4
			}
			haveTfhd = true
		case "tfdt":
			if len(b.Body) < 8 {
				return t, errors.New("tfdt: too short")
			}
			if b.Body[0] == 1 {
				if len(b.Body) < 12 {
					return t, errors.New("tfdt: too short")
				}
				v := binary.BigEndian.Uint64(b.Body[4:])
				if v > 1<<62 {
					return t, errors.New("tfdt: decode time out of range")
				}
				base = int64(v)
			} else {
				base = int64(be32(b.Body[4:]))
			}
			haveTfdt = true
		case "trun":
			if !haveTfhd || !haveTfdt {
				return t, errors.New("trun before the traf's tfhd and tfdt")
			}
			next := t.DataEnd() // a trun without an offset follows the previous one
			if len(t.Samples) == 0 {
				next = -1
			}
			var err error
			if base, err = parseTrun(b.Body, &t, base, next, defDur, defSize); err != nil {
				return t, err
			}
		}
	}
	if !haveTfhd {
		return t, errors.New("traf without a tfhd")
	}
	return t, nil
}

// parseTrun appends a trun's samples to t, the first at decode time base,
// and returns the decode time after the last.
func parseTrun(body []byte, t *TrafInfo, base, next int64, defDur, defSize uint32) (int64, error) {
	if len(body) < 8 {
		return 0, errors.New("trun: too short")
	}
	flags := be24(body[1:])
	count := be32(body[4:])
	if count > MaxSamples || int(count)+len(t.Samples) > MaxSamples {
		return 0, fmt.Errorf("trun: %d samples is more than %d", count, MaxSamples)
	}
	at := 8
	offset := next
	if flags&trunDataOffset != 0 {
		if len(body) < at+4 {
			return 0, errors.New("trun: too short for its data offset")
		}
		offset = int64(int32(be32(body[at:])))
		at += 4
	}
	if offset < 0 {
		return 0, errors.New("trun: no data offset")
	}
	if flags&trunFirstFlags != 0 {
		at += 4
	}
	per := 0
	for _, f := range []uint32{trunDur, trunSize, trunFlags, trunCTO} {
		if flags&f != 0 {
			per += 4
		}
	}
	if uint64(len(body)-min(at, len(body))) < uint64(count)*uint64(per) || at > len(body) {
		return 0, errors.New("trun: too short for its samples")
	}
	for range count {
		s := Sample{Time: base, Dur: defDur, Size: defSize, Offset: offset}
		if flags&trunDur != 0 {
			s.Dur = be32(body[at:])
			at += 4
		}
		if flags&trunSize != 0 {
			s.Size = be32(body[at:])
			at += 4
		}
		if flags&trunFlags != 0 {
			at += 4
		}
		if flags&trunCTO != 0 {
			at += 4
		}
		if s.Dur == 0 && defDur == 0 && flags&trunDur == 0 {
			return 0, errors.New("trun: sample without a duration")
		}
		t.Samples = append(t.Samples, s)
		base += int64(s.Dur)
		offset += int64(s.Size)
		if base > 1<<62 || offset > 1<<40 {
			return 0, errors.New("trun: samples out of range")
		}
	}
	return base, nil
}

func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }

func be24(b []byte) uint32 { return uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]) }

// cstring reads a null-terminated string (or the rest of b) and returns
// what follows it.
func cstring(b []byte) (string, []byte) {
	for i, c := range b {
		if c == 0 {
			return string(b[:i]), b[i+1:]
		}
	}
	return string(b), nil
}

// unpackLang reads the mdhd's packed ISO 639-2/T code (three 5-bit letters).
func unpackLang(v uint16) string {
	b := []byte{byte(v>>10&0x1f) + 0x60, byte(v>>5&0x1f) + 0x60, byte(v&0x1f) + 0x60}
	for _, c := range b {
		if c < 'a' || c > 'z' {
			return "und"
		}
	}
	return string(b)
}

// printable quotes a box type safely for an error message.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}
