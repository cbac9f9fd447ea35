package videotest

import (
	"context"
	"testing"
	"time"
)

func TestClip(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	units, err := Clip(ctx, Options{Seconds: 2, BFrames: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(units) != 60 {
		t.Errorf("%d frames, want 60", len(units))
	}
	keys := 0
	reordered := false
	for i, u := range units {
		if u.Key {
			keys++
		}
		if u.PTS != u.DTS {
			reordered = true
		}
		if i > 0 && u.DTS <= units[i-1].DTS {
			t.Fatalf("frame %d: DTS %d after %d", i, u.DTS, units[i-1].DTS)
		}
	}
	if !units[0].Key || keys != 1 {
		t.Errorf("first key %v, %d key frames, want 1", units[0].Key, keys)
	}
	if !reordered {
		t.Error("B-frames asked for but PTS = DTS everywhere")
	}
}
