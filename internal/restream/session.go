package restream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"tolk/internal/audio"
	"tolk/internal/media"
)

// picture is what a connection needs to announce the video: the parameter
// sets of the key frame it starts at.
type picture struct {
	sps, pps []byte
}

// session makes one connection and sends until it fails or ctx ends.
func (p *Push) session(ctx context.Context, rd readers) error {
	a, v := rd.a, rd.v
	p.loop.Connecting()
	first, pic, held, err := p.startPoint(ctx, rd)
	if err != nil {
		return err
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	c, err := p.dial(dctx, pic)
	cancel()
	if err != nil {
		return err
	}
	p.live.Store(&c)
	defer func() {
		p.live.Store(nil)
		p.bytes.Add(c.sent())
		c.close()
	}()
	p.video.Store(pic != nil)
	p.loop.Connected()
	p.opts.Log.Info("push connected", "video", pic != nil)
	p.sentPTS.Store(0)
	s := &sender{c: c, base: first, pic: pic, lastDTS: -1 << 62, lastAudio: -1 << 62, sent: &p.sentPTS}
	if pic != nil && rd.c != nil {
		s.cc = &cc608{}
	}
	for _, u := range held {
		if err := s.take(u); err != nil {
			return err
		}
	}
	vc, cc := videoC(v), rd.cueC()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case cue, ok := <-cc:
			if !ok {
				cc = nil
				continue
			}
			if s.cc != nil && cue.End >= s.base {
				s.cc.add(cue)
			}
		case u, ok := <-a.C:
			if !ok {
				return errors.New("the language's audio ended")
			}
			if err := s.audio(u); err != nil {
				return err
			}
		case u, ok := <-vc:
			if !ok {
				vc = nil
				continue
			}
			if err := s.take(u); err != nil {
				return err
			}
		}
	}
}

// startPoint reads until a connection can start: at a video key frame,
// with its parameter sets, or without video once the language's audio has
// run audioOnlyAfter with no picture (keyWait when pictures come but no
// key frame). first is the program time the connection's timestamps count
// from; held the units to send first, in order.
func (p *Push) startPoint(ctx context.Context, rd readers) (first int64, pic *picture, held []media.Unit, err error) {
	a, vc, cc := rd.a, videoC(rd.v), rd.cueC()
	audioFrom, sawVideo := int64(-1), false
	for {
		select {
		case <-ctx.Done():
			return 0, nil, nil, ctx.Err()
		case _, ok := <-cc: // cues before the start are not captioned
			if !ok {
				cc = nil
			}
		case u, ok := <-a.C:
			if !ok {
				return 0, nil, nil, errors.New("the language's audio ended")
			}
			if audioFrom < 0 {
				audioFrom = u.PTS
			}
			wait := int64(audioOnlyAfter)
			if sawVideo {
				wait = keyWait
			}
			if u.PTS-audioFrom >= wait {
				return u.PTS, nil, []media.Unit{u}, nil
			}
		case u, ok := <-vc:
			if !ok {
				vc = nil
				continue
			}
			if u.Codec != media.H264 {
				continue // VP8 cannot go over RTMP or MPEG-TS
			}
			sawVideo = true
			if !u.Key {
				continue
			}
			au, err := splitAVCC(u.Payload)
			if err != nil {
				continue
			}
			sps, pps := paramSets(au)
			if sps == nil || pps == nil {
				continue
			}
			return u.DTS, &picture{sps: sps, pps: pps}, []media.Unit{u}, nil
		}
	}
}

// paramSets finds an access unit's SPS and PPS.
func paramSets(au [][]byte) (sps, pps []byte) {
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeSPS:
			sps = n
		case h264.NALUTypePPS:
			pps = n
		}
	}
	return sps, pps
}

// sender puts one connection's units in order: a picture waits until the
// language's audio has reached its decode time (pictures come ahead of the
// audio of the same instant), so the platform gets both interleaved.
type sender struct {
	c         conn
	base      int64 // program time of the connection's zero
	pic       *picture
	pending   []media.Unit
	lastDTS   int64 // of the last picture sent
	lastAudio int64 // PTS of the last audio frame sent
	sent      *atomic.Int64
	cc        *cc608 // the captions the pictures carry; nil: none
}

// ts is a program time as a timestamp of the connection.
func (s *sender) ts(pts int64) time.Duration {
	d := pts - s.base
	return time.Duration(d/audio.SampleRate)*time.Second + time.Duration(d%audio.SampleRate)*time.Second/audio.SampleRate
}

// take handles a unit of either kind.
func (s *sender) take(u media.Unit) error {
	if u.Codec == media.AAC {
		return s.audio(u)
	}
	if u.Codec != media.H264 {
		return nil
	}
	if s.pic == nil {
		if u.Key {
			return errRestart // the program has a picture now
		}
		return nil
	}
	if u.DTS < s.base || u.DTS <= s.lastDTS {
		return nil // before the start, or out of order after a switch
	}
	s.pending = append(s.pending, u)
	if len(s.pending) > maxPending {
		return s.sendVideo()
	}
	return nil
}

func (s *sender) audio(u media.Unit) error {
	if u.Codec != media.AAC || u.PTS < s.base || u.PTS <= s.lastAudio {
		return nil
	}
	if err := s.c.writeAudio(s.ts(u.PTS), u.Payload); err != nil {
		return fmt.Errorf("send audio: %w", err)
	}
	s.lastAudio = u.PTS
	s.sent.Store(u.PTS - s.base)
	for len(s.pending) > 0 && s.pending[0].DTS <= u.PTS {
		if err := s.sendVideo(); err != nil {
			return err
		}
	}
	return nil
}

// sendVideo sends the oldest pending picture.
func (s *sender) sendVideo() error {
	u := s.pending[0]
	s.pending = s.pending[1:]
	au, err := splitAVCC(u.Payload)
	if err != nil {
		return nil // a malformed frame is skipped
	}
	if u.Key {
		if sps, pps := paramSets(au); sps != nil && (!bytes.Equal(sps, s.pic.sps) || !bytes.Equal(pps, s.pic.pps)) {
			return errRestart // a new picture size or profile: announce it again
		}
	}
	if s.cc != nil && u.PTS != u.DTS {
		// Reordered pictures (B-frames) would carry the caption bytes in
		// decode order, which a decoder reads garbled: no captions then.
		s.cc = nil
	}
	if s.cc != nil {
		if sei := s.cc.sei(u.PTS); sei != nil {
			au = withSEI(au, sei)
		}
	}
	if err := s.c.writeVideo(s.ts(u.PTS), s.ts(u.DTS), au); err != nil {
		return fmt.Errorf("send video: %w", err)
	}
	s.lastDTS = u.DTS
	return nil
}

// splitAVCC splits an AVCC access unit into its NAL units.
func splitAVCC(b []byte) ([][]byte, error) {
	var au h264.AVCC
	if err := au.Unmarshal(b); err != nil {
		return nil, err
	}
	return au, nil
}
