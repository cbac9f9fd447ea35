package interpreter

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// step is one event in a booth's life and what the booth must answer.
type step struct {
	do   string // "join A", "leave A", "lost A", "mic A on", "cough A down", "offer A", "accept B", "cancel A", "take B", "direct on", "after 3m"
	err  error
	want string // expected summary after the step, "" to skip: on-air id, then each member id:flags
}

// testGrace is how long a member lost on air is awaited in these tables.
const testGrace = 2 * time.Minute

// apply runs a step at *now ("after D" moves it on).
func apply(s *state, now *time.Time, do string) error {
	f := strings.Fields(do)
	switch f[0] {
	case "join":
		s.join(f[1], "Name "+f[1], *now)
		return nil
	case "leave":
		s.leave(f[1])
		return nil
	case "lost":
		s.lost(f[1], now.Add(testGrace))
		return nil
	case "after":
		d, err := time.ParseDuration(f[1])
		if err != nil {
			panic(err)
		}
		*now = now.Add(d)
		s.expire(*now)
		return nil
	case "mic":
		return s.mic(f[1], f[2] == "on")
	case "cough":
		return s.cough(f[1], f[2] == "down")
	case "offer":
		return s.offer(f[1])
	case "accept":
		return s.accept(f[1])
	case "cancel":
		return s.cancel(f[1])
	case "take":
		return s.take(f[1])
	case "direct":
		s.directTake = f[1] == "on"
		return nil
	}
	panic("unknown step " + do)
}

// summary renders a snapshot compactly: "air=A A:cm B:c! hand=A>B" where c is
// connected, m mic open, k cough held, ! the two-mics warning.
func summary(s *state) string {
	snap := s.snapshot()
	var b strings.Builder
	b.WriteString("air=")
	if snap.OnAir != nil {
		b.WriteString(*snap.OnAir)
	}
	for _, m := range snap.Members {
		b.WriteString(" " + m.ID + ":")
		if m.Connected {
			b.WriteString("c")
		}
		if m.Mic {
			b.WriteString("m")
		}
		if m.Cough {
			b.WriteString("k")
		}
	}
	if snap.Handover != nil {
		b.WriteString(" hand=" + snap.Handover.From + ">" + snap.Handover.To)
	}
	if snap.Warning != nil {
		b.WriteString(" !" + *snap.Warning)
	}
	if snap.Resume != nil {
		b.WriteString(" awaiting=" + snap.Resume.ID)
	}
	return b.String()
}

func TestBoothStateMachine(t *testing.T) {
	cases := []struct {
		name  string
		steps []step
	}{
		{"first mic goes on air", []step{
			{do: "join A", want: "air= A:c"},
			{do: "join B", want: "air= A:c B:c"},
			{do: "mic A on", want: "air=A A:cm B:c"},
			{do: "mic A off", want: "air= A:c B:c"},
		}},
		{"handover request and accept", []step{
			{do: "join A"}, {do: "join B"}, {do: "mic A on"},
			{do: "offer A", want: "air=A A:cm B:c hand=A>B"},
			{do: "accept B", want: "air=B A:c B:cm"},
		}},
		{"only the offered partner accepts, only the on-air member offers", []step{
			{do: "join A"}, {do: "join B"}, {do: "mic A on"},
			{do: "offer B", err: ErrBadState},
			{do: "accept B", err: ErrBadState},
			{do: "offer A"},
			{do: "accept A", err: ErrBadState, want: "air=A A:cm B:c hand=A>B"},
		}},
		{"cancel by either side", []step{
			{do: "join A"}, {do: "join B"}, {do: "mic A on"}, {do: "offer A"},
			{do: "cancel B", want: "air=A A:cm B:c"},
			{do: "cancel A", err: ErrBadState},
		}},
		{"offer alone in the booth", []step{
			{do: "join A"}, {do: "mic A on"},
			{do: "offer A", err: ErrBadState, want: "air=A A:cm"},
		}},
		{"cough during handover keeps the offer", []step{
			{do: "join A"}, {do: "join B"}, {do: "mic A on"}, {do: "offer A"},
			{do: "cough A down", want: "air=A A:cmk B:c hand=A>B"},
			{do: "accept B", want: "air=B A:c B:cm"},
		}},
		{"cough held, then released", []step{
			{do: "join A"}, {do: "mic A on"},
			{do: "cough A down", want: "air=A A:cmk"},
			{do: "cough A up", want: "air=A A:cm"},
		}},
		{"two open mics warn, the second is not on air", []step{
			{do: "join A"}, {do: "join B"}, {do: "mic A on"},
			{do: "mic B on", want: "air=A A:cm B:cm !two_mics_open"},
			{do: "mic A off", want: "air= A:c B:cm"},
		}},
		{"direct take needs permission while someone is on air", []step{
			{do: "join A"}, {do: "join B"}, {do: "mic A on"},
			{do: "take B", err: ErrNotAllowed, want: "air=A A:cm B:c"},
			{do: "direct on"},
			{do: "take B", want: "air=B A:c B:cm"},
			{do: "take B", err: ErrBadState},
		}},
		{"take with nobody on air", []step{
			{do: "join A"}, {do: "join B"},
			{do: "take B", want: "air=B A:c B:cm"},
		}},
		{"leave takes the member off air and ends its offer", []step{
			{do: "join A"}, {do: "join B"}, {do: "mic A on"}, {do: "offer A"},
			{do: "leave A", want: "air= B:c A:"},
			{do: "mic A on", err: ErrNoMember},
		}},
		{"rejoin resumes with the mic closed", []step{
			{do: "join A"}, {do: "mic A on"}, {do: "leave A"},
			{do: "join A", want: "air= A:c"},
			{do: "mic A on", want: "air=A A:cm"},
		}},
		{"a member lost on air is back on air on rejoining", []step{
			{do: "join A"}, {do: "join B"}, {do: "mic A on"}, {do: "cough A down"},
			{do: "lost A", want: "air= B:c A: awaiting=A"},
			{do: "after 119s"},
			{do: "join A", want: "air=A A:cm B:c"},
		}},
		{"a member lost on air and back too late is off air", []step{
			{do: "join A"}, {do: "mic A on"},
			{do: "lost A", want: "air= A: awaiting=A"},
			{do: "after 2m", want: "air= A:"},
			{do: "join A", want: "air= A:c"},
		}},
		{"a new connection of the member on air keeps them on air", []step{
			{do: "join A"}, {do: "join B"}, {do: "mic A on"}, {do: "cough A down"}, {do: "offer A"},
			{do: "join A", want: "air=A A:cm B:c hand=A>B"},
			{do: "join B", want: "air=A A:cm B:c hand=A>B"},
		}},
		{"a member who left on air is not awaited", []step{
			{do: "join A"}, {do: "mic A on"},
			{do: "leave A", want: "air= A:"},
			{do: "join A", want: "air= A:c"},
		}},
		{"a member lost off air is not awaited", []step{
			{do: "join A"}, {do: "join B"}, {do: "mic A on"}, {do: "mic B on"},
			{do: "lost B", want: "air=A A:cm B:"},
			{do: "join B", want: "air=A A:cm B:c"},
		}},
		{"a partner taking the channel ends the wait", []step{
			{do: "join A"}, {do: "join B"}, {do: "mic A on"},
			{do: "lost A", want: "air= B:c A: awaiting=A"},
			{do: "mic B on", want: "air=B B:cm A:"},
			{do: "mic B off"},
			{do: "join A", want: "air= A:c B:c"},
		}},
		{"a take ends the wait", []step{
			{do: "join A"}, {do: "join B"}, {do: "mic A on"},
			{do: "lost A"},
			{do: "take B", want: "air=B B:cm A:"},
			{do: "join A", want: "air=B A:c B:cm"},
		}},
		{"partner leaving cancels an offer to it", []step{
			{do: "join A"}, {do: "join B"}, {do: "mic A on"}, {do: "offer A"},
			{do: "leave B", want: "air=A A:cm B:"},
			{do: "accept B", err: ErrNoMember},
		}},
		{"closing the mic withdraws the offer", []step{
			{do: "join A"}, {do: "join B"}, {do: "mic A on"}, {do: "offer A"},
			{do: "mic A off", want: "air= A:c B:c"},
		}},
		{"strangers change nothing", []step{
			{do: "join A"}, {do: "mic A on"},
			{do: "mic Z on", err: ErrNoMember}, {do: "cough Z down", err: ErrNoMember},
			{do: "offer Z", err: ErrNoMember}, {do: "take Z", err: ErrNoMember},
			{do: "leave Z", want: "air=A A:cm"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newState()
			now := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
			for i, st := range c.steps {
				err := apply(s, &now, st.do)
				if !errors.Is(err, st.err) {
					t.Fatalf("step %d %q: error %v, want %v", i, st.do, err, st.err)
				}
				if st.want != "" {
					if got := summary(s); got != st.want {
						t.Fatalf("step %d %q: state %q, want %q", i, st.do, got, st.want)
					}
				}
			}
		})
	}
}

func TestGate(t *testing.T) {
	s := newState()
	s.join("A", "A", time.Time{})
	if id, open := s.gate(); id != "" || open {
		t.Fatal("empty booth has a voice")
	}
	s.mic("A", true)
	if id, open := s.gate(); id != "A" || !open {
		t.Fatal("on-air member not heard")
	}
	s.cough("A", true)
	if _, open := s.gate(); open {
		t.Fatal("cough does not mute")
	}
	s.cough("A", false)
	s.muted = true
	if id, open := s.gate(); id != "A" || open {
		t.Fatal("the producer's mute does not close the gate")
	}
}

func TestCheckText(t *testing.T) {
	for text, ok := range map[string]bool{"": false, "hello": true, strings.Repeat("é", MaxText): true,
		strings.Repeat("a", MaxText+1): false, "\xff": false} {
		if (checkText(text) == nil) != ok {
			t.Errorf("checkText(%q) = %v", text, checkText(text))
		}
	}
}
