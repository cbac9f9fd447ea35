package fft

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"
)

// TestTransformIsTheDFT: the transform of a random signal is the DFT's,
// and with re and im swapped it brings the signal back times n.
func TestTransformIsTheDFT(t *testing.T) {
	for _, n := range []int{2, 8, 64, 512} {
		rng := rand.New(rand.NewPCG(1, uint64(n)))
		x := make([]complex128, n)
		re, im := make([]float64, n), make([]float64, n)
		for i := range x {
			x[i] = complex(rng.Float64()-0.5, rng.Float64()-0.5)
			re[i], im[i] = real(x[i]), imag(x[i])
		}
		p := New(n)
		p.Permute(re, im)
		p.Transform(re, im)
		for k := range n {
			var want complex128
			for i, v := range x {
				want += v * cmplx.Exp(complex(0, -2*math.Pi*float64(i*k)/float64(n)))
			}
			if cmplx.Abs(complex(re[k], im[k])-want) > 1e-9 {
				t.Fatalf("n %d bin %d: %v, want %v", n, k, complex(re[k], im[k]), want)
			}
		}
		p.Permute(re, im)
		p.Transform(im, re)
		for i, v := range x {
			if got := complex(re[i], im[i]) / complex(float64(n), 0); cmplx.Abs(got-v) > 1e-12 {
				t.Fatalf("n %d inverse: sample %d %v, want %v", n, i, got, v)
			}
		}
	}
}

func TestNewRefusesOtherSizes(t *testing.T) {
	for _, n := range []int{0, 1, 3, 100} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%d) did not panic", n)
				}
			}()
			New(n)
		}()
	}
}
