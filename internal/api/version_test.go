package api

import "testing"

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"7", 7}, {"v7", 7}, {"V12", 12}, {" v3 ", 3},
		{"", 0}, {"v", 0}, {"0", 0}, {"v0", 0}, {"-1", 0}, {"v-1", 0}, {"+2", 0}, {"7a", 0}, {"vv7", 0}, {"release 7", 0},
	} {
		got, err := ParseVersion(tc.in)
		if got != tc.want || (err == nil) != (tc.want != 0) {
			t.Errorf("ParseVersion(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	if got := VersionText(7); got != "v7" {
		t.Errorf("VersionText(7) = %q", got)
	}
	if got := VersionText(0); got != "-" {
		t.Errorf("VersionText(0) = %q", got)
	}
}
