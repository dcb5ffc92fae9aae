package cli

import "testing"

func TestSizeFlag(t *testing.T) {
	tests := []struct {
		in   string
		want int64 // 0: an error
	}{
		{"64MiB", 64 << 20}, {"512KiB", 512 << 10}, {"1GiB", 1 << 30}, {"2G", 2 << 30}, {"3M", 3 << 20},
		{"4096", 4096}, {"4096B", 4096},
		{"", 0}, {"MiB", 0}, {"-1MiB", 0}, {"1.5MiB", 0}, {"10", 0}, {"64mb", 0}, {"99999999999GiB", 0},
	}
	for _, tt := range tests {
		var s sizeFlag
		err := s.Set(tt.in)
		if tt.want == 0 {
			if err == nil {
				t.Errorf("Set(%q) = %d, want an error", tt.in, s)
			}
			continue
		}
		if err != nil || int64(s) != tt.want {
			t.Errorf("Set(%q) = %d, %v; want %d", tt.in, s, err, tt.want)
		}
	}
	if s := sizeFlag(64 << 20); s.String() != "64MiB" {
		t.Errorf("String() = %q", s.String())
	}
}
