package pipeline

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

var (
	digestA = "sha256:" + strings.Repeat("a", 64)
	digestB = "sha256:" + strings.Repeat("b", 64)
)

func TestStepImages(t *testing.T) {
	p, err := Parse(FileName, []byte(`version: 1
stages:
  - name: build
    steps:
      - {name: shop, run: make, images: [shop, acme/shop, 'Registry.Example.com:443/a/b__c/d-e.f', 'localhost:5000/x']}
      - {name: worker, run: make, images: [ghcr.io/acme/worker]}
`))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := [][]string{{"shop", "acme/shop", "Registry.Example.com:443/a/b__c/d-e.f", "localhost:5000/x"}, {"ghcr.io/acme/worker"}}
	for i, s := range p.Stages[0].Steps {
		if !reflect.DeepEqual(s.Images, want[i]) {
			t.Errorf("step %s: Images = %q, want %q", s.Name, s.Images, want[i])
		}
	}
}

func TestStepImageErrors(t *testing.T) {
	// steps makes a step per list of images, at lines 5, 6...; each list starts at column 39.
	steps := func(lists ...string) string {
		s := "version: 1\nstages:\n  - name: build\n    steps:\n"
		for i, l := range lists {
			s += fmt.Sprintf("      - {name: s%d, run: make, images: %s}\n", i, l)
		}
		return s
	}
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"tag", steps("[registry.example.com/shop:1.0]"), []string{
			`.ferry.yaml:5:40: image "registry.example.com/shop:1.0" has a tag; name the repository only, like registry.example.com/shop: the release pins it by the digest the step reports in $FERRY_IMAGES`}},
		{"digest", steps("['registry.example.com/shop:1.0@" + digestA + "']"), []string{
			`.ferry.yaml:5:40: image "registry.example.com/shop:1.0@` + digestA + `" has a digest; name the repository only, like registry.example.com/shop: the step reports the digest of each push in $FERRY_IMAGES`}},
		{"upper case", steps("[registry.example.com/Shop]"), []string{
			`.ferry.yaml:5:40: invalid image "registry.example.com/Shop": repository path "Shop" must be lower case`}},
		{"empty part", steps("[registry.example.com//shop]"), []string{
			`.ferry.yaml:5:40: invalid image "registry.example.com//shop": a repository name has no empty parts: remove the extra "/"`}},
		{"bad path", steps("[registry.example.com/shop-]"), []string{
			`.ferry.yaml:5:40: invalid image "registry.example.com/shop-": invalid repository path "shop-": use lower-case letters and digits, separated by ".", "_", "__" or "-"`}},
		{"bad registry", steps("['-bad.example.com/shop']"), []string{
			`.ferry.yaml:5:40: invalid image "-bad.example.com/shop": invalid registry "-bad.example.com": write a host name or address, with an optional :port`}},
		{"too long", steps("[" + strings.Repeat("a", 256) + "]"), []string{
			`.ferry.yaml:5:40: invalid image "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...": a repository name has at most 255 characters`}},
		{"twice in a step", steps("[localhost:5000/shop, 'localhost:5000/shop']"), []string{
			`.ferry.yaml:5:61: image "localhost:5000/shop" is declared again (first at line 5, step "s0"); one step builds each image`}},
		{"in two steps", steps("[ghcr.io/acme/shop]", "[ghcr.io/acme/shop, ghcr.io/acme/worker]"), []string{
			`.ferry.yaml:6:40: image "ghcr.io/acme/shop" is declared again (first at line 5, step "s0"); one step builds each image`}},
		{"empty", steps("['']"), []string{
			`.ferry.yaml:5:40: image is empty; name the repository the step pushes, like registry.example.com/shop`}},
		{"not a list", steps("registry.example.com/shop"), []string{
			`.ferry.yaml:5:39: "images" must be a list, not "registry.example.com/shop"`}},
		{"not a string", steps("[[a]]"), []string{`.ferry.yaml:5:40: each image must be a string, not a list`}},
		{"env name reserved", "version: 1\nstages: [{name: a, steps: [{name: b, run: c, env: {FERRY_IMAGES: x}}]}]\n", []string{
			`.ferry.yaml:2:52: env name "FERRY_IMAGES" is reserved: ferry sets the FERRY_* variables itself; rename it`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(FileName, []byte(tt.in))
			if p != nil {
				t.Errorf("Parse returned a pipeline with errors: %+v", p)
			}
			if got, want := errString(err), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("Parse errors:\n got: %s\nwant: %s", got, want)
			}
		})
	}
}

func TestReadImages(t *testing.T) {
	declared := []string{"registry.example.com/shop", "registry.example.com/worker"}
	shop, worker := "registry.example.com/shop@"+digestA, "registry.example.com/worker@"+digestB
	tests := []struct {
		name    string
		file    string
		want    []ImageRef
		wantErr string
	}{
		{"both, any order, blank lines", "\n  " + worker + "  \n\n" + shop + "\n", []ImageRef{
			{"registry.example.com/shop", digestA}, {"registry.example.com/worker", digestB}}, ""},
		{"tag dropped, a line repeated", "registry.example.com/shop:v1@" + digestA + "\n" + shop + "\n" + worker, []ImageRef{
			{"registry.example.com/shop", digestA}, {"registry.example.com/worker", digestB}}, ""},
		{"missing", shop + "\n", nil,
			"the step declares image registry.example.com/worker but reported no digest for it; write registry.example.com/worker@sha256:... to $FERRY_IMAGES"},
		{"not pinned", shop + "\nregistry.example.com/worker:latest\n", nil,
			`line 2: image "registry.example.com/worker:latest" is not pinned by digest; write repository@sha256:<64 hex digits>`},
		{"short digest", "registry.example.com/shop@sha256:abc", nil,
			`line 1: image "registry.example.com/shop@sha256:abc": digest "sha256:abc" must have 64 lower-case hex digits after sha256:`},
		{"unknown algorithm", "registry.example.com/shop@md5:abc", nil,
			`line 1: image "registry.example.com/shop@md5:abc": digest "md5:abc" must start with sha256: or sha512:`},
		{"undeclared", "registry.example.com/other@" + digestA, nil,
			"line 1: image registry.example.com/other is not among the step's images (registry.example.com/shop, registry.example.com/worker); add it to images"},
		{"two digests", shop + "\nregistry.example.com/shop@" + digestB, nil,
			"line 2: image registry.example.com/shop has two digests, " + digestA + " and " + digestB + "; report the one the step pushed last"},
		{"bad repository", "Registry.example.com/Shop@" + digestA, nil,
			`line 1: image "Registry.example.com/Shop@` + digestA + `": repository path "Shop" must be lower case`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadImages([]byte(tt.file), declared)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ReadImages = %v, %v;\nwant %v, %s", got, err, tt.want, tt.wantErr)
			}
		})
	}
	ref, err := ParseImageRef("ghcr.io/acme/shop@sha512:" + strings.Repeat("0", 128))
	if err != nil || ref.String() != "ghcr.io/acme/shop@sha512:"+strings.Repeat("0", 128) {
		t.Errorf("ParseImageRef of a sha512 digest = %v, %v", ref, err)
	}
}
