package flags

import (
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/murmur3"
)

// TestKnownBuckets pins Bucket to values other implementations can be checked against; docs/flags.md has
// the same table. The hashes were also checked with an independent murmur3 implementation.
func TestKnownBuckets(t *testing.T) {
	for _, tt := range []struct {
		flag, value string
		hash        uint32
		bucket      int
	}{
		{"new-checkout", "user-1", 1954156369, 4549},
		{"new-checkout", "user-2", 986941360, 2297},
		{"new-checkout", "user-3", 3312559254, 7712},
		{"checkout-copy", "user-1", 3215998627, 7487},
		{"by-org", "acme", 1199597626, 2793},
		{"by-org", "v", 3920709874, 9128},
		{"flagé", "ü-1", 1341243629, 3122},                                     // UTF-8 bytes
		{strings.Repeat("k", 100), strings.Repeat("v", 100), 2686816920, 6255}, // longer than the stack buffer
		{"", "", 0, 0},
	} {
		if h := hash(tt.flag, tt.value); h != tt.hash {
			t.Errorf("hash(%q, %q) = %d, want %d", tt.flag, tt.value, h, tt.hash)
		}
		if b := Bucket(tt.flag, tt.value); b != tt.bucket {
			t.Errorf("Bucket(%q, %q) = %d, want %d", tt.flag, tt.value, b, tt.bucket)
		}
	}
}

// TestFlagdVectors checks Bucket against the expectations of flagd's own test suite (flagd-testbed,
// gherkin/targeting.feature, @fractional-v2: the current fractional operator), read as ferry splits.
func TestFlagdVectors(t *testing.T) {
	suits := &split{variants: []int{0, 1, 2, 3}, ends: []int{2500, 5000, 7500, 10000}}
	names := []string{"clubs", "diamonds", "hearts", "spades"}
	// fractional-flag: 25 % of each suit, hashing the flag key and user.name.
	for value, want := range map[string]string{"jack": "hearts", "queen": "spades", "ten": "clubs", "nine": "diamonds", "3": "clubs"} {
		if got := names[suits.pick(Bucket("fractional-flag", value))]; got != want {
			t.Errorf("fractional-flag, %s: %s, flagd says %s", value, got, want)
		}
	}
	// fractional-flag-A-shared-seed: the same split, hashing "shared-seed" and user.name.
	for value, want := range map[string]string{"seven": "hearts", "eight": "diamonds", "nine": "clubs", "two": "spades"} {
		if got := names[suits.pick(Bucket("shared-seed", value))]; got != want {
			t.Errorf("shared-seed, %s: %s, flagd says %s", value, got, want)
		}
	}
	// fractional-flag-shorthand: heads and tails, 50 % each, hashing the flag key and targetingKey,
	// exactly what a ferry rollout does.
	s := mustParse(t, "flags:\n  fractional-flag-shorthand:\n    variants: {heads: heads, tails: tails}\n    default: heads\n"+
		"    rules:\n      - rollout: {heads: 50%, tails: 50%}\n")
	for key, want := range map[string]string{"jon@company.com": "heads", "jane@company.com": "tails"} {
		if got := s.Evaluate("fractional-flag-shorthand", map[string]any{TargetingKey: key}, nil).Variant; got != want {
			t.Errorf("shorthand, %s: %s, flagd says %s", key, got, want)
		}
	}
	// Keys whose hashes are 0, 1, 2³¹-1, 2³¹ and 2³²-1, split 50/50 into lower and upper.
	for key, want := range map[string]uint32{"ejOoVL": 0, "bY9fO-": 1, "SI7p-": 1<<31 - 1, "6LvT0": 1 << 31, "ceQdGm": 1<<32 - 1} {
		if h := murmur3.StringSum32(key); h != want {
			t.Errorf("murmur3(%q) = %d, want %d", key, h, want)
		}
		lower := Bucket("", key) < 5000
		if lower != (want < 1<<31) {
			t.Errorf("%q (hash %d): lower %v", key, want, lower)
		}
	}
}

// TestFlagdWeights checks that a ferry split and flagd's fractional with integer weights in the same
// proportions choose the same variant for every hash: flagd maps a hash h to (h × W) >> 32 for a total
// weight W and walks the cumulative weights, and a bucket below an integer bound c·W/10000 is the same
// condition at any scale. (The flagd side is written from its specification, not its code.)
func TestFlagdWeights(t *testing.T) {
	flagd := func(h uint32, weights []uint64) int {
		var total uint64
		for _, w := range weights {
			total += w
		}
		b := uint64(h) * total >> 32
		var end uint64
		for i, w := range weights {
			end += w
			if b < end {
				return i
			}
		}
		return -1
	}
	for _, tt := range []struct {
		weights []uint64 // flagd
		bp      []int    // ferry, in basis points
	}{
		{[]uint64{1, 9}, []int{1000, 9000}},
		{[]uint64{10, 90}, []int{1000, 9000}},
		{[]uint64{25, 25, 25, 25}, []int{2500, 2500, 2500, 2500}},
		{[]uint64{1, 1}, []int{5000, 5000}},
		{[]uint64{3333, 3333, 3334}, []int{3333, 3333, 3334}},
		{[]uint64{1, 9999}, []int{1, 9999}},
		{[]uint64{0, 7, 3}, []int{0, 7000, 3000}},
	} {
		sp := &split{}
		end := 0
		for i, w := range tt.bp {
			end += w
			sp.variants, sp.ends = append(sp.variants, i), append(sp.ends, end)
		}
		check := func(h uint32) {
			ours := sp.pick(int(uint64(h) * BucketCount >> 32))
			if theirs := flagd(h, tt.weights); ours != theirs {
				t.Fatalf("weights %v, hash %d: ferry %d, flagd %d", tt.weights, h, ours, theirs)
			}
		}
		for h := uint32(0); h < 1<<32-1<<20; h += 1<<20 - 7 {
			check(h)
		}
		for i := range 100_000 {
			check(murmur3.StringSum32(fmt.Sprintf("user-%d", i)))
		}
		// The hashes at either side of each boundary.
		for _, end := range sp.ends {
			edge := uint64(end) << 32 / BucketCount
			for _, h := range []uint64{edge - 1, edge, edge + 1} {
				if h < 1<<32 {
					check(uint32(h))
				}
			}
		}
	}
}
