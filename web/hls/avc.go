package hls

import (
	"bytes"
	"errors"
	"fmt"
	"math"

	"github.com/Eyevinn/mp4ff/bits"
	"github.com/Eyevinn/mp4ff/mp4"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"tolk/internal/audio"
)

// maxVideoFrame bounds one H.264 access unit (a 1080p key frame at a high
// bitrate is a few hundred kilobytes).
const maxVideoFrame = 4 << 20

// VideoInfo describes the video rendition as its sequence parameter set
// says: what the master playlist's video variants declare.
type VideoInfo struct {
	// Codecs is the RFC 6381 name of the stream, "avc1.PPCCLL" (profile,
	// constraint flags and level from the SPS).
	Codecs string `json:"codecs"`
	// Width and Height are the picture's size in pixels, after cropping.
	Width  int `json:"width"`
	Height int `json:"height"`
	// FrameRate is frames per second: the SPS's timing when it has one,
	// else measured from the frames' decode times.
	FrameRate float64 `json:"frame_rate"`
}

// avcParams are the parameter sets of one stream configuration.
type avcParams struct {
	sps, pps []byte
	info     VideoInfo
	init     []byte
}

// scanAVCC checks that payload is an access unit in AVCC form (4-byte
// lengths, each NAL unit inside the payload, at least one) and returns the
// first SPS and PPS it holds, aliasing payload.
func scanAVCC(payload []byte) (sps, pps []byte, err error) {
	if len(payload) > maxVideoFrame {
		return nil, nil, fmt.Errorf("access unit of %d bytes is larger than %d", len(payload), maxVideoFrame)
	}
	n := 0
	for pos := 0; pos < len(payload); {
		if len(payload)-pos < 4 {
			return nil, nil, errors.New("truncated NAL unit length")
		}
		l := int(uint32(payload[pos])<<24 | uint32(payload[pos+1])<<16 | uint32(payload[pos+2])<<8 | uint32(payload[pos+3]))
		pos += 4
		if l > len(payload)-pos || l < 0 {
			return nil, nil, errors.New("NAL unit longer than the access unit")
		}
		if l > 0 {
			n++
			nalu := payload[pos : pos+l]
			switch h264.NALUType(nalu[0] & 0x1f) {
			case h264.NALUTypeSPS:
				if sps == nil {
					sps = nalu
				}
			case h264.NALUTypePPS:
				if pps == nil {
					pps = nalu
				}
			}
		}
		pos += l
	}
	if n == 0 {
		return nil, nil, errors.New("access unit without NAL units")
	}
	return sps, pps, nil
}

// newAVCParams parses an SPS (mediacommon) and builds the initialization
// section of a single H.264 track (track 1, timescale 48 kHz: the program's,
// so decode times are program time) with an avc1 sample entry.
func newAVCParams(sps, pps []byte) (*avcParams, error) {
	if len(sps) < 4 {
		return nil, errors.New("SPS too short")
	}
	var s h264.SPS
	if err := s.Unmarshal(sps); err != nil {
		return nil, fmt.Errorf("SPS: %w", err)
	}
	w, h := s.Width(), s.Height()
	if w <= 0 || h <= 0 || w > 8192 || h > 8192 {
		return nil, fmt.Errorf("SPS: picture of %dx%d", w, h)
	}
	p := &avcParams{
		sps: bytes.Clone(sps),
		pps: bytes.Clone(pps),
		info: VideoInfo{
			Codecs: fmt.Sprintf("avc1.%02x%02x%02x", sps[1], sps[2], sps[3]),
			Width:  w,
			Height: h,
		},
	}
	if fps := s.FPS(); fps >= 1 && fps <= 240 && !math.IsNaN(fps) {
		p.info.FrameRate = fps
	}
	init, err := avcInit(p.sps, p.pps, w, h)
	if err != nil {
		return nil, err
	}
	p.init = init
	return p, nil
}

func avcInit(sps, pps []byte, w, h int) (b []byte, err error) {
	// mp4ff parses the SPS again for the avcC's profile fields; a crafted
	// one must not take the server down.
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("avcC: %v", r)
		}
	}()
	avcC, err := mp4.CreateAvcC([][]byte{sps}, [][]byte{pps}, true)
	if err != nil {
		return nil, fmt.Errorf("avcC: %w", err)
	}
	init := mp4.CreateEmptyInit()
	init.Ftyp = mp4.NewFtyp("iso6", 0, []string{"iso6", "cmfc", "avc1", "mp41"})
	init.Children[0] = init.Ftyp
	trak := init.AddEmptyTrack(audio.SampleRate, "video", "und")
	trak.Tkhd.Width = mp4.Fixed32(w << 16)
	trak.Tkhd.Height = mp4.Fixed32(h << 16)
	trak.Mdia.Minf.Stbl.Stsd.AddChild(mp4.CreateVisualSampleEntryBox("avc1", uint16(w), uint16(h), avcC))
	sw := bits.NewFixedSliceWriter(int(init.Size()))
	if err := init.EncodeSW(sw); err != nil {
		return nil, fmt.Errorf("encode video init segment: %w", err)
	}
	return sw.Bytes(), nil
}

// vframe is one access unit waiting in a part, its duration known once the
// next frame's decode time is.
type vframe struct {
	dts, pts int64
	dur      int64
	key      bool
	data     []byte
}

// videoFragment encodes frames as one fragment: a moof whose trun carries
// each frame's duration, size, key-frame flags and composition offset
// (PTS − DTS), and an mdat with the access units.
func videoFragment(seq uint32, frames []vframe, offset int64) ([]byte, error) {
	frag, err := mp4.CreateFragment(seq, trackID)
	if err != nil {
		return nil, fmt.Errorf("create fragment: %w", err)
	}
	n := 0
	for _, f := range frames {
		n += len(f.data)
	}
	data := make([]byte, 0, n)
	for _, f := range frames {
		flags := mp4.NonSyncSampleFlags
		if f.key {
			flags = mp4.SyncSampleFlags
		}
		frag.Moof.Traf.Trun.AddSample(mp4.Sample{Flags: flags, Dur: uint32(f.dur), Size: uint32(len(f.data)),
			CompositionTimeOffset: int32(f.pts - f.dts)})
		data = append(data, f.data...)
	}
	frag.Moof.Traf.Tfdt.SetBaseMediaDecodeTime(uint64(offset + frames[0].dts))
	frag.Mdat.SetData(data)
	sw := bits.NewFixedSliceWriter(int(frag.Size()))
	if err := frag.EncodeSW(sw); err != nil {
		return nil, fmt.Errorf("encode fragment: %w", err)
	}
	return sw.Bytes(), nil
}
