package restream

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"tolk/internal/media"
)

// CEA-608 captions in the pushed pictures: each final cue of the language
// becomes roll-up text (two rows, CC1), whose byte pairs ride in the pictures
// as ATSC A/53 caption data (an SEI of user data registered by ITU-T T.35),
// two pairs a picture, as platforms (YouTube, Twitch) and players read them.

const (
	ccLine     = 32 // characters in a CEA-608 row
	ccPerFrame = 2  // byte pairs a picture carries (60 bytes a second at 30 fps)
	ccMaxQueue = 4096
	ccMaxCues  = 64
)

// cc608 queues the captions of a connection and hands out each picture's
// caption data.
type cc608 struct {
	cues  []media.Cue // final cues waiting for their start
	queue [][2]byte   // byte pairs not sent yet
	began bool        // roll-up mode set
}

// add takes a cue; only final ones are sent (a partial line would be sent
// again and again as it grows).
func (c *cc608) add(cue media.Cue) {
	if !cue.Final || strings.TrimSpace(cue.Text) == "" || len(c.cues) >= ccMaxCues {
		return
	}
	c.cues = append(c.cues, cue)
}

// sei returns the SEI NAL unit a picture at pts carries, nil when there is
// nothing to say.
func (c *cc608) sei(pts int64) []byte {
	for len(c.cues) > 0 && c.cues[0].Start <= pts {
		c.text(c.cues[0].Text)
		c.cues = c.cues[1:]
	}
	if len(c.queue) == 0 {
		return nil
	}
	n := min(len(c.queue), ccPerFrame)
	sei := a53SEI(c.queue[:n])
	c.queue = c.queue[n:]
	return sei
}

// control queues a control code twice, as senders do so that one lost
// pair does not lose it.
func (c *cc608) control(a, b byte) {
	c.queue = append(c.queue, [2]byte{parity(a), parity(b)}, [2]byte{parity(a), parity(b)})
}

// text queues a cue's words as roll-up rows of at most 32 characters.
func (c *cc608) text(s string) {
	if len(c.queue) > ccMaxQueue {
		return // far behind: drop rather than caption late
	}
	if !c.began {
		c.control(0x14, 0x25) // RU2: roll-up, two rows
		c.began = true
	}
	for _, row := range wrap(ccText(s), ccLine) {
		c.control(0x14, 0x2d) // CR: roll the rows up
		c.control(0x14, 0x70) // PAC: row 15, column 0
		b := []byte(row)
		if len(b)%2 == 1 {
			b = append(b, 0)
		}
		for i := 0; i < len(b); i += 2 {
			c.queue = append(c.queue, [2]byte{parity(b[i]), parity(b[i+1])})
		}
	}
}

// ccText maps text to CEA-608's basic characters: accents CEA-608 has in
// its basic set are kept, others dropped to the bare letter; characters it
// lacks become spaces.
func ccText(s string) string {
	var b strings.Builder
	for _, r := range s {
		if code, ok := ccBasic[r]; ok {
			b.WriteByte(code)
			continue
		}
		if r == '\n' || unicode.IsSpace(r) {
			b.WriteByte(' ')
			continue
		}
		base := []rune(norm.NFD.String(string(r)))[0]
		switch {
		case base >= 0x20 && base < 0x7f && !strings.ContainsRune("*\\^_`{|}~", base):
			b.WriteRune(base)
		default:
			b.WriteByte(' ')
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// ccBasic are the basic set's accented letters, where ASCII has other signs.
var ccBasic = map[rune]byte{'á': 0x2a, 'é': 0x5c, 'í': 0x5e, 'ó': 0x5f, 'ú': 0x60, 'ç': 0x7b, 'Ñ': 0x7d, 'ñ': 0x7e}

// wrap splits text into rows of at most n bytes at spaces.
func wrap(s string, n int) []string {
	var rows []string
	row := ""
	for _, w := range strings.Fields(s) {
		for len(w) > n {
			if row != "" {
				rows, row = append(rows, row), ""
			}
			rows, w = append(rows, w[:n]), w[n:]
		}
		switch {
		case row == "":
			row = w
		case len(row)+1+len(w) <= n:
			row += " " + w
		default:
			rows, row = append(rows, row), w
		}
	}
	if row != "" {
		rows = append(rows, row)
	}
	return rows
}

// parity sets bit 7 so that the byte has odd parity, as CEA-608 requires.
func parity(b byte) byte {
	b &= 0x7f
	ones := 0
	for v := b; v != 0; v >>= 1 {
		ones += int(v & 1)
	}
	if ones%2 == 0 {
		b |= 0x80
	}
	return b
}

// a53SEI builds an H.264 SEI NAL unit carrying pairs as ATSC A/53 cc_data
// for field 1.
func a53SEI(pairs [][2]byte) []byte {
	payload := []byte{0xb5, 0x00, 0x31, 'G', 'A', '9', '4', 0x03, 0xc0 | byte(len(pairs)), 0xff}
	for _, p := range pairs {
		payload = append(payload, 0xfc, p[0], p[1]) // marker bits, valid, NTSC field 1
	}
	payload = append(payload, 0xff)
	rbsp := append([]byte{4, byte(len(payload))}, payload...) // user_data_registered_itu_t_t35
	rbsp = append(rbsp, 0x80)                                 // rbsp trailing bits
	nal := []byte{0x06}                                       // SEI
	zeros := 0
	for _, b := range rbsp {
		if zeros >= 2 && b <= 3 {
			nal = append(nal, 3) // emulation prevention
			zeros = 0
		}
		nal = append(nal, b)
		if b == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return nal
}

// withSEI puts an SEI before the access unit's first slice.
func withSEI(au [][]byte, sei []byte) [][]byte {
	for i, n := range au {
		if len(n) > 0 && (n[0]&0x1f == 1 || n[0]&0x1f == 5) {
			out := make([][]byte, 0, len(au)+1)
			out = append(out, au[:i]...)
			out = append(out, sei)
			return append(out, au[i:]...)
		}
	}
	return au
}
