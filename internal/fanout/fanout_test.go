package fanout

import "testing"

func TestSlowSubscriberDropsAndCounts(t *testing.T) {
	var h Hub[int]
	fast := h.Subscribe(10)
	slow := h.Subscribe(2)
	for i := 0; i < 5; i++ {
		h.Publish(i)
	}
	if got := slow.Dropped(); got != 3 {
		t.Fatalf("slow dropped %d, want 3", got)
	}
	if got := fast.Dropped(); got != 0 {
		t.Fatalf("fast dropped %d, want 0", got)
	}
	if v := <-slow.C; v != 0 {
		t.Fatalf("slow got %d first, want 0", v)
	}
	slow.Unsubscribe()
	slow.Unsubscribe()
	if h.Len() != 1 {
		t.Fatalf("len %d, want 1", h.Len())
	}
	h.Close()
	n := 0
	for range fast.C {
		n++
	}
	if n != 5 {
		t.Fatalf("fast got %d values, want 5", n)
	}
	late := h.Subscribe(1)
	if _, ok := <-late.C; ok {
		t.Fatal("subscriber of a closed hub got a value")
	}
}
