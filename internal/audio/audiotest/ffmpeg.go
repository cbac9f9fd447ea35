package audiotest

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"testing"
)

// NeedTool skips the test when a program is missing, except in CI where every
// tool is installed by the setup script and its absence is a failure.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing in CI: %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// Decode runs ffmpeg on input (a file or URL) and returns mono 48 kHz PCM.
// extra arguments go before -i (e.g. -live_start_index 0).
func Decode(ctx context.Context, input string, extra ...string) ([]float32, error) {
	args := append([]string{"-nostdin", "-hide_banner", "-loglevel", "error"}, extra...)
	args = append(args, "-i", input, "-vn", "-ac", "1", "-ar", "48000", "-f", "f32le", "-")
	cmd := exec.CommandContext(ctx, "ffmpeg", args...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("ffmpeg %s: %w: %s", input, err, stderr.String())
	}
	b := out.Bytes()
	pcm := make([]float32, len(b)/4)
	for i := range pcm {
		pcm[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return pcm, nil
}
