package videotest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	mpegtscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"

	"tolk/internal/media"
)

// FlashBeep writes a lip-sync test clip to path (its extension picks the
// container: .mp4, .ts, .flv): 1280x720 H.264 at fps, black but for one
// white picture at every whole second, and mono 48 kHz AAC silent but for
// a 1 kHz beep of 100 ms from every whole second. Picture and sound of each
// flash begin at the same instant. bframes > 0 reorders pictures (PTS ≠
// DTS), as most encoders do.
func FlashBeep(ctx context.Context, path string, seconds, fps, bframes int) error {
	cmd := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", fmt.Sprintf("color=c=black:s=1280x720:r=%d,drawbox=c=white:t=fill:enable='lt(mod(t\\,1)\\,%g)'", fps, 0.5/float64(fps)),
		"-f", "lavfi", "-i", "aevalsrc='if(lt(mod(t\\,1)\\,0.1)\\,0.5*sin(2*PI*1000*t)\\,0)':s=48000:c=mono",
		"-t", strconv.Itoa(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
		"-bf", strconv.Itoa(bframes), "-g", strconv.Itoa(fps), "-c:a", "aac", "-b:a", "96k", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ffmpeg: %w: %s", err, out)
	}
	return nil
}

// WriteTS writes H.264 units (decode order) to an MPEG-TS file, their PTS
// and DTS converted to 90 kHz.
func WriteTS(path string, units []media.Unit) error {
	var buf bytes.Buffer
	track := &mpegts.Track{Codec: &mpegtscodecs.H264{}}
	w := &mpegts.Writer{W: &buf, Tracks: []*mpegts.Track{track}}
	if err := w.Initialize(); err != nil {
		return err
	}
	for _, u := range units {
		if u.Codec != media.H264 {
			continue
		}
		var au h264.AVCC
		if err := au.Unmarshal(u.Payload); err != nil {
			return fmt.Errorf("avcc: %w", err)
		}
		if err := w.WriteH264(track, u.PTS*90000/48000, u.DTS*90000/48000, au); err != nil {
			return err
		}
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// Flashes decodes the units with ffmpeg and returns the PTS of every picture
// whose mean luma is above half scale: the flashes of a FlashBeep clip. The
// units are H.264 in decode order, starting on a key frame.
func Flashes(ctx context.Context, units []media.Unit) ([]int64, error) {
	dir, err := os.MkdirTemp("", "flashes")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "v.ts")
	if err := WriteTS(path, units); err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-f", "lavfi", "movie="+path+",signalstats",
		"-show_entries", "frame=pts_time:frame_tags=lavfi.signalstats.YAVG", "-of", "json").Output()
	if err != nil {
		return nil, fmt.Errorf("ffprobe: %w", err)
	}
	var res struct {
		Frames []struct {
			PTS  string            `json:"pts_time"`
			Tags map[string]string `json:"tags"`
		} `json:"frames"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("ffprobe: %w", err)
	}
	pts := make([]int64, 0, len(units))
	for _, u := range units {
		pts = append(pts, u.PTS)
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i] < pts[j] })
	var flashes []int64
	for _, f := range res.Frames {
		y, err1 := strconv.ParseFloat(f.Tags["lavfi.signalstats.YAVG"], 64)
		t, err2 := strconv.ParseFloat(f.PTS, 64)
		if err1 != nil || err2 != nil || y < 128 {
			continue
		}
		// The unit whose PTS this is (the TS's 90 kHz rounds it).
		want := int64(math.Round(t * 48000))
		i := sort.Search(len(pts), func(i int) bool { return pts[i] >= want })
		best := int64(-1)
		for _, j := range []int{i - 1, i} {
			if j >= 0 && j < len(pts) && (best < 0 || abs(pts[j]-want) < abs(best-want)) {
				best = pts[j]
			}
		}
		if best >= 0 {
			flashes = append(flashes, best)
		}
	}
	return flashes, nil
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
