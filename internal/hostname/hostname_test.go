package hostname

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	good := map[string]string{
		"shop.example.com":      "shop.example.com",
		"Shop.Example.COM":      "shop.example.com",
		"*.shop.example.com":    "*.shop.example.com",
		"localhost":             "localhost",
		"xn--bcher-kva.example": "xn--bcher-kva.example",
		"a-b.c9.example":        "a-b.c9.example",
	}
	for in, want := range good {
		got, err := Check(in)
		if err != nil || got != want {
			t.Errorf("Check(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":                               "empty",
		"shop.example.com:443":           "port",
		"shop.example.com.":              "ends with a dot",
		"*.com":                          "top-level",
		"a.*.example.com":                `"*" is allowed only`,
		"**.example.com":                 `"*" is allowed only`,
		"-shop.example.com":              "hyphen",
		"shop..example.com":              "empty label",
		"bücher.example":                 "xn--",
		"shop_1.example.com":             "letters, digits",
		"[::1]":                          "port or is an IPv6",
		strings.Repeat("a.", 130) + "b":  "at most 253",
		strings.Repeat("a", 64) + ".com": "longer than 63",
	}
	for in, want := range bad {
		if _, err := Check(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check(%.30q) = %v; want an error with %q", in, err, want)
		}
	}
}

func TestOverlap(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"shop.example.com", "shop.example.com", true},
		{"shop.example.com", "www.shop.example.com", false},
		{"*.shop.example.com", "www.shop.example.com", true},
		{"www.shop.example.com", "*.shop.example.com", true},
		{"*.shop.example.com", "shop.example.com", false},
		{"*.shop.example.com", "a.b.shop.example.com", false},
		{"*.shop.example.com", "*.example.com", false},
		{"*.example.com", "*.example.com", true},
	}
	for _, c := range cases {
		if got := Overlap(c.a, c.b); got != c.want {
			t.Errorf("Overlap(%q, %q) = %v; want %v", c.a, c.b, got, c.want)
		}
	}
	if _, _, ok := FirstOverlap(nil, []string{"a.example"}); !ok {
		t.Error("an environment without hosts must overlap every other on its address")
	}
	if _, _, ok := FirstOverlap([]string{"a.example"}, []string{"b.example", "*.b.example"}); ok {
		t.Error("disjoint hosts overlap")
	}
}

func TestNormalize(t *testing.T) {
	cases := map[string]string{
		"shop.example.com":          "shop.example.com",
		"SHOP.Example.com:8443":     "shop.example.com",
		"shop.example.com.":         "shop.example.com",
		"shop.example.com.:443":     "shop.example.com",
		"[::1]:8080":                "[::1]",
		"127.0.0.1:80":              "127.0.0.1",
		strings.Repeat("a", 100000): "",
	}
	for in, want := range cases {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%.30q) = %q; want %q", in, got, want)
		}
	}
}
