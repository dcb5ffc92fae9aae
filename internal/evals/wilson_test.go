package evals

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestWilsonKnownValues(t *testing.T) {
	for _, tc := range []struct {
		passed, n int
		conf      float64
		lo, hi    float64
	}{
		// Values from Wilson's formula, checked with an independent script (Python's statistics.NormalDist).
		{passed: 81, n: 263, conf: 0.95, lo: 0.2553, hi: 0.3662},
		{passed: 0, n: 10, conf: 0.95, lo: 0, hi: 0.2775},
		{passed: 10, n: 10, conf: 0.95, lo: 0.7225, hi: 1},
		{passed: 27, n: 30, conf: 0.95, lo: 0.7438, hi: 0.9654},
		{passed: 0, n: 0, conf: 0.95, lo: 0, hi: 1},
	} {
		got := Wilson(tc.passed, tc.n, tc.conf)
		if math.Abs(got.Lo-tc.lo) > 5e-4 || math.Abs(got.Hi-tc.hi) > 5e-4 {
			t.Errorf("Wilson(%d, %d, %v) = %.4f..%.4f, want %.4f..%.4f", tc.passed, tc.n, tc.conf, got.Lo, got.Hi, tc.lo, tc.hi)
		}
	}
	if got := z(0.95); math.Abs(got-1.959964) > 1e-6 {
		t.Errorf("z(0.95) = %v", got)
	}
}

// The properties every Wilson interval has, over many drawn cases (a fixed seed: the test is deterministic).
func TestWilsonProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 13))
	for range 20000 {
		n := 1 + rng.IntN(2000)
		k := rng.IntN(n + 1)
		conf := 0.5 + rng.Float64()*0.499
		w := Wilson(k, n, conf)
		p := float64(k) / float64(n)
		if !(0 <= w.Lo && w.Lo <= p+1e-12 && p-1e-12 <= w.Hi && w.Hi <= 1) {
			t.Fatalf("Wilson(%d, %d, %v) = %v: not 0 <= lo <= p=%v <= hi <= 1", k, n, conf, w, p)
		}
		if w.Hi-w.Lo <= 0 {
			t.Fatalf("Wilson(%d, %d, %v) = %v is empty", k, n, conf, w)
		}
		// Symmetry: the interval of the failures is the mirror of the interval of the passes.
		m := Wilson(n-k, n, conf)
		if math.Abs(m.Lo-(1-w.Hi)) > 1e-9 || math.Abs(m.Hi-(1-w.Lo)) > 1e-9 {
			t.Fatalf("Wilson(%d, %d) = %v, mirror %v", k, n, w, m)
		}
		// More confidence, a wider interval around the same point.
		if more := Wilson(k, n, min(conf+0.01, 0.9999)); more.Lo > w.Lo+1e-12 || more.Hi < w.Hi-1e-12 {
			t.Fatalf("Wilson(%d, %d) at %v = %v is not inside the one at %v: %v", k, n, conf, w, conf+0.01, more)
		}
		// Four times the cases at the same rate, a narrower interval.
		if big := Wilson(4*k, 4*n, conf); big.Hi-big.Lo >= w.Hi-w.Lo {
			t.Fatalf("Wilson(%d, %d) = %v is not narrower than Wilson(%d, %d) = %v", 4*k, 4*n, big, k, n, w)
		}
		// Passing one more case never lowers the interval.
		if k < n {
			if up := Wilson(k+1, n, conf); up.Lo < w.Lo-1e-12 || up.Hi < w.Hi-1e-12 {
				t.Fatalf("Wilson(%d, %d) = %v is below Wilson(%d, %d) = %v", k+1, n, up, k, n, w)
			}
		}
	}
	if w := Wilson(0, 7, 0.95); w.Lo != 0 {
		t.Errorf("no pass: lo = %v, want 0", w.Lo)
	}
	if w := Wilson(7, 7, 0.95); w.Hi != 1 {
		t.Errorf("all pass: hi = %v, want 1", w.Hi)
	}
}

// The interval covers the true rate about as often as it says: simulated with a fixed seed.
func TestWilsonCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, p := range []float64{0.5, 0.9, 0.97} {
		const trials, n = 4000, 40
		covered := 0
		for range trials {
			k := 0
			for range n {
				if rng.Float64() < p {
					k++
				}
			}
			if w := Wilson(k, n, 0.95); w.Lo <= p && p <= w.Hi {
				covered++
			}
		}
		if got := float64(covered) / trials; got < 0.92 {
			t.Errorf("p=%v n=%d: coverage %.3f, want about 0.95", p, n, got)
		}
	}
}

func TestDecreaseProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for range 20000 {
		bn, cn := 1+rng.IntN(500), 1+rng.IntN(500)
		bk, ck := rng.IntN(bn+1), rng.IntN(cn+1)
		d, ci := Decrease(bk, bn, ck, cn, 0.95)
		if !(ci.Lo <= d+1e-12 && d-1e-12 <= ci.Hi && ci.Lo >= -1-1e-9 && ci.Hi <= 1+1e-9) {
			t.Fatalf("Decrease(%d/%d → %d/%d) = %v %v", bk, bn, ck, cn, d, ci)
		}
		// Swapping the runs mirrors the interval.
		d2, ci2 := Decrease(ck, cn, bk, bn, 0.95)
		if math.Abs(d+d2) > 1e-12 || math.Abs(ci.Lo+ci2.Hi) > 1e-9 || math.Abs(ci.Hi+ci2.Lo) > 1e-9 {
			t.Fatalf("Decrease is not antisymmetric: %v %v against %v %v", d, ci, d2, ci2)
		}
	}
	// The same rate in both runs is no decrease: the interval holds 0.
	if _, ci := Decrease(27, 30, 27, 30, 0.95); ci.Lo > 0 || ci.Hi < 0 {
		t.Errorf("equal rates: %v", ci)
	}
}
