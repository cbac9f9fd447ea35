package web

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// floorInputsOnly collects the floor inputs' metrics alone.
type floorInputsOnly []FloorInput

func (c floorInputsOnly) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }
func (c floorInputsOnly) Collect(ch chan<- prometheus.Metric) { floorInputMetrics(ch, "ev", c) }

// A live floor input's jitter buffer drops and underruns are counters by
// event and input; an input without a jitter buffer has none.
func TestFloorPlayoutMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(floorInputsOnly{
		{ID: "main", State: "live", OnProgram: true, Playout: &PlayoutStats{Dropped: 7, Underruns: 2}},
		{ID: "backup", State: "missing"},
	})
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			if m.GetCounter() == nil {
				continue
			}
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			got[key] = m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{
		"tolk_floor_playout_dropped_frames_total event=ev input=main": 7,
		"tolk_floor_playout_underruns_total event=ev input=main":      2,
	}
	if len(got) != len(want) {
		t.Errorf("counters %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}
