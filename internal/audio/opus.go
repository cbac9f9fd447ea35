package audio

// MaxOpusSamples is the longest Opus packet: 120 ms.
const MaxOpusSamples = 5760

// OpusInfo is what an Opus packet's TOC and framing say of it.
type OpusInfo struct {
	Samples int  // duration at 48 kHz
	FEC     bool // the first frame carries LBRR (in-band FEC) data
}

// ParseOpus reads an Opus packet's TOC and framing (RFC 6716 section 3) far
// enough to know its duration and whether it carries in-band FEC. It rejects
// packets whose framing is impossible or that last over 120 ms; libopus checks
// the rest. It is the one Opus parser of tolk: the jitter buffer, the HLS
// packager and the tests read packets through it.
func ParseOpus(b []byte) (OpusInfo, bool) {
	if len(b) == 0 {
		return OpusInfo{}, false
	}
	toc := b[0]
	config := int(toc >> 3)
	var frame int
	switch {
	case config < 12: // SILK: 10, 20, 40, 60 ms
		frame = [4]int{480, 960, 1920, 2880}[config&3]
	case config < 16: // hybrid: 10, 20 ms
		frame = [2]int{480, 960}[config&1]
	default: // CELT: 2.5, 5, 10, 20 ms
		frame = [4]int{120, 240, 480, 960}[config&3]
	}
	var frames, first, size int // frame count, offset and size of the first frame
	switch toc & 3 {
	case 0:
		frames, first, size = 1, 1, len(b)-1
	case 1:
		if (len(b)-1)%2 != 0 {
			return OpusInfo{}, false
		}
		frames, first, size = 2, 1, (len(b)-1)/2
	case 2:
		n, w := opusFrameSize(b[1:])
		if w == 0 || 1+w+n > len(b) {
			return OpusInfo{}, false
		}
		frames, first, size = 2, 1+w, n
	case 3:
		if len(b) < 2 {
			return OpusInfo{}, false
		}
		frames = int(b[1] & 0x3f)
		if frames == 0 {
			return OpusInfo{}, false
		}
		pos, end := 2, len(b)
		if b[1]&0x40 != 0 { // padding
			for {
				if pos >= len(b) {
					return OpusInfo{}, false
				}
				v := int(b[pos])
				pos++
				if v != 255 {
					end -= v
					break
				}
				end -= 254
			}
		}
		if end < pos {
			return OpusInfo{}, false
		}
		if b[1]&0x80 != 0 { // VBR: the sizes of all frames but the last
			total := 0
			for i := 0; i < frames-1; i++ {
				n, w := opusFrameSize(b[pos:end])
				if w == 0 {
					return OpusInfo{}, false
				}
				if i == 0 {
					size = n
				}
				pos += w
				total += n
			}
			if total > end-pos {
				return OpusInfo{}, false
			}
			if frames == 1 {
				size = end - pos
			}
		} else {
			if (end-pos)%frames != 0 {
				return OpusInfo{}, false
			}
			size = (end - pos) / frames
		}
		first = pos
	}
	dur := frames * frame
	if dur > MaxOpusSamples {
		return OpusInfo{}, false
	}
	info := OpusInfo{Samples: dur}
	if config < 16 && size > 0 {
		// The LBRR flag follows the voice activity flags of the first SILK
		// frame, one per 20 ms, in the first bits of the range coder.
		silk := max(frame/FrameSamples, 1)
		h := b[first]
		info.FEC = h>>(7-silk)&1 != 0
		if toc&0x04 != 0 { // stereo: the side channel's flags follow
			info.FEC = info.FEC || h>>(6-2*silk)&1 != 0
		}
	}
	return info, true
}

// opusFrameSize reads a one- or two-byte Opus frame length; w is 0 when b is too short.
func opusFrameSize(b []byte) (n, w int) {
	switch {
	case len(b) == 0:
		return 0, 0
	case b[0] < 252:
		return int(b[0]), 1
	case len(b) < 2:
		return 0, 0
	default:
		return int(b[1])*4 + int(b[0]), 2
	}
}
