package flags

import "testing"

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in      string
		partial bool
		want    version
		ok      bool
	}{
		{"1.2.3", false, version{1, 2, 3, ""}, true},
		{"v1.2.3", false, version{1, 2, 3, ""}, true},
		{"V0.0.0", false, version{0, 0, 0, ""}, true},
		{"1.2.3-rc.1+build.7", false, version{1, 2, 3, "rc.1"}, true},
		{"1.2.3+build-x.01", false, version{1, 2, 3, ""}, true}, // leading zeros are fine in build metadata
		{"1.0.0-alpha-1.x-y", false, version{1, 0, 0, "alpha-1.x-y"}, true},
		{"10.20.30", false, version{10, 20, 30, ""}, true},
		{"1.2", false, version{}, false},
		{"1.2", true, version{1, 2, 0, ""}, true},
		{"1", true, version{1, 0, 0, ""}, true},
		{"1.2-rc.1", true, version{}, false},
		{"01.2.3", false, version{}, false},
		{"1.02.3", false, version{}, false},
		{"1.2.3-01", false, version{}, false},
		{"1.2.3-", false, version{}, false},
		{"1.2.3+", false, version{}, false},
		{"1.2.3-a..b", false, version{}, false},
		{"1.2.3-a_b", false, version{}, false},
		{"1.2.3.4", true, version{}, false},
		{"1.2.", true, version{}, false},
		{"", true, version{}, false},
		{"v", true, version{}, false},
		{"a.b.c", true, version{}, false},
		{" 1.2.3", false, version{}, false},
		{"99999999999999999999.0.0", false, version{}, false}, // does not fit in 64 bits
		{"9999999999999999999.0.0", false, version{9999999999999999999, 0, 0, ""}, true},
	}
	for _, tt := range tests {
		got, ok := parseVersion(tt.in, tt.partial)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("parseVersion(%q, %v) = %+v, %v; want %+v, %v", tt.in, tt.partial, got, ok, tt.want, tt.ok)
		}
	}
}

func TestVersionOrder(t *testing.T) {
	// semver.org's precedence example, in increasing order, then some more.
	order := []string{
		"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
		"1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "1.9.0", "1.10.0", "2.0.0-0", "2.0.0-0.0", "2.0.0-1", "2.0.0-10",
		"2.0.0-9a", "2.0.0", "10.0.0",
	}
	for i, a := range order {
		va, ok := parseVersion(a, false)
		if !ok {
			t.Fatalf("parseVersion(%q) failed", a)
		}
		for j, b := range order {
			vb, _ := parseVersion(b, false)
			want := 0
			switch {
			case i < j:
				want = -1
			case i > j:
				want = 1
			}
			if got := va.compare(vb); got != want {
				t.Errorf("compare(%s, %s) = %d, want %d", a, b, got, want)
			}
		}
	}
	a, _ := parseVersion("1.0.0+a", false)
	b, _ := parseVersion("1.0.0+b", false)
	if a.compare(b) != 0 {
		t.Error("build metadata changed precedence")
	}
}
