// Package recording records every live run of an event into one
// fragmented MP4 file under the data directory, and reads runs back.
//
// Layout on disk:
//
//	DATA/recordings/{event}/{run}.mp4
//
// where {run} is the UTC time of the run's program time zero,
// 20061102T150405Z (with -2, -3, … if two runs start in one second). A run
// file is, box by box:
//
//	ftyp                  iso6
//	uuid (Meta)           the run's facts as JSON: event, run, epoch, offset
//	moov                  one trak per track: each language's program as
//	                      Opus (the floor first, then the interpretations),
//	                      then each captioned language as tx3g, then the
//	                      floor's picture (avc1) when it has one; every trak
//	                      has its language (mdhd ISO 639-2/T, elng BCP 47),
//	                      its name (hdlr) and its role (udta/kind)
//	moof mdat, moof mdat  one fragment per second of program time: in each,
//	…                     a traf per track; the audio trafs all cover the
//	                      same second (cut at multiples of FragmentDuration)
//	mfra                  written when the run is finalised (a clean stop,
//	                      or the recovery of a killed run): tfra per track
//
// Every track's timescale is 48 kHz and its decode times are the run's
// program time, as in the live HLS: a packet at program time pts is the
// same packet the LL-HLS and WHEP outputs sent at pts. Meta.Offset places
// the run on the event's recording timeline, where the stored cues live:
// recording time = Offset + program time.
//
// Fragments are written whole with one write each and synced to disk once a
// second (Options.SyncEvery), so a run killed with SIGKILL (or a power cut,
// up to the last sync) keeps everything up to its last whole fragment; the
// scan (scan.go) finds the last whole fragment and Finalize truncates what
// follows it.
package recording

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"time"
)

// Dir is the directory of the recordings inside the data directory.
const Dir = "recordings"

// Ext is the extension of a run file.
const Ext = ".mp4"

// metaUUID identifies the uuid box that carries Meta.
var metaUUID = [16]byte{0x74, 0x6f, 0x6c, 0x6b, 0x2d, 0x72, 0x75, 0x6e, 0x8a, 0x3e, 0x4b, 0x1f, 0x9c, 0x52, 0x0d, 0x61}

// maxMeta bounds the Meta box a reader accepts.
const maxMeta = 64 << 10

// Meta is what a run file says about itself, beside its tracks.
type Meta struct {
	Format string `json:"format"` // "tolk-recording"
	// Version is the layout's version (1).
	Version int    `json:"version"`
	Event   string `json:"event"`
	Title   string `json:"title,omitempty"`
	Run     string `json:"run"`
	// Epoch is the wall-clock time of the run's program time zero.
	Epoch time.Time `json:"epoch"`
	// RecordingStart is the wall-clock time of recording time zero: the
	// program time zero of the event's first run.
	RecordingStart time.Time `json:"recording_start"`
	// Offset is this run's program time zero on the recording timeline
	// (48 kHz samples).
	Offset int64 `json:"offset"`
	// FragmentSamples is the length of a whole fragment (48 kHz samples).
	FragmentSamples int64 `json:"fragment_samples"`
	// MachineTranslated lists the caption tracks' languages whose cues are
	// the floor's, machine-translated: a rebroadcast marks them as a live
	// event does.
	MachineTranslated []string `json:"machine_translated,omitempty"`
}

const metaFormat = "tolk-recording"

func (m *Meta) box() ([]byte, error) {
	js, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("run meta: %w", err)
	}
	b := binary.BigEndian.AppendUint32(nil, uint32(8+16+len(js)))
	b = append(b, "uuid"...)
	b = append(b, metaUUID[:]...)
	return append(b, js...), nil
}

// parseMeta reads Meta from the body of a uuid box; ok is false for a uuid
// box of another kind.
func parseMeta(body []byte) (m Meta, ok bool, err error) {
	if len(body) < 16 || [16]byte(body[:16]) != metaUUID {
		return m, false, nil
	}
	if len(body) > maxMeta {
		return m, true, errors.New("run meta: too large")
	}
	if err := json.Unmarshal(body[16:], &m); err != nil {
		return m, true, fmt.Errorf("run meta: %w", err)
	}
	if m.Format != metaFormat {
		return m, true, fmt.Errorf("run meta: format %q is not %q", m.Format, metaFormat)
	}
	if m.FragmentSamples <= 0 {
		return m, true, errors.New("run meta: no fragment length")
	}
	return m, true, nil
}

// runIDLayout formats a run id from its epoch.
const runIDLayout = "20060102T150405Z"

var (
	runRE   = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z(-[0-9]{1,4})?$`)
	eventRE = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)
)

// ValidRunID says whether id has the form of a run id.
func ValidRunID(id string) bool { return runRE.MatchString(id) }

// runID is the id of a run whose program time zero is epoch; n > 1 names
// the nth run to start in that second.
func runID(epoch time.Time, n int) string {
	id := epoch.UTC().Format(runIDLayout)
	if n > 1 {
		id += fmt.Sprintf("-%d", n)
	}
	return id
}

// eventDir is the directory of an event's runs.
func eventDir(root, event string) (string, error) {
	if !eventRE.MatchString(event) {
		return "", fmt.Errorf("event id %q must be 1-64 characters of a-z, 0-9 and -", event)
	}
	return filepath.Join(root, event), nil
}
